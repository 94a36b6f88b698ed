import { protocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { HEADER_SIZE } from '../wire/header.js';

/** A reader over a response body, positioned after the header, with its StructureSize checked. */
export function bodyReader(message: Buffer, structureSize: number, what: string): Reader {
  const r = new Reader(message, HEADER_SIZE, message.length, what);
  const size = r.u16();
  if (size !== structureSize) throw protocolError(`${what}: bad StructureSize ${size}`);
  return r;
}

/** A bounds-checked buffer at an offset relative to the start of the message (header). */
export function bufferAt(message: Buffer, offset: number, length: number, what: string): Buffer {
  if (length === 0) return Buffer.alloc(0);
  return new Reader(message, 0, message.length, what).sub(offset, length, what).bytes(length);
}

export function filetimeToDate(ft: bigint): Date | null {
  if (ft === 0n) return null;
  const ms = Number((ft - 116444736000000000n) / 10000n);
  return new Date(ms);
}

export function dateToFiletime(d: Date): bigint {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  return BigInt(ms) * 10000n + 116444736000000000n;
}

/** Body with fixed part and a variable buffer, as most requests are built. */
export function body(fixedSize: number, build: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(fixedSize);
  build(b);
  return b;
}
