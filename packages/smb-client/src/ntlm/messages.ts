import { protocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { AvId, NTLMSSP_SIGNATURE } from './constants.js';

/** Windows 10 version structure; informational only. */
export const NTLM_VERSION = Buffer.from([10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f]);

export interface AvPair {
  id: number;
  value: Buffer;
}

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  targetInfo: AvPair[];
  targetInfoRaw: Buffer;
  raw: Buffer;
}

export function encodeNegotiate(flags: number): Buffer {
  const b = Buffer.alloc(40);
  NTLMSSP_SIGNATURE.copy(b, 0);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(flags >>> 0, 12);
  // Domain and workstation fields empty (offset at end of message).
  b.writeUInt32LE(40, 20);
  b.writeUInt32LE(40, 28);
  NTLM_VERSION.copy(b, 32);
  return b;
}

function field(r: Reader, what: string): Buffer {
  const len = r.u16();
  r.u16(); // MaxLen
  const off = r.u32();
  if (len === 0) return Buffer.alloc(0);
  return r.sub(off, len, what).bytes(len);
}

export function parseAvPairs(buf: Buffer): AvPair[] {
  const r = new Reader(buf, 0, buf.length, 'NTLM target info');
  const pairs: AvPair[] = [];
  for (;;) {
    const id = r.u16();
    const len = r.u16();
    if (id === AvId.EOL) return pairs;
    pairs.push({ id, value: r.bytes(len) });
    if (pairs.length > 64) throw protocolError('too many NTLM AV pairs');
  }
}

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pairs) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(p.id, 0);
    h.writeUInt16LE(p.value.length, 2);
    parts.push(h, p.value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

export function parseChallenge(raw: Buffer): ChallengeMessage {
  const r = new Reader(raw, 0, raw.length, 'NTLM challenge');
  if (!r.bytes(8).equals(NTLMSSP_SIGNATURE)) throw protocolError('not an NTLMSSP message');
  if (r.u32() !== 2) throw protocolError('expected NTLM CHALLENGE_MESSAGE');
  const targetNameRaw = field(r, 'NTLM target name');
  const flags = r.u32();
  const serverChallenge = Buffer.from(r.bytes(8));
  r.skip(8);
  let targetInfoRaw = Buffer.alloc(0);
  if (r.remaining >= 8) targetInfoRaw = Buffer.from(field(r, 'NTLM target info'));
  return {
    flags,
    serverChallenge,
    targetName: targetNameRaw.toString('utf16le'),
    targetInfo: targetInfoRaw.length ? parseAvPairs(targetInfoRaw) : [],
    targetInfoRaw,
    raw,
  };
}

export interface AuthenticateFields {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  withMic: boolean;
}

/** Encodes AUTHENTICATE_MESSAGE; the MIC field (offset 72) is zero and patched by the caller. */
export function encodeAuthenticate(f: AuthenticateFields): { message: Buffer; micOffset: number } {
  const headerLen = 88; // with Version (8) and MIC (16)
  const payloads = [
    f.lmChallengeResponse,
    f.ntChallengeResponse,
    Buffer.from(f.domain, 'utf16le'),
    Buffer.from(f.user, 'utf16le'),
    Buffer.from(f.workstation, 'utf16le'),
    f.encryptedRandomSessionKey,
  ];
  const total = headerLen + payloads.reduce((n, p) => n + p.length, 0);
  const b = Buffer.alloc(total);
  NTLMSSP_SIGNATURE.copy(b, 0);
  b.writeUInt32LE(3, 8);
  let off = headerLen;
  // Order of the field descriptors: LM, NT, Domain, User, Workstation, EncryptedRandomSessionKey.
  // Payload order: Domain, User, Workstation, LM, NT, Key (as Windows does); offsets make it free.
  const order = [2, 3, 4, 0, 1, 5];
  const offsets: number[] = [];
  for (const i of order) {
    offsets[i] = off;
    payloads[i]!.copy(b, off);
    off += payloads[i]!.length;
  }
  for (let i = 0; i < 6; i++) {
    const at = 12 + i * 8;
    b.writeUInt16LE(payloads[i]!.length, at);
    b.writeUInt16LE(payloads[i]!.length, at + 2);
    b.writeUInt32LE(offsets[i]!, at + 4);
  }
  b.writeUInt32LE(f.flags >>> 0, 60);
  NTLM_VERSION.copy(b, 64);
  return { message: b, micOffset: 72 };
}
