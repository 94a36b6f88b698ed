import { protocolError } from '../errors.js';

/**
 * Bounds-checked little-endian reader over a buffer. Every access checks the remaining length and
 * throws a typed PROTOCOL_ERROR instead of reading past the end (Node would throw RangeError).
 */
export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
    readonly what = 'message',
  ) {
    if (start < 0 || end > buf.length || start > end) throw protocolError(`bad ${what} bounds`);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (!Number.isInteger(n) || n < 0 || this.pos + n > this.end) {
      throw protocolError(`truncated ${this.what}`, { need: n, have: this.end - this.pos });
    }
  }

  seek(pos: number): this {
    if (!Number.isInteger(pos) || pos < 0 || pos > this.end)
      throw protocolError(`offset out of range in ${this.what}`, { offset: pos });
    this.pos = pos;
    return this;
  }

  skip(n: number): this {
    this.need(n);
    this.pos += n;
    return this;
  }

  align(n: number, base = 0): this {
    const rem = (this.pos - base) % n;
    if (rem !== 0) this.skip(n - rem);
    return this;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** u64 that must fit a JS number (sizes, offsets). */
  u64n(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw protocolError(`64-bit value too large in ${this.what}`);
    return Number(v);
  }

  u16be(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32be(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  utf16(byteLength: number): string {
    if (byteLength % 2 !== 0) throw protocolError(`odd UTF-16 length in ${this.what}`);
    return this.bytes(byteLength).toString('utf16le');
  }

  /** A sub-reader over [offset, offset+length) of the same buffer (absolute offsets). */
  sub(offset: number, length: number, what = this.what): Reader {
    return new Reader(this.buf, ...range(this.buf.length, offset, length, what), what);
  }
}

function range(total: number, offset: number, length: number, what: string): [number, number] {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > total
  )
    throw protocolError(`${what} offset/length out of range`, { offset, length, total });
  return [offset, offset + length];
}

/** A bounds-checked view of `buf[offset, offset+length)`. */
export function slice(buf: Buffer, offset: number, length: number, what = 'buffer'): Buffer {
  const [a, b] = range(buf.length, offset, length, what);
  return buf.subarray(a, b);
}
