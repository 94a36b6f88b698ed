import { protocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { encodeSid, readSid } from '../dtyp/sid.js';

/** NDR 2.0 (transfer syntax 8a885d04-…) writer: little-endian, natural alignment from stub start. */
export class NdrWriter {
  readonly w = new Writer(256);
  private nextRef = 0x00020000;

  align(n: number): this {
    this.w.align(n);
    return this;
  }
  u16(v: number): this {
    this.align(2).w.u16(v);
    return this;
  }
  u32(v: number): this {
    this.align(4).w.u32(v);
    return this;
  }
  bytes(b: Buffer): this {
    this.w.bytes(b);
    return this;
  }
  /** A non-null unique/full pointer referent id. */
  ref(): this {
    this.u32(this.nextRef);
    this.nextRef += 4;
    return this;
  }
  nullPtr(): this {
    return this.u32(0);
  }
  /** RPC_UNICODE_STRING header (Length, MaximumLength, Buffer referent); returns the deferred writer. */
  unicodeStringHeader(s: string): () => void {
    const chars = Buffer.from(s, 'utf16le');
    this.u16(chars.length).u16(chars.length);
    this.ref();
    return () => {
      this.u32(chars.length / 2)
        .u32(0)
        .u32(chars.length / 2);
      this.bytes(chars);
      this.align(4);
    };
  }
  /** RPC_SID as a conformant struct (conformance first). */
  sid(sid: string): this {
    const b = encodeSid(sid);
    this.u32(b[1]!);
    this.bytes(b);
    return this;
  }
  finish(): Buffer {
    return this.w.finish();
  }
}

/** NDR reader with alignment relative to the stub start and limits on every count. */
export class NdrReader {
  readonly r: Reader;

  constructor(stub: Buffer) {
    this.r = new Reader(stub, 0, stub.length, 'NDR stub');
  }

  align(n: number): this {
    this.r.align(n);
    return this;
  }
  u8(): number {
    return this.r.u8();
  }
  u16(): number {
    return this.align(2).r.u16();
  }
  u32(): number {
    return this.align(4).r.u32();
  }
  i32(): number {
    return this.align(4).r.i32();
  }
  bytes(n: number): Buffer {
    return this.r.bytes(n);
  }
  /** An array count that must be plausible for the bytes left (each element >= minSize bytes). */
  count(minSize: number, max = 100000): number {
    const n = this.u32();
    if (n > max || n * minSize > this.r.remaining)
      throw protocolError('NDR array count out of range', { n });
    return n;
  }
  /** Deferred conformant varying UTF-16 string (RPC_UNICODE_STRING.Buffer). */
  unicodeBuffer(): string {
    const max = this.u32();
    const offset = this.u32();
    const actual = this.u32();
    if (offset !== 0 || actual > max || actual * 2 > this.r.remaining)
      throw protocolError('bad NDR string');
    const s = this.r.utf16(actual * 2);
    this.align(4);
    return s;
  }
  /** Deferred RPC_SID (conformant struct). */
  sid(): string {
    const count = this.u32();
    if (count > 15) throw protocolError('bad NDR SID');
    const start = this.r.pos;
    const sid = readSid(this.r);
    if (this.r.buf[start + 1] !== count) throw protocolError('NDR SID count mismatch');
    return sid;
  }
}
