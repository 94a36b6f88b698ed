import { Transform, type TransformCallback } from 'node:stream';

/**
 * quickXorHash, the content hash SharePoint and OneDrive for Business report in
 * `file.hashes.quickXorHash` (base64 of 20 bytes).
 *
 * The 160-bit state is a little-endian bit string: byte number `i` of the input is XORed in at bit
 * offset `(11 * i) mod 160` (wrapping round the end), and the input length, as a 64-bit little-endian
 * integer, is XORed into the last 8 bytes of the result. Offsets repeat every 160 input bytes, so
 * the byte/bit position of each offset is precomputed once.
 */
const WIDTH_BYTES = 20;
const PERIOD = 160;
const CELL = new Uint8Array(PERIOD);
const SHIFT = new Uint8Array(PERIOD);
for (let i = 0; i < PERIOD; i++) {
  const bit = (i * 11) % PERIOD;
  CELL[i] = bit >> 3;
  SHIFT[i] = bit & 7;
}

export class QuickXorHash {
  private readonly state = new Uint8Array(WIDTH_BYTES);
  private length = 0n;
  private phase = 0;

  update(chunk: Uint8Array): this {
    const s = this.state;
    let p = this.phase;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const cell = CELL[p]!;
      const shift = SHIFT[p]!;
      s[cell] = s[cell]! ^ ((b << shift) & 0xff);
      if (shift !== 0) {
        const next = cell === WIDTH_BYTES - 1 ? 0 : cell + 1;
        s[next] = s[next]! ^ (b >> (8 - shift));
      }
      p = p === PERIOD - 1 ? 0 : p + 1;
    }
    this.phase = p;
    this.length += BigInt(chunk.length);
    return this;
  }

  /** The 20-byte digest (the state is left untouched: more data may follow). */
  digest(): Buffer {
    const out = Buffer.from(this.state);
    let len = this.length;
    for (let i = 0; i < 8; i++) {
      out[WIDTH_BYTES - 8 + i] = out[WIDTH_BYTES - 8 + i]! ^ Number(len & 0xffn);
      len >>= 8n;
    }
    return out;
  }

  /** Base64, the form Graph uses. */
  digestBase64(): string {
    return this.digest().toString('base64');
  }

  get bytes(): number {
    return Number(this.length);
  }
}

export function quickXorHash(data: Uint8Array): string {
  return new QuickXorHash().update(data).digestBase64();
}

/** A pass-through stream that hashes what flows through it. */
export class QuickXorHashStream extends Transform {
  readonly hash = new QuickXorHash();
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
}
