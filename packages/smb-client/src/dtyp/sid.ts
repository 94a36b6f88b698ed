import { protocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';

/** Parses a binary SID ([MS-DTYP] 2.4.2.2) at the reader's position into `S-1-…` form. */
export function readSid(r: Reader): string {
  const revision = r.u8();
  const count = r.u8();
  if (revision !== 1) throw protocolError('bad SID revision', { revision });
  if (count > 15) throw protocolError('too many SID sub-authorities', { count });
  const hi = r.u16be();
  const lo = r.u32be();
  const authority = hi * 2 ** 32 + lo;
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(r.u32());
  const auth =
    authority >= 2 ** 32
      ? `0x${authority.toString(16).padStart(12, '0').toUpperCase()}`
      : String(authority);
  return ['S', '1', auth, ...subs.map(String)].join('-');
}

export function parseSid(buf: Buffer): string {
  return readSid(new Reader(buf, 0, buf.length, 'SID'));
}

/** `S-1-5-21-…` → binary SID. */
export function encodeSid(sid: string): Buffer {
  const m = /^S-1-(\d+|0x[0-9a-fA-F]{12})((?:-\d+)*)$/.exec(sid.trim());
  if (!m) throw new RangeError(`not a SID: ${sid}`);
  const authority = m[1]!.startsWith('0x') ? Number.parseInt(m[1]!.slice(2), 16) : Number(m[1]);
  const subs = m[2] ? m[2].slice(1).split('-').map(Number) : [];
  if (subs.length > 15 || subs.some((s) => !Number.isInteger(s) || s < 0 || s > 0xffffffff))
    throw new RangeError(`not a SID: ${sid}`);
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = 1;
  b[1] = subs.length;
  b.writeUInt16BE(Math.floor(authority / 2 ** 32), 2);
  b.writeUInt32BE(authority % 2 ** 32, 4);
  subs.forEach((s, i) => b.writeUInt32LE(s, 8 + 4 * i));
  return b;
}

export function isSid(s: string): boolean {
  return /^S-1-(\d+|0x[0-9a-fA-F]{12})(-\d+)*$/.test(s);
}
