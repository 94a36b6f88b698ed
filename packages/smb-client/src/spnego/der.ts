import { protocolError } from '../errors.js';

/** Minimal DER (X.690) encoding/decoding for SPNEGO tokens. */
export interface Tlv {
  tag: number;
  value: Buffer;
  /** Offset just after this element in the source buffer. */
  end: number;
}

export function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const value = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), encodeLength(value.length), value]);
}

export function encodeOid(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  if (parts.length < 2 || parts.some((p) => !Number.isInteger(p) || p < 0))
    throw new Error(`bad OID ${oid}`);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = Math.floor(p / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

export function decodeOid(value: Buffer): string {
  if (value.length === 0) throw protocolError('empty OID');
  const parts = [Math.floor(value[0]! / 40), value[0]! % 40];
  let v = 0;
  for (let i = 1; i < value.length; i++) {
    v = v * 128 + (value[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw protocolError('OID arc too large');
    if (!(value[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Reads one element at `offset`; all lengths are checked against `end`. */
export function readTlv(buf: Buffer, offset = 0, end = buf.length): Tlv {
  if (offset + 2 > end) throw protocolError('truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw protocolError('multi-byte DER tags are not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw protocolError('bad DER length');
    if (pos + n > end) throw protocolError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > end) throw protocolError('DER element overruns its container');
  return { tag, value: buf.subarray(pos, pos + len), end: pos + len };
}

/** All direct children of a constructed element's value. */
export function children(value: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < value.length) {
    const t = readTlv(value, off);
    out.push(t);
    off = t.end;
    if (out.length > 256) throw protocolError('too many DER elements');
  }
  return out;
}
