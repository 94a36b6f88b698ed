import { createHash, randomBytes } from 'node:crypto';
import { CipherId } from '../crypto/cipher.js';
import { SigningAlgorithm, type SigningAlgorithmId } from '../crypto/signing.js';
import { protocolError } from '../errors.js';
import { Capability, Dialect, SecurityMode } from '../wire/constants.js';
import { HEADER_SIZE } from '../wire/header.js';
import { Writer } from '../wire/writer.js';
import { bodyReader, bufferAt } from './common.js';

export const ContextType = {
  PREAUTH_INTEGRITY: 1,
  ENCRYPTION: 2,
  COMPRESSION: 3,
  NETNAME: 5,
  TRANSPORT: 6,
  RDMA_TRANSFORM: 7,
  SIGNING: 8,
} as const;

export const ALL_DIALECTS = [
  Dialect.SMB202,
  Dialect.SMB210,
  Dialect.SMB300,
  Dialect.SMB302,
  Dialect.SMB311,
];

export interface NegotiateRequestOptions {
  dialects: number[];
  signingRequired: boolean;
  clientGuid: Buffer;
  serverName: string;
  ciphers: number[];
  signingAlgorithms: number[];
  salt?: Buffer;
}

export function encodeNegotiateRequest(o: NegotiateRequestOptions): Buffer {
  const w = new Writer(256);
  const with311 = o.dialects.includes(Dialect.SMB311);
  w.u16(36).u16(o.dialects.length);
  w.u16(SecurityMode.SIGNING_ENABLED | (o.signingRequired ? SecurityMode.SIGNING_REQUIRED : 0));
  w.u16(0);
  w.u32(Capability.LARGE_MTU | Capability.ENCRYPTION);
  w.bytes(o.clientGuid);
  const ctxOffsetAt = w.pos;
  w.u32(0).u16(0).u16(0);
  for (const d of o.dialects) w.u16(d);
  if (with311) {
    w.align(8, -HEADER_SIZE);
    w.setU32(ctxOffsetAt, HEADER_SIZE + w.pos);
    const contexts: [number, Buffer][] = [];
    const salt = o.salt ?? randomBytes(32);
    const pre = new Writer(40).u16(1).u16(salt.length).u16(1).bytes(salt).finish();
    contexts.push([ContextType.PREAUTH_INTEGRITY, pre]);
    const enc = new Writer(16).u16(o.ciphers.length);
    for (const c of o.ciphers) enc.u16(c);
    contexts.push([ContextType.ENCRYPTION, enc.finish()]);
    const sig = new Writer(16).u16(o.signingAlgorithms.length);
    for (const a of o.signingAlgorithms) sig.u16(a);
    contexts.push([ContextType.SIGNING, sig.finish()]);
    contexts.push([ContextType.NETNAME, Buffer.from(o.serverName, 'utf16le')]);
    contexts.forEach(([type, data], i) => {
      if (i > 0) w.align(8, -HEADER_SIZE);
      w.u16(type).u16(data.length).u32(0).bytes(data);
    });
    w.setU16(ctxOffsetAt + 4, contexts.length);
  }
  return w.finish();
}

export interface NegotiateResult {
  dialect: number;
  securityMode: number;
  serverGuid: Buffer;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  securityBuffer: Buffer;
  /** 0 when no encryption is possible. */
  cipherId: number;
  signingAlgorithm: SigningAlgorithmId;
  preauthHash?: Buffer;
}

export function parseNegotiateResponse(
  message: Buffer,
  offered: NegotiateRequestOptions,
): NegotiateResult {
  const r = bodyReader(message, 65, 'NEGOTIATE response');
  const securityMode = r.u16();
  const dialect = r.u16();
  const ctxCount = r.u16();
  const serverGuid = Buffer.from(r.bytes(16));
  const capabilities = r.u32();
  const maxTransactSize = r.u32();
  const maxReadSize = r.u32();
  const maxWriteSize = r.u32();
  r.skip(16); // SystemTime, ServerStartTime
  const secOff = r.u16();
  const secLen = r.u16();
  const ctxOffset = r.u32();
  if (!offered.dialects.includes(dialect))
    throw protocolError('server chose a dialect we did not offer', {
      dialect: dialect.toString(16),
    });
  const securityBuffer = Buffer.from(
    bufferAt(message, secOff, secLen, 'NEGOTIATE security buffer'),
  );
  let cipherId = 0;
  let signingAlgorithm: SigningAlgorithmId =
    dialect >= Dialect.SMB300 ? SigningAlgorithm.AES_CMAC : SigningAlgorithm.HMAC_SHA256;
  if (dialect >= Dialect.SMB300 && dialect < Dialect.SMB311 && capabilities & Capability.ENCRYPTION)
    cipherId = CipherId.AES_128_CCM;
  if (dialect === Dialect.SMB311) {
    let sawPreauth = false;
    const cr = bodyReader(message, 65, 'negotiate contexts');
    cr.seek(ctxOffset);
    for (let i = 0; i < ctxCount; i++) {
      if (i > 0) cr.align(8);
      const type = cr.u16();
      const len = cr.u16();
      cr.skip(4);
      const data = cr.sub(cr.pos, len, 'negotiate context');
      cr.skip(len);
      switch (type) {
        case ContextType.PREAUTH_INTEGRITY: {
          const count = data.u16();
          data.u16(); // salt length
          if (count !== 1 || data.u16() !== 1)
            throw protocolError('server chose an unknown pre-auth hash');
          sawPreauth = true;
          break;
        }
        case ContextType.ENCRYPTION: {
          if (data.u16() !== 1) throw protocolError('bad encryption context');
          const c = data.u16();
          if (c !== 0 && !offered.ciphers.includes(c))
            throw protocolError('server chose a cipher we did not offer');
          cipherId = c;
          break;
        }
        case ContextType.SIGNING: {
          if (data.u16() !== 1) throw protocolError('bad signing context');
          const a = data.u16();
          if (!offered.signingAlgorithms.includes(a))
            throw protocolError('server chose a signing algorithm we did not offer');
          signingAlgorithm = a as SigningAlgorithmId;
          break;
        }
        default:
          break;
      }
    }
    if (!sawPreauth) throw protocolError('SMB 3.1.1 response without pre-auth integrity context');
  }
  return {
    dialect,
    securityMode,
    serverGuid,
    capabilities,
    maxTransactSize,
    maxReadSize,
    maxWriteSize,
    securityBuffer,
    cipherId,
    signingAlgorithm,
  };
}

export function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** FSCTL_VALIDATE_NEGOTIATE_INFO input ([MS-SMB2] 2.2.31.4). */
export function encodeValidateNegotiateInfo(o: NegotiateRequestOptions): Buffer {
  const w = new Writer(64);
  w.u32(Capability.LARGE_MTU | Capability.ENCRYPTION);
  w.bytes(o.clientGuid);
  w.u16(SecurityMode.SIGNING_ENABLED | (o.signingRequired ? SecurityMode.SIGNING_REQUIRED : 0));
  w.u16(o.dialects.length);
  for (const d of o.dialects) w.u16(d);
  return w.finish();
}
