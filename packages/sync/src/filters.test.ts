import { describe, expect, it } from '@jest/globals';
import { createPathFilter } from './filters.js';
import { globToRegExp } from './glob.js';
import type { Entry } from './ports.js';

const file = (p: string, extra: Partial<Entry> = {}): [string, 'file', Entry[]] => [
  p,
  'file',
  [{ name: p.split('/').pop()!, path: p, kind: 'file', size: 1, mtimeMs: 0, ...extra }],
];
const folder = (p: string): [string, 'folder', Entry[]] => [
  p,
  'folder',
  [{ name: p.split('/').pop()!, path: p, kind: 'folder', size: 0, mtimeMs: 0 }],
];

describe('globToRegExp', () => {
  it.each([
    ['*.txt', 'a.txt', true],
    ['*.txt', 'a/b.txt', false],
    ['**/*.txt', 'a/b.txt', true],
    ['**/*.txt', 'b.txt', true],
    ['docs/**', 'docs/a/b', true],
    ['docs/**', 'docsx/a', false],
    ['?.md', 'a.md', true],
    ['?.md', 'ab.md', false],
    ['[ab]*.log', 'b1.log', true],
    ['[!ab]*.log', 'c1.log', true],
    ['[!ab]*.log', 'a1.log', false],
    ['*.{jpg,png}', 'x.PNG', true],
    ['~$*', '~$report.docx', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['Réunion*', 'réunion 2024.txt', true],
  ])('%s vs %s → %s', (pattern, path, expected) => {
    expect(globToRegExp(pattern).test(path.normalize('NFC'))).toBe(expected);
  });
});

describe('createPathFilter', () => {
  it('includes everything by default', () => {
    const f = createPathFilter();
    expect(f.excluded(...file('a/b.bin'))).toBeNull();
  });

  it('extensions are case-insensitive, without a dot, and never exclude folders', () => {
    const f = createPathFilter({ exclude: { extensions: ['TMP', '.bak', 'tar.gz'] } });
    expect(f.excluded(...file('a/x.tmp'))).toBe('excluded by extension "tmp"');
    expect(f.excluded(...file('a/x.BAK'))).toBe('excluded by extension "bak"');
    expect(f.excluded(...file('x.tar.gz'))).toBe('excluded by extension "tar.gz"');
    expect(f.excluded(...folder('photos.tmp'))).toBeNull();
    expect(f.excluded(...file('tmp'))).toBeNull();
  });

  it('a pattern without "/" matches the name at any depth; with "/" the relative path', () => {
    const f = createPathFilter({
      exclude: { patterns: ['node_modules', 'build/', '/top.txt', 'docs/private/**', '~$*'] },
    });
    expect(f.excluded(...folder('a/b/node_modules'))).toMatch(/node_modules/);
    expect(f.excluded(...folder('x/build'))).toMatch(/build/);
    expect(f.excluded(...file('x/build'))).toBeNull(); // "build/" matches folders only
    expect(f.excluded(...file('top.txt'))).toMatch(/top/);
    expect(f.excluded(...file('sub/top.txt'))).toBeNull(); // anchored at the root
    expect(f.excluded(...file('docs/private/a/b.pdf'))).toMatch(/private/);
    expect(f.excluded(...file('docs/public/b.pdf'))).toBeNull();
    expect(f.excluded(...file('Q/~$Budget.xlsx'))).toMatch(/~\$/);
  });

  it('a non-empty include set limits files (folders are always walked); excludes still apply', () => {
    const f = createPathFilter({
      include: { extensions: ['pdf'], patterns: ['Reports', 'notes/*.md'] },
      exclude: { patterns: ['*draft*'] },
    });
    expect(f.excluded(...file('a/x.pdf'))).toBeNull();
    expect(f.excluded(...file('a/x.docx'))).toBe('not matched by the include patterns');
    expect(f.excluded(...file('Reports/q1/x.docx'))).toBeNull(); // inside an included folder
    expect(f.excluded(...file('notes/a.md'))).toBeNull();
    expect(f.excluded(...file('notes/sub/a.md'))).toBe('not matched by the include patterns');
    expect(f.excluded(...folder('anything'))).toBeNull();
    expect(f.excluded(...file('a/draft-1.pdf'))).toMatch(/draft/);
  });

  it('hidden and system attributes, on either side', () => {
    const f = createPathFilter({ syncHidden: false, syncSystem: false });
    expect(f.excluded(...file('x', { hidden: true }))).toBe('hidden item');
    expect(f.excluded(...file('x', { system: true }))).toBe('system item');
    const all = createPathFilter({ syncHidden: true, syncSystem: true });
    expect(all.excluded(...file('x', { hidden: true, system: true }))).toBeNull();
    const [p, k] = file('x');
    expect(
      f.excluded(p, k, [
        null,
        { name: 'x', path: 'x', kind: 'file', size: 0, mtimeMs: 0, hidden: true },
      ]),
    ).toBe('hidden item');
  });
});
