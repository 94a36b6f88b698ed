import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Change } from '@scaidrive/sync';
import { bytes, driveFixture, streamOf, type DriveFixture } from './support.js';

let f: DriveFixture;
const op = { userId: null, origin: 'manual' };

beforeAll(async () => {
  f = await driveFixture();
});
afterAll(async () => {
  await f.close();
});

async function allChanges(shareId: string, cursor = '') {
  const out = [];
  for (;;) {
    const page = await f.drive.changes(f.tenantId, shareId, cursor, 100);
    out.push(...page.changes);
    cursor = page.cursor;
    if (!page.hasMore) return { changes: out, cursor };
  }
}

describe('change feed', () => {
  it('records every mutation with type, paths, version and origin, in order', async () => {
    const share = await f.drive.shares.create(f.tenantId, { name: 'Feed', ownerId: f.adminId }, op);
    const start = (await allChanges(share.id)).cursor;
    const docs = await f.drive.tree.mkdirp(f.tenantId, share.id, '/Docs', op);
    const conn = { userId: f.adminId, origin: 'connector:cnn_1' };
    const { node } = await f.drive.files.writeFile(
      f.tenantId,
      share.id,
      { folderId: docs.id },
      'a.txt',
      streamOf(Buffer.from('1')),
      conn,
    );
    await f.drive.files.writeFile(
      f.tenantId,
      share.id,
      { folderId: docs.id },
      'a.txt',
      streamOf(Buffer.from('22')),
      op,
    );
    await f.drive.tree.move(f.tenantId, node.id, { name: 'b.txt' }, op);
    const archive = await f.drive.tree.mkdirp(f.tenantId, share.id, '/Archive', op);
    await f.drive.tree.move(f.tenantId, node.id, { parentId: archive.id }, op);
    await f.drive.tree.setMetadata(f.tenantId, node.id, { title: 'B' }, op);
    await f.drive.acl.add(
      f.tenantId,
      { type: 'file', id: node.id },
      { principalType: 'everyone', principalId: 'everyone', aceType: 'allow', permissions: 1 },
      op,
    );
    await f.drive.tree.trash(f.tenantId, node.id, op);
    await f.drive.tree.restore(f.tenantId, node.id, op);

    const { changes } = await allChanges(share.id, start);
    expect(
      changes.map((c) => [c.changeType, c.resourceType, c.oldPath, c.newPath, c.version, c.origin]),
    ).toEqual([
      ['created', 'folder', null, '/Docs', null, 'manual'],
      ['created', 'file', null, '/Docs/a.txt', 1, 'connector:cnn_1'],
      ['updated', 'file', null, '/Docs/a.txt', 2, 'manual'],
      ['renamed', 'file', '/Docs/a.txt', '/Docs/b.txt', 2, 'manual'],
      ['created', 'folder', null, '/Archive', null, 'manual'],
      ['moved', 'file', '/Docs/b.txt', '/Archive/b.txt', 2, 'manual'],
      ['metadata_changed', 'file', null, '/Archive/b.txt', 2, 'manual'],
      ['acl_changed', 'file', null, '/Archive/b.txt', null, 'manual'],
      ['deleted', 'file', '/Archive/b.txt', null, 2, 'manual'],
      ['restored', 'file', null, '/Archive/b.txt', 2, 'manual'],
    ]);
    expect(changes[1]).toMatchObject({
      changedBy: f.adminId,
      metadata: { size: 1, mime_type: null },
    });
    expect(changes.every((c, i) => i === 0 || c.seq > changes[i - 1]!.seq)).toBe(true);
  });

  it('never lets a reader skip a change that commits late (cursor = commit order per share)', async () => {
    const share = await f.drive.shares.create(f.tenantId, { name: 'Busy', ownerId: f.adminId }, op);
    let cursor = (await allChanges(share.id)).cursor;
    const seen: bigint[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const page = await f.drive.changes(f.tenantId, share.id, cursor, 50);
        for (const c of page.changes) seen.push(c.seq);
        cursor = page.cursor;
      }
    })();
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 8; i++)
          await f.drive.files.writeFile(
            f.tenantId,
            share.id,
            { path: `/w${w}` },
            `f${i}`,
            streamOf(bytes(3000, w * 100 + i)),
            op,
          );
      }),
    );
    writing = false;
    await reader;
    const rest = await allChanges(share.id, cursor);
    seen.push(...rest.changes.map((c) => c.seq));
    const all = (await allChanges(share.id)).changes.map((c) => c.seq);
    expect(seen).toEqual(all.slice(all.length - seen.length));
    expect(seen.length).toBe(6 * 8 + 6); // files + the six folders
  });
});

describe('FileTree change feed', () => {
  it('maps changes below the root, skips its own origin, and turns moves across the root into delete/upsert', async () => {
    const share = await f.drive.shares.create(f.tenantId, { name: 'Conn', ownerId: f.adminId }, op);
    await f.drive.tree.mkdirp(f.tenantId, share.id, '/Synced', op);
    const tree = f.drive.shareTree({
      tenantId: f.tenantId,
      shareId: share.id,
      rootPath: '/Synced',
      origin: 'connector:cnn_me',
    });
    const cursor = await tree.latestCursor();
    await tree.write('mine.txt', streamOf(Buffer.from('mine')), { size: 4, mtimeMs: Date.now() });
    const { node: theirs } = await f.drive.files.writeFile(
      f.tenantId,
      share.id,
      { path: '/Synced/sub' },
      'theirs.txt',
      streamOf(Buffer.from('x')),
      op,
    );
    const { node: outside } = await f.drive.files.writeFile(
      f.tenantId,
      share.id,
      { path: '/Elsewhere' },
      'in.txt',
      streamOf(Buffer.from('y')),
      op,
    );
    const synced = (await f.drive.tree.resolve(f.tenantId, share.id, '/Synced'))!;
    const elsewhere = (await f.drive.tree.resolve(f.tenantId, share.id, '/Elsewhere'))!;
    await f.drive.tree.move(f.tenantId, outside.id, { parentId: synced.id }, op); // into the root
    await f.drive.tree.move(f.tenantId, theirs.id, { parentId: elsewhere.id }, op); // out of it

    const changes: Change[] = [];
    let last = cursor;
    for await (const page of tree.changes(cursor)) {
      changes.push(...page.changes);
      last = page.cursor;
    }
    const summary = changes.map((c) => (c.type === 'upsert' ? `+${c.entry.path}` : `-${c.path}`));
    // mine.txt is our own change; /Elsewhere is outside the root.
    expect(summary).not.toContain('+mine.txt');
    expect(summary).toContain('+sub');
    // theirs.txt was created under the root, then moved out: its create shows as nothing current,
    // and the move as a delete of the old path.
    expect(summary).toContain('-sub/theirs.txt');
    expect(summary).toContain('+in.txt');
    expect(summary.some((s) => s.includes('Elsewhere'))).toBe(false);
    const upsert = changes.find((c) => c.type === 'upsert' && c.entry.path === 'in.txt');
    expect(upsert).toMatchObject({
      entry: { kind: 'file', version: '1', hash: expect.stringMatching(/^sha256:/) },
    });
    // The cursor moved past everything: nothing more.
    const again: Change[] = [];
    for await (const page of tree.changes(last)) again.push(...page.changes);
    expect(again).toEqual([]);
    expect(last).toBe(await tree.latestCursor());
  });
});
