/**
 * MD4 (RFC 1320) in plain TypeScript: NTLM's NT hash needs it and Node's OpenSSL 3 only has it in
 * the legacy provider.
 */
export function md4(input: Uint8Array): Buffer {
  const len = input.length;
  const blocks = ((len + 8) >>> 6) + 1;
  const padded = Buffer.alloc(blocks * 64);
  padded.set(input);
  padded[len] = 0x80;
  const bitLen = BigInt(len) * 8n;
  padded.writeUInt32LE(Number(bitLen & 0xffffffffn), blocks * 64 - 8);
  padded.writeUInt32LE(Number((bitLen >> 32n) & 0xffffffffn), blocks * 64 - 4);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Uint32Array(16);
  const rotl = (v: number, s: number) => (v << s) | (v >>> (32 - s));
  for (let i = 0; i < blocks; i++) {
    for (let j = 0; j < 16; j++) x[j] = padded.readUInt32LE(i * 64 + j * 4);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    // Round 1: F(x,y,z) = xy | ~xz
    const r1 = [3, 7, 11, 19];
    for (let j = 0; j < 16; j++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + x[j]!) | 0, r1[j % 4]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: G(x,y,z) = xy | xz | yz, + 0x5a827999
    const r2 = [3, 5, 9, 13];
    const o2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
    for (let j = 0; j < 16; j++) {
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + x[o2[j]!]! + 0x5a827999) | 0, r2[j % 4]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: H(x,y,z) = x^y^z, + 0x6ed9eba1
    const r3 = [3, 9, 11, 15];
    const o3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
    for (let j = 0; j < 16; j++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + x[o3[j]!]! + 0x6ed9eba1) | 0, r3[j % 4]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  out.writeInt32LE(a, 0);
  out.writeInt32LE(b, 4);
  out.writeInt32LE(c, 8);
  out.writeInt32LE(d, 12);
  return out;
}
