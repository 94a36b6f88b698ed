import { describe, expect, it } from '@jest/globals';
import { MAX_SMB_PATH_LENGTH, smbNameProblem, tempFileInfo, tempName } from './names.js';

describe('smbNameProblem', () => {
  it.each([
    'report.docx',
    'Ünïcödé 日本語.txt',
    ' leading space.txt',
    'console.txt',
    'COM10',
    'LPT',
    '.hidden',
    '~$x.docx',
    'x'.repeat(255),
  ])('accepts %j', (name) => {
    expect(smbNameProblem(name)).toBeNull();
  });

  it.each([
    ['', /empty/],
    ['.', /not a valid/],
    ['..', /not a valid/],
    ['a\\b', /"\\"/],
    ['a/b', /"\/"/],
    ['a:b', /":"/],
    ['a*b', /"\*"/],
    ['a?b', /"\?"/],
    ['a"b', /"""/],
    ['a<b', /"<"/],
    ['a>b', /">"/],
    ['a|b', /"\|"/],
    ['tab\there', /control/],
    ['nul\u0000', /control/],
    ['trailing.', /ends with a dot or a space/],
    ['trailing ', /ends with a dot or a space/],
    ['CON', /reserved/],
    ['con.txt', /reserved/],
    ['Aux.tar.gz', /reserved/],
    ['nul .txt', /reserved/],
    ['com1', /reserved/],
    ['LPT9.log', /reserved/],
    ['COM\u00b9', /reserved/],
    ['x'.repeat(256), /longer than 255/],
    ['~sdsync-abc-00ff.tmp', /reserved for the connector/],
  ])('rejects %j', (name, reason) => {
    expect(smbNameProblem(name)).toMatch(reason);
  });

  it('counts base_path and the parent folder against the path limit', () => {
    const parent = 'p'.repeat(MAX_SMB_PATH_LENGTH - 20);
    expect(smbNameProblem('short.txt', parent)).toBeNull();
    expect(smbNameProblem('a-much-longer-name.txt', parent)).toMatch(/path is longer/);
    expect(smbNameProblem('short.txt', parent, 10)).toMatch(/path is longer/);
  });
});

describe('temporary names', () => {
  it('recognises its own temporary files and their age', () => {
    const now = Date.UTC(2026, 0, 1);
    const t = tempName(now);
    expect(t).toMatch(/^~sdsync-[0-9a-z]+-[0-9a-f]{12}\.tmp$/);
    expect(tempFileInfo(t, now)).toEqual({ temp: true, stale: false });
    expect(tempFileInfo(t, now + 25 * 3600_000)).toEqual({ temp: true, stale: true });
    expect(tempFileInfo('~sdsync-notes.txt', now)).toEqual({ temp: false });
    expect(tempFileInfo('report.tmp', now)).toEqual({ temp: false });
    expect(tempName(now)).not.toBe(tempName(now));
  });
});
