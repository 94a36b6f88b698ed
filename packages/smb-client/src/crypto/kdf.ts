import { createHmac } from 'node:crypto';

/**
 * SP800-108 KDF in counter mode with HMAC-SHA256, as [MS-SMB2] 3.1.4.2 uses it: r = 32, one or two
 * iterations. `label` and `context` are passed exactly (callers include the trailing NUL where the
 * spec's strings have one). `bits` is 128 or 256.
 */
export function smb3Kdf(key: Buffer, label: Buffer, context: Buffer, bits: 128 | 256): Buffer {
  const out: Buffer[] = [];
  const bytes = bits / 8;
  const l = Buffer.alloc(4);
  l.writeUInt32BE(bits);
  for (let i = 1; out.length * 32 < bytes; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    out.push(
      createHmac('sha256', key)
        .update(counter)
        .update(label)
        .update(Buffer.of(0))
        .update(context)
        .update(l)
        .digest(),
    );
  }
  return Buffer.concat(out).subarray(0, bytes);
}

/** A C string as the KDF wants it: ASCII + trailing NUL. */
export function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'latin1'), Buffer.of(0)]);
}
