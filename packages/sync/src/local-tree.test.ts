import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createLocalTree, posixNameProblem, type LocalTree } from './local-tree.js';
import type { Entry } from './ports.js';

let root: string;
let tree: LocalTree;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'sd-local-'));
  tree = createLocalTree(path.join(root, 't'), { historyDir: path.join(root, 'h') });
  await mkdir(path.join(root, 't'));
});
afterEach(async () => rm(root, { recursive: true, force: true }));

const body = (s: string): Readable => Readable.from([Buffer.from(s)]);
const opts = (s: string, extra = {}) => ({
  size: Buffer.byteLength(s),
  mtimeMs: 1_700_000_000_123,
  ...extra,
});

async function all(p = ''): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of tree.list(p)) out.push(e);
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

describe('createLocalTree', () => {
  it('writes atomically, preserves mtime, returns the post-write entry', async () => {
    const e = await tree.write('a.txt', body('hello'), opts('hello', { ifMatch: null }));
    expect(e).toMatchObject({
      name: 'a.txt',
      path: 'a.txt',
      kind: 'file',
      size: 5,
      mtimeMs: 1_700_000_000_123,
    });
    expect(await tree.stat('a.txt')).toEqual(e);
    expect(await readFile(path.join(root, 't/a.txt'), 'utf8')).toBe('hello');
    expect((await stat(path.join(root, 't/a.txt'))).mtimeMs).toBeCloseTo(1_700_000_000_123, -1);
  });

  it('enforces ifMatch and leaves nothing behind on failure', async () => {
    const e = await tree.write('a.txt', body('one'), opts('one'));
    await expect(
      tree.write('a.txt', body('two'), opts('two', { ifMatch: null })),
    ).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    await expect(
      tree.write('a.txt', body('two'), opts('two', { ifMatch: 'stale' })),
    ).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    const e2 = await tree.write('a.txt', body('two'), opts('two', { ifMatch: e.version }));
    expect(e2.version).not.toBe(e.version);
    // Wrong size or hash: the old content stays, no temp file.
    await expect(
      tree.write('a.txt', body('three'), { size: 99, mtimeMs: 0 }),
    ).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    await expect(
      tree.write('a.txt', body('three'), opts('three', { expectedSha256: '00'.repeat(32) })),
    ).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    const good = createHash('sha256').update('three').digest('hex');
    await tree.write('a.txt', body('three'), opts('three', { expectedSha256: good }));
    expect(await readFile(path.join(root, 't/a.txt'), 'utf8')).toBe('three');
    expect(await readdir(path.join(root, 't'))).toEqual(['a.txt']);
    // The previous contents are in the history (ScaiDrive versions stand-in).
    const hist = await Promise.all(
      (await readdir(path.join(root, 'h'))).map((n) => readFile(path.join(root, 'h', n), 'utf8')),
    );
    expect(hist.sort()).toEqual(['one', 'two']);
  });

  it('a broken content stream fails the write without a trace', async () => {
    const broken = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(tree.write('b.txt', broken, { size: 100, mtimeMs: 0 })).rejects.toThrow();
    expect(await readdir(path.join(root, 't'))).toEqual([]);
  });

  it('a missing parent is ITEM_NOT_FOUND; mkdir creates parents', async () => {
    await expect(tree.write('x/y.txt', body('a'), opts('a'))).rejects.toMatchObject({
      code: 'ITEM_NOT_FOUND',
    });
    const d = await tree.mkdir('x/z');
    expect(d).toMatchObject({ kind: 'folder', name: 'z', path: 'x/z' });
    await tree.write('x/z/y.txt', body('a'), opts('a'));
    expect((await all('x/z')).map((e) => e.name)).toEqual(['y.txt']);
    await expect(tree.mkdir('x/z/y.txt')).rejects.toMatchObject({ code: 'NAME_CONFLICT' });
  });

  it('lists entries with hidden dot-files, skips temp files and removes stale ones', async () => {
    await writeFile(path.join(root, 't/.dot'), 'd');
    await writeFile(path.join(root, 't/plain'), 'p');
    await writeFile(path.join(root, 't/.sdtmp-999999999-abc'), 'stale');
    const entries = await all();
    expect(entries.map((e) => [e.name, e.hidden ?? false])).toEqual([
      ['.dot', true],
      ['plain', false],
    ]);
    expect(await readdir(path.join(root, 't'))).not.toContain('.sdtmp-999999999-abc');
    await expect(all('missing')).rejects.toMatchObject({ code: 'ITEM_NOT_FOUND' });
  });

  it('deletes files (ifMatch) and only empty folders; moves refuse to overwrite', async () => {
    const e = await tree.write('d/a.txt', body('a'), opts('a')).catch(async () => {
      await tree.mkdir('d');
      return tree.write('d/a.txt', body('a'), opts('a'));
    });
    await expect(tree.delete('d', { kind: 'folder' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    await expect(tree.delete('d/a.txt', { kind: 'file', ifMatch: 'x' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    await tree.write('b.txt', body('b'), opts('b'));
    await expect(tree.move!('d/a.txt', 'b.txt', {})).rejects.toMatchObject({
      code: 'NAME_CONFLICT',
    });
    const moved = await tree.move!('d/a.txt', 'd/c.txt', { ifMatch: e.version! });
    expect(moved.name).toBe('c.txt');
    await tree.delete('d/c.txt', { kind: 'file' });
    await tree.delete('d', { kind: 'folder' });
    await tree.delete('gone', { kind: 'file' }); // missing = success
    expect((await all()).map((x) => x.name)).toEqual(['b.txt']);
  });

  it('reads stream the content and report the entry', async () => {
    await tree.write('r.txt', body('content'), opts('content'));
    const r = await tree.read('r.txt');
    const chunks: Buffer[] = [];
    for await (const c of r.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('content');
    expect(r.entry.size).toBe(7);
  });

  it('refuses paths that escape the root', () => {
    expect(() => tree.absolute('../x')).toThrow();
  });
});

describe('posixNameProblem', () => {
  it.each([
    ['ok name.txt', null],
    ['', 'name is empty'],
    ['..', '".." is not a valid name'],
    ['a/b', 'name contains "/"'],
    ['é'.repeat(128), 'name is longer than 255 bytes'],
    ['.sdtmp-1-x', 'names starting with ".sdtmp-" are reserved'],
    ['con:aux?*', null],
  ])('%s', (name, problem) => {
    expect(posixNameProblem(name)).toBe(problem);
  });
});
