import { createCipheriv } from 'node:crypto';

const ZERO16 = Buffer.alloc(16);

function dbl(b: Buffer): Buffer {
  const out = Buffer.alloc(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const v = (b[i]! << 1) | carry;
    out[i] = v & 0xff;
    carry = b[i]! >>> 7;
  }
  if (carry) out[15]! ^= 0x87;
  return out;
}

/** Subkeys K1, K2 (RFC 4493 2.3); cache per key when signing many messages. */
export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const ecb = createCipheriv(key.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const l = ecb.update(ZERO16);
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

/**
 * AES-CMAC (RFC 4493) over a message given as parts. The bulk runs through OpenSSL's AES-CBC with a
 * zero IV (CBC-MAC), only the last block is tweaked here, so it is fast for 1 MiB messages.
 */
export function aesCmac(
  key: Buffer,
  parts: readonly Uint8Array[],
  subkeys = cmacSubkeys(key),
): Buffer {
  let total = 0;
  for (const p of parts) total += p.length;
  const n = total === 0 ? 1 : Math.ceil(total / 16);
  const lastComplete = total !== 0 && total % 16 === 0;
  const bulkLen = (n - 1) * 16;
  const cbc = createCipheriv(key.length === 32 ? 'aes-256-cbc' : 'aes-128-cbc', key, ZERO16);
  cbc.setAutoPadding(false);
  // Feed the first (n-1) blocks through CBC; remember the chaining value.
  let fed = 0;
  let chain: Buffer = ZERO16;
  const last = Buffer.alloc(16);
  let lastFill = 0;
  for (const p of parts) {
    const buf = Buffer.from(p.buffer, p.byteOffset, p.length);
    const toBulk = Math.max(0, Math.min(buf.length, bulkLen - fed));
    if (toBulk > 0) {
      const out = cbc.update(buf.subarray(0, toBulk));
      if (out.length >= 16) chain = out.subarray(out.length - 16);
      fed += toBulk;
    }
    if (toBulk < buf.length) {
      const rest = buf.subarray(toBulk);
      rest.copy(last, lastFill);
      lastFill += rest.length;
    }
  }
  const tail = cbc.final();
  if (tail.length >= 16) chain = tail.subarray(tail.length - 16);
  const m = Buffer.alloc(16);
  if (lastComplete) {
    for (let i = 0; i < 16; i++) m[i] = last[i]! ^ subkeys.k1[i]!;
  } else {
    last[lastFill] = 0x80;
    for (let i = lastFill + 1; i < 16; i++) last[i] = 0;
    for (let i = 0; i < 16; i++) m[i] = last[i]! ^ subkeys.k2[i]!;
  }
  for (let i = 0; i < 16; i++) m[i]! ^= chain[i]!;
  const ecb = createCipheriv(key.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  return ecb.update(m);
}
