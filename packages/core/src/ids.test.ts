import { describe, expect, it } from '@jest/globals';
import { idPattern, isId, newId, ulidFactory } from './ids.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const decodeTime = (id: string): number =>
  [...id.slice(0, 10)].reduce((acc, c) => acc * 32 + CROCKFORD.indexOf(c), 0);

describe('ids', () => {
  it('are a prefix and a 26-character Crockford ULID whose time part is the creation time', () => {
    const before = Date.now();
    const id = newId('cnn');
    const after = Date.now();
    expect(id).toMatch(new RegExp(idPattern('cnn')));
    expect(isId(id, 'cnn')).toBe(true);
    expect(isId(id, 'shr')).toBe(false);
    const t = decodeTime(id.slice(4));
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it('encode the time exactly (known vectors) and reject times a ULID cannot hold', () => {
    const ulid = ulidFactory();
    expect(ulid(0).slice(0, 10)).toBe('0000000000');
    expect(ulid(1469918176385).slice(0, 10)).toBe('01ARYZ6S41'); // the ULID spec's example
    expect(ulid(2 ** 48 - 1).slice(0, 10)).toBe('7ZZZZZZZZZ');
    expect(() => ulid(2 ** 48)).toThrow(RangeError);
    expect(() => ulid(-1)).toThrow(RangeError);
  });

  it('sort in creation order and never repeat, also many in one millisecond', () => {
    const ids = Array.from({ length: 50_000 }, () => newId('fil'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('stay monotonic when the clock goes back', () => {
    const ulid = ulidFactory();
    const a = ulid(Date.now() + 10_000);
    const b = ulid(Date.now());
    expect(b > a).toBe(true);
    expect(b.slice(0, 10)).toBe(a.slice(0, 10));
  });

  it('have random parts that use the whole alphabet evenly', () => {
    const ulid = ulidFactory();
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++)
      for (const c of ulid(1000 + i).slice(10)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    // 64,000 digits: ~2,000 per symbol; a biased generator would be far off.
    for (const n of counts.values()) expect(Math.abs(n - 2000)).toBeLessThan(300);
  });
});
