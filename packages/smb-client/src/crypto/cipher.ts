import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { protocolError } from '../errors.js';

/** Cipher ids of the SMB2_ENCRYPTION_CAPABILITIES context ([MS-SMB2] 2.2.3.1.2). */
export const CipherId = { AES_128_CCM: 1, AES_128_GCM: 2, AES_256_CCM: 3, AES_256_GCM: 4 } as const;
export type CipherIdValue = (typeof CipherId)[keyof typeof CipherId];

export const TRANSFORM_HEADER_SIZE = 52;
export const TRANSFORM_PROTOCOL_ID = 0x424d53fd; // 0xFD 'S' 'M' 'B' read little-endian

export function cipherKeyBits(id: number): 128 | 256 {
  return id === CipherId.AES_256_CCM || id === CipherId.AES_256_GCM ? 256 : 128;
}

function isGcm(id: number): boolean {
  return id === CipherId.AES_128_GCM || id === CipherId.AES_256_GCM;
}

function algorithm(id: number): string {
  switch (id) {
    case CipherId.AES_128_CCM:
      return 'aes-128-ccm';
    case CipherId.AES_128_GCM:
      return 'aes-128-gcm';
    case CipherId.AES_256_CCM:
      return 'aes-256-ccm';
    case CipherId.AES_256_GCM:
      return 'aes-256-gcm';
    default:
      throw protocolError(`unknown cipher ${id}`);
  }
}

/**
 * SMB 3.x message encryption with the transform header ([MS-SMB2] 2.2.41, 3.1.4.3). One instance per
 * session and direction pair. Nonces: a random 4-byte prefix + a 64-bit counter, never reused.
 */
export class SmbCipher {
  private readonly alg: string;
  private readonly nonceLen: number;
  private counter = 0n;
  private readonly prefix = randomBytes(4);

  constructor(
    readonly cipherId: number,
    private readonly encKey: Buffer,
    private readonly decKey: Buffer,
  ) {
    this.alg = algorithm(cipherId);
    this.nonceLen = isGcm(cipherId) ? 12 : 11;
  }

  /** Encrypts one (possibly compound) plaintext message given in parts; returns the wire message. */
  encrypt(parts: readonly Buffer[], sessionId: bigint): Buffer[] {
    let size = 0;
    for (const p of parts) size += p.length;
    const th = Buffer.alloc(TRANSFORM_HEADER_SIZE);
    th.writeUInt32LE(TRANSFORM_PROTOCOL_ID, 0);
    const nonce = Buffer.alloc(this.nonceLen);
    this.prefix.copy(nonce, 0, 0, Math.min(4, this.nonceLen - 7));
    this.counter++;
    // 7 bytes of counter are plenty (2^56 messages) and fit both nonce lengths.
    const ctr = Buffer.alloc(8);
    ctr.writeBigUInt64LE(this.counter);
    ctr.copy(nonce, this.nonceLen - 7, 0, 7);
    nonce.copy(th, 20);
    th.writeUInt32LE(size, 36);
    th.writeUInt16LE(1, 42); // Flags: Encrypted
    th.writeBigUInt64LE(sessionId, 44);
    const aad = th.subarray(20, 52);
    const c = isGcm(this.cipherId)
      ? createCipheriv(this.alg as 'aes-128-gcm', this.encKey, nonce)
      : createCipheriv(this.alg as 'aes-128-ccm', this.encKey, nonce, { authTagLength: 16 });
    if (isGcm(this.cipherId)) c.setAAD(aad);
    else c.setAAD(aad, { plaintextLength: size });
    const out: Buffer[] = [th];
    if (isGcm(this.cipherId)) {
      for (const p of parts) out.push(c.update(p));
    } else {
      // CCM needs the whole plaintext in one update call.
      out.push(c.update(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)));
    }
    const fin = c.final();
    if (fin.length) out.push(fin);
    c.getAuthTag().copy(th, 4);
    return out;
  }

  /** Decrypts a transform-header message (the whole frame); returns the plaintext SMB2 message(s). */
  decrypt(frame: Buffer, expectSessionId?: bigint): { sessionId: bigint; plain: Buffer } {
    if (frame.length < TRANSFORM_HEADER_SIZE) throw protocolError('truncated transform header');
    const size = frame.readUInt32LE(36);
    if (size !== frame.length - TRANSFORM_HEADER_SIZE)
      throw protocolError('transform header size mismatch', { size, frame: frame.length });
    const sessionId = frame.readBigUInt64LE(44);
    if (expectSessionId !== undefined && sessionId !== expectSessionId)
      throw protocolError('encrypted message for another session');
    const nonce = frame.subarray(20, 20 + this.nonceLen);
    const tag = frame.subarray(4, 20);
    const aad = frame.subarray(20, 52);
    const body = frame.subarray(TRANSFORM_HEADER_SIZE);
    try {
      const d = isGcm(this.cipherId)
        ? createDecipheriv(this.alg as 'aes-128-gcm', this.decKey, nonce)
        : createDecipheriv(this.alg as 'aes-128-ccm', this.decKey, nonce, { authTagLength: 16 });
      d.setAuthTag(tag);
      if (isGcm(this.cipherId)) d.setAAD(aad);
      else d.setAAD(aad, { plaintextLength: size });
      const a = d.update(body);
      const b = d.final();
      return { sessionId, plain: b.length ? Buffer.concat([a, b]) : a };
    } catch {
      throw protocolError('encrypted message failed authentication');
    }
  }
}
