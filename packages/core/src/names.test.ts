import { describe, expect, it } from '@jest/globals';
import { fromStorableText, pathKey, toStorableText } from './names.js';

describe('toStorableText', () => {
  const cases: [string, string][] = [
    ['plain/ünïcode 日本語 😀', 'plain/ünïcode 日本語 😀'],
    ['lone-\ud800.txt', 'lone-\u0001d800.txt'],
    ['low-\udfff', 'low-\u0001dfff'],
    ['\udc00\ud800', '\u0001dc00\u0001d800'], // reversed pair: two lone surrogates
    ['end-\ud83d', 'end-\u0001d83d'],
    ['ctl-\u0001d800', 'ctl-\u00010001d800'],
  ];
  it.each(cases)('%j → %j, and back', (raw, stored) => {
    expect(toStorableText(raw)).toBe(stored);
    expect(toStorableText(raw).isWellFormed()).toBe(true);
    expect(fromStorableText(stored)).toBe(raw);
  });

  it('keeps distinct names distinct (a lone surrogate is not U+FFFD)', () => {
    const names = ['a\ud800', 'a\ufffd', 'a\u0001d800', 'a\u0001', 'a\\ud800', 'a\ud800\udc00'];
    const stored = names.map(toStorableText);
    expect(new Set(stored).size).toBe(names.length);
    expect(stored.map(fromStorableText)).toEqual(names);
  });

  it('keeps a folder key a prefix of its children keys', () => {
    const folder = toStorableText(pathKey('Dir\ud800'));
    expect(toStorableText(pathKey('Dir\ud800/child\udc01')).startsWith(`${folder}/`)).toBe(true);
  });
});
