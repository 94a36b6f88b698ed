import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { aesCmac, cmacSubkeys } from './cmac.js';

/** Signing algorithm ids of the SMB2_SIGNING_CAPABILITIES context ([MS-SMB2] 2.2.3.1.7). */
export const SigningAlgorithm = { HMAC_SHA256: 0, AES_CMAC: 1, AES_GMAC: 2 } as const;
export type SigningAlgorithmId = (typeof SigningAlgorithm)[keyof typeof SigningAlgorithm];

const SIG_OFFSET = 48;
const ZERO16 = Buffer.alloc(16);

/** Computes and verifies the 16-byte signature of one SMB2 message ([MS-SMB2] 3.1.4.1). */
export class Signer {
  private readonly subkeys;

  constructor(
    readonly algorithm: SigningAlgorithmId,
    private readonly key: Buffer,
  ) {
    this.subkeys = algorithm === SigningAlgorithm.AES_CMAC ? cmacSubkeys(key) : undefined;
  }

  /**
   * Signature over a message given in parts (the first part starts with the 64-byte header). The
   * signature field is treated as zero whatever it holds.
   */
  compute(parts: readonly Buffer[]): Buffer {
    const head = parts[0]!;
    const msgParts: Buffer[] = [
      head.subarray(0, SIG_OFFSET),
      ZERO16,
      head.subarray(SIG_OFFSET + 16),
    ];
    for (let i = 1; i < parts.length; i++) msgParts.push(parts[i]!);
    switch (this.algorithm) {
      case SigningAlgorithm.HMAC_SHA256: {
        const h = createHmac('sha256', this.key);
        for (const p of msgParts) h.update(p);
        return h.digest().subarray(0, 16);
      }
      case SigningAlgorithm.AES_CMAC:
        return aesCmac(this.key, msgParts, this.subkeys);
      case SigningAlgorithm.AES_GMAC: {
        const nonce = Buffer.alloc(12);
        head.copy(nonce, 0, 24, 32); // MessageId
        const flags = head.readUInt32LE(16);
        const command = head.readUInt16LE(12);
        let role = 0;
        if (flags & 0x1) role |= 1; // SMB2_FLAGS_SERVER_TO_REDIR
        if (command === 0x0c) role |= 2; // SMB2 CANCEL
        nonce.writeUInt32LE(role, 8);
        const gcm = createCipheriv(
          this.key.length === 32 ? 'aes-256-gcm' : 'aes-128-gcm',
          this.key,
          nonce,
        );
        for (const p of msgParts) gcm.setAAD(p);
        gcm.final();
        return gcm.getAuthTag();
      }
    }
  }

  /** Writes the signature into the header (the first part) in place. */
  sign(parts: readonly Buffer[]): void {
    const sig = this.compute(parts);
    sig.copy(parts[0]!, SIG_OFFSET);
  }

  verify(message: Buffer): boolean {
    if (message.length < 64) return false;
    const expected = this.compute([message]);
    return timingSafeEqual(expected, message.subarray(SIG_OFFSET, SIG_OFFSET + 16));
  }
}
