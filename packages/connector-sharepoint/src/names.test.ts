import { describe, it, expect } from '@jest/globals';
import { encodeGraphPath, isOfficeDocument, sharePointNameProblem } from './names.js';

describe('SharePoint name rules', () => {
  it.each(['a"b', 'a*b', 'a:b', 'a<b', 'a>b', 'a?b', 'a\\b', 'a|b'])('refuses %s', (n) => {
    expect(sharePointNameProblem(n, '')).toMatch(/character/);
  });
  it.each([
    ' lead',
    'trail ',
    'CON',
    'con',
    'LPT1',
    '.lock',
    'desktop.ini',
    'x_vti_y',
    '~$tmp.docx',
  ])('refuses %s', (n) => {
    expect(sharePointNameProblem(n, 'a')).not.toBeNull();
  });
  it('accepts ordinary names', () => {
    for (const n of ['Report 2026.docx', 'a#b', 'ünïcödé', 'CONFIG', 'con.txt.bak', '50% off'])
      expect(sharePointNameProblem(n, 'a/b')).toBeNull();
  });
  it('counts the base path and parents towards 400 characters', () => {
    const parent = 'p'.repeat(390);
    expect(sharePointNameProblem('abcdefghi', parent)).toBeNull(); // 390 + 1 + 9 = 400
    expect(sharePointNameProblem('abcdefghij', parent)).toMatch(/400/);
    expect(sharePointNameProblem('a', 'x', 'b'.repeat(398))).toMatch(/400/);
  });
  it('encodes path segments', () => {
    expect(encodeGraphPath('a b/c#d/%e')).toBe('a%20b/c%23d/%25e');
  });
  it('knows Office documents', () => {
    expect(isOfficeDocument('x.DOCX')).toBe(true);
    expect(isOfficeDocument('x.txt')).toBe(false);
  });
});
