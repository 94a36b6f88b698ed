import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ShareTree } from '@scaidrive/drive';
import { bytes, driveFixture, readAll, sha256, streamOf, type DriveFixture } from './support.js';

let f: DriveFixture;
let tree: ShareTree;
let shareId: string;
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

beforeAll(async () => {
  f = await driveFixture();
  shareId = (await f.drive.shares.create(f.tenantId, { name: 'Target', ownerId: f.adminId }, {}))
    .id;
  tree = f.drive.shareTree({
    tenantId: f.tenantId,
    shareId,
    rootPath: '/Connectors/SMB',
    origin: 'connector:cnn_test',
    actorUserId: f.adminId,
  });
});
afterAll(async () => {
  await f.close();
});

describe('ShareTree (sync Target)', () => {
  it('writes atomically and reads back; the entry carries version, id and sha256', async () => {
    const data = bytes(200_000, 1);
    const entry = await tree.write('dir/a.bin', streamOf(data), { size: data.length, mtimeMs: T0 });
    expect(entry).toMatchObject({
      name: 'a.bin',
      path: 'dir/a.bin',
      kind: 'file',
      size: data.length,
      mtimeMs: T0,
      version: '1',
      hash: `sha256:${sha256(data)}`,
    });
    expect(entry.id).toMatch(/^fil_/);
    expect(await tree.stat('DIR/A.BIN')).toEqual(entry);
    const { stream, entry: readEntry } = await tree.read('dir/a.bin');
    expect((await readAll(stream)).equals(data)).toBe(true);
    expect(readEntry.version).toBe('1');
    // The share path includes the connector root.
    expect(
      await f.drive.tree.resolve(f.tenantId, shareId, '/connectors/smb/dir/a.bin'),
    ).not.toBeNull();
  });

  it('honours ifMatch on write and delete', async () => {
    const e1 = await tree.write('c.txt', streamOf(Buffer.from('one')), {
      size: 3,
      mtimeMs: T0,
      ifMatch: null,
    });
    await expect(
      tree.write('c.txt', streamOf(Buffer.from('two')), { size: 3, mtimeMs: T0, ifMatch: null }),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', action: 'skip_item' });
    const e2 = await tree.write('c.txt', streamOf(Buffer.from('two')), {
      size: 3,
      mtimeMs: T0,
      ifMatch: e1.version!,
    });
    expect(e2.version).toBe('2');
    // Someone else changed it meanwhile: the engine's stale version fails.
    await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/Connectors/SMB' },
      'c.txt',
      streamOf(Buffer.from('three')),
      {},
    );
    await expect(
      tree.write('c.txt', streamOf(Buffer.from('four')), { size: 4, mtimeMs: T0, ifMatch: '2' }),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await expect(tree.delete('c.txt', { kind: 'file', ifMatch: '2' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    expect((await readAll((await tree.read('c.txt')).stream)).toString()).toBe('three');
    await tree.delete('c.txt', { kind: 'file', ifMatch: '3' });
    expect(await tree.stat('c.txt')).toBeNull();
    await tree.delete('c.txt', { kind: 'file' }); // missing = success
    await expect(
      tree.write('gone.txt', streamOf(Buffer.from('x')), { size: 1, mtimeMs: T0, ifMatch: '5' }),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('refuses names the store cannot hold with NAME_INVALID and the reason', async () => {
    expect(tree.capabilities.nameProblem('a/b', '')).toContain('/');
    expect(tree.capabilities.nameProblem('ok.txt', 'x')).toBeNull();
    expect(tree.capabilities.nameProblem('..', '')).toContain('not a valid name');
    await expect(
      tree.write('bad\u0001name', streamOf(Buffer.from('x')), { size: 1, mtimeMs: T0 }),
    ).rejects.toMatchObject({
      code: 'NAME_INVALID',
      message: expect.stringContaining('control character'),
    });
    await expect(tree.mkdir('a/../b')).rejects.toMatchObject({ code: 'NAME_INVALID' });
  });

  it('fails a write whose stream is shorter than announced, leaving nothing', async () => {
    await expect(
      tree.write('short.bin', streamOf(Buffer.alloc(10)), { size: 11, mtimeMs: T0 }),
    ).rejects.toMatchObject({ code: 'ITEM_CHANGED_DURING_READ' });
    expect(await tree.stat('short.bin')).toBeNull();
  });

  it('lists, makes folders, moves and sets mtimes', async () => {
    const folder = await tree.mkdir('m/n');
    expect(folder).toMatchObject({ kind: 'folder', path: 'm/n', name: 'n' });
    expect(await tree.mkdir('M/N')).toMatchObject({ id: folder.id });
    await tree.write('m/x.txt', streamOf(Buffer.from('x')), { size: 1, mtimeMs: T0 });
    const names = [];
    for await (const e of tree.list('m')) names.push(`${e.kind}:${e.path}`);
    expect(names.sort()).toEqual(['file:m/x.txt', 'folder:m/n']);
    await expect(async () => {
      for await (const _ of tree.list('nope')) void _;
    }).rejects.toMatchObject({ code: 'ITEM_NOT_FOUND' });
    const moved = await tree.move!('m/x.txt', 'other/y.txt', {});
    expect(moved).toMatchObject({ path: 'other/y.txt', name: 'y.txt', version: '1' });
    expect(await tree.stat('m/x.txt')).toBeNull();
    const touched = await tree.setMtime!('other/y.txt', T0 + 5000);
    expect(touched.mtimeMs).toBe(T0 + 5000);
    expect(touched.version).toBe('1');
  });

  it('replaces only its own ACL entries and reads/writes metadata', async () => {
    await tree.write('acl.txt', streamOf(Buffer.from('a')), { size: 1, mtimeMs: T0 });
    const node = (await f.drive.tree.resolve(f.tenantId, shareId, '/Connectors/SMB/acl.txt'))!;
    const group = await f.drive.principals.createGroup(f.tenantId, { name: 'Staff' });
    await f.drive.acl.add(
      f.tenantId,
      { type: 'file', id: node.id },
      { principalType: 'everyone', principalId: 'everyone', aceType: 'allow', permissions: 1 },
      {},
    );
    const write = (perms: ('READ' | 'WRITE')[]) =>
      tree.writeAcl!('acl.txt', {
        inheritFromParent: false,
        entries: [
          {
            principalType: 'group',
            principalId: group.id,
            aceType: 'allow',
            permissions: perms,
            inheritToChildren: true,
          },
        ],
      });
    await write(['READ', 'WRITE']);
    await write(['READ']);
    const view = await f.drive.acl.get(f.tenantId, { type: 'file', id: node.id });
    expect(view.inheritFromParent).toBe(false);
    expect(
      view.entries.map((e) => `${e.origin}:${e.principalType}:${e.permissions}`).sort(),
    ).toEqual(['connector:cnn_test:group:1', 'manual:everyone:1']);
    await tree.writeMetadata!('acl.txt', { Title: 'Hello', Tags: ['a'] });
    expect(await tree.readMetadata!('acl.txt')).toEqual({ Title: 'Hello', Tags: ['a'] });
  });

  it('imports historical versions below the current one, in time order, once per origin', async () => {
    const cur = Buffer.from('current');
    await tree.write('h.txt', streamOf(cur), { size: cur.length, mtimeMs: T0 + 3000 });
    const v = (s: string, t: number, origin: string) =>
      tree.addVersion!('h.txt', streamOf(Buffer.from(s)), { size: s.length, mtimeMs: t, origin });
    await v('second', T0 + 2000, 'sharepoint:2.0');
    await v('first', T0 + 1000, 'sharepoint:1.0');
    await v('first', T0 + 1000, 'sharepoint:1.0'); // idempotent
    const versions = await tree.listVersions!('h.txt');
    expect(versions.map((x) => [x.id, x.current, x.size])).toEqual([
      ['1', true, cur.length],
      ['0', false, 'second'.length],
      ['-1', false, 'first'.length],
    ]);
    const { stream } = await tree.readVersion!('h.txt', '-1');
    expect((await readAll(stream)).toString()).toBe('first');
    expect((await tree.stat('h.txt'))!.version).toBe('1');
  });

  it('never shows a concurrent reader a partial write', async () => {
    const a = bytes(64 * 1024 * 5, 11);
    const b = bytes(64 * 1024 * 5, 12);
    await tree.write('atomic.bin', streamOf(a), { size: a.length, mtimeMs: T0 });
    let done = false;
    const writer = (async () => {
      for (let i = 0; i < 5; i++)
        await tree.write('atomic.bin', streamOf(i % 2 ? a : b, 5000), {
          size: a.length,
          mtimeMs: T0 + i,
        });
      done = true;
    })();
    let reads = 0;
    while (!done) {
      const { stream, entry } = await tree.read('atomic.bin');
      const got = await readAll(stream);
      expect(got.equals(a) || got.equals(b)).toBe(true);
      expect(entry.hash).toBe(`sha256:${sha256(got)}`);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });
});
