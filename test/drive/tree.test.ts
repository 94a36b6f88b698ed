import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { driveFixture, bytes, streamOf, countRows, type DriveFixture } from './support.js';

let f: DriveFixture;
let shareId: string;
let rootId: string;
const actor = { userId: null, origin: 'manual' };

beforeAll(async () => {
  f = await driveFixture();
  const share = await f.drive.shares.create(
    f.tenantId,
    { name: 'Tree', ownerId: f.adminId },
    actor,
  );
  shareId = share.id;
  rootId = share.rootNodeId;
});
afterAll(async () => {
  await f.close();
});

function errorCode(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );
}

describe('names', () => {
  it.each([
    ['a/b', 'contains "/"'],
    ['a\u0000b', 'control character'],
    ['.', 'not a valid name'],
    ['..', 'not a valid name'],
    ['x'.repeat(256), 'longer than 255'],
    ['', 'empty'],
  ])('rejects %j with the reason', async (name, reason) => {
    const err = await f.drive.tree
      .createFolder(f.tenantId, shareId, { folderId: rootId }, name, actor)
      .catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'NAME_INVALID' });
    expect((err as Error).message).toContain(reason);
  });

  it('rejects over-long paths', async () => {
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');
    await expect(f.drive.tree.mkdirp(f.tenantId, shareId, deep, actor)).rejects.toMatchObject({
      code: 'NAME_INVALID',
    });
  });

  it('stores names NFC-normalised and case-preserving', async () => {
    const decomposed = 'Cafe\u0301';
    const { node } = await f.drive.tree.createFolder(
      f.tenantId,
      shareId,
      { folderId: rootId },
      decomposed,
      actor,
    );
    expect(node.name).toBe('Caf\u00e9');
    const found = await f.drive.tree.resolve(f.tenantId, shareId, '/CAF\u00c9');
    expect(found?.id).toBe(node.id);
  });
});

describe('case-insensitive uniqueness', () => {
  it('lets exactly one of many concurrent folder creates win', async () => {
    const names = Array.from({ length: 24 }, (_, i) => (i % 2 ? 'Report' : 'REPORT'));
    const results = await Promise.all(
      names.map((n) =>
        errorCode(f.drive.tree.createFolder(f.tenantId, shareId, { path: '/' }, n, actor)),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'NAME_CONFLICT')).toHaveLength(names.length - 1);
    expect(await countRows(f.db, 'nodes', `share_id = $1 AND name_key = 'report'`, shareId)).toBe(
      1,
    );
  });

  it('lets exactly one of many concurrent create-only file writes win', async () => {
    const names = Array.from({ length: 16 }, (_, i) => (i % 2 ? 'Report.pdf' : 'REPORT.PDF'));
    const results = await Promise.all(
      names.map((n, i) =>
        errorCode(
          f.drive.files.writeFile(
            f.tenantId,
            shareId,
            { path: '/' },
            n,
            streamOf(bytes(1000, i)),
            actor,
            {
              ifMatch: null,
            },
          ),
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'PRECONDITION_FAILED')).toHaveLength(names.length - 1);
    const node = await f.drive.tree.resolve(f.tenantId, shareId, '/report.pdf');
    expect(node?.version).toBe(1);
  });

  it('turns concurrent unconditional writes of one path into consecutive versions', async () => {
    const n = 8;
    const datas = Array.from({ length: n }, (_, i) => bytes(150_000, 100 + i));
    const results = await Promise.all(
      datas.map((d, i) =>
        f.drive.files.writeFile(
          f.tenantId,
          shareId,
          { path: '/' },
          i % 2 ? 'Same.bin' : 'SAME.BIN',
          streamOf(d),
          actor,
        ),
      ),
    );
    const ids = new Set(results.map((r) => r.node.id));
    expect(ids.size).toBe(1);
    expect(results.map((r) => r.version.versionNumber).sort((a, b) => a - b)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
    // Every version is exactly one of the uploads, whole.
    const [id] = [...ids];
    for (const r of results) {
      const opened = await f.drive.files.open(f.tenantId, id!, {
        versionNumber: r.version.versionNumber,
      });
      const chunks: Buffer[] = [];
      for await (const c of opened.stream) chunks.push(c as Buffer);
      const content = Buffer.concat(chunks);
      expect(datas.some((d) => d.equals(content))).toBe(true);
    }
  });

  it('creates each folder of concurrent mkdir -p calls once', async () => {
    const paths = ['/p/q/r1', '/P/Q/r2', '/p/Q/R3', '/P/q/r4', '/p/q/r1', '/p/q/r1/s'];
    const folders = await Promise.all(
      paths.map((p) => f.drive.tree.mkdirp(f.tenantId, shareId, p, actor)),
    );
    expect(folders[0]!.id).toBe(folders[4]!.id);
    expect(await countRows(f.db, 'nodes', `share_id = $1 AND name_key = 'p'`, shareId)).toBe(1);
    expect(await countRows(f.db, 'nodes', `share_id = $1 AND name_key = 'q'`, shareId)).toBe(1);
    const q = await f.drive.tree.resolve(f.tenantId, shareId, '/p/q');
    const { total } = await f.drive.tree.list(f.tenantId, q!.id);
    expect(total).toBe(4);
  });

  it('enforces uniqueness in the database itself', async () => {
    const folder = await f.drive.tree.mkdirp(f.tenantId, shareId, '/dbcheck/Alpha', actor);
    await expect(
      f.db.prisma.$executeRawUnsafe(
        `INSERT INTO nodes (id, tenant_id, share_id, parent_id, kind, name, name_key, live_name_key, updated_at)
         VALUES ('fld_dup', $1, $2, $3, 'folder', 'ALPHA', 'alpha', 'alpha', now())`,
        f.tenantId,
        shareId,
        folder.parentId,
      ),
    ).rejects.toThrow(/23505|unique/i);
  });
});

describe('move, rename, trash, restore', () => {
  it('renames (including case-only) and moves', async () => {
    const a = await f.drive.tree.mkdirp(f.tenantId, shareId, '/mv/a', actor);
    const b = await f.drive.tree.mkdirp(f.tenantId, shareId, '/mv/b', actor);
    const { node: file } = await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { folderId: a.id },
      'doc.txt',
      streamOf(Buffer.from('hello')),
      actor,
    );
    const renamed = await f.drive.tree.move(f.tenantId, file.id, { name: 'Doc.TXT' }, actor);
    expect(renamed.name).toBe('Doc.TXT');
    const moved = await f.drive.tree.move(f.tenantId, file.id, { parentId: b.id }, actor);
    expect(await f.drive.tree.pathOf(moved.id)).toBe('/mv/b/Doc.TXT');
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/mv/a/doc.txt')).toBeNull();
  });

  it('refuses a name taken case-insensitively and a move into a subfolder of itself', async () => {
    const x = await f.drive.tree.mkdirp(f.tenantId, shareId, '/mv2/x/inner', actor);
    await f.drive.tree.mkdirp(f.tenantId, shareId, '/mv2/Y', actor);
    const xNode = (await f.drive.tree.resolve(f.tenantId, shareId, '/mv2/x'))!;
    await expect(
      f.drive.tree.move(f.tenantId, xNode.id, { name: 'y' }, actor),
    ).rejects.toMatchObject({
      code: 'NAME_CONFLICT',
    });
    await expect(
      f.drive.tree.move(f.tenantId, xNode.id, { parentId: x.id }, actor),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('trashes a subtree, frees the name, restores it (or refuses when the name is taken)', async () => {
    await f.drive.tree.mkdirp(f.tenantId, shareId, '/tr/Folder/sub', actor);
    await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/tr/Folder/sub' },
      'f.txt',
      streamOf(Buffer.from('x')),
      actor,
    );
    const folder = (await f.drive.tree.resolve(f.tenantId, shareId, '/tr/Folder'))!;
    await f.drive.tree.trash(f.tenantId, folder.id, actor);
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/tr/Folder/sub/f.txt')).toBeNull();
    const trash = await f.drive.tree.listTrash(f.tenantId, shareId);
    expect(trash.items.map((i) => i.id)).toContain(folder.id);
    expect(trash.items.some((i) => i.name === 'sub')).toBe(false);
    // The name is free again.
    const again = await f.drive.tree.mkdirp(f.tenantId, shareId, '/tr/FOLDER', actor);
    await expect(f.drive.tree.restore(f.tenantId, folder.id, actor)).rejects.toMatchObject({
      code: 'NAME_CONFLICT',
    });
    await f.drive.tree.trash(f.tenantId, again.id, actor);
    await f.drive.tree.restore(f.tenantId, folder.id, actor);
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/tr/Folder/sub/f.txt')).not.toBeNull();
  });

  it('never leaves a live item under a trashed folder when create and trash race', async () => {
    for (let round = 0; round < 6; round++) {
      const folder = await f.drive.tree.mkdirp(f.tenantId, shareId, `/race${round}/deep`, actor);
      const top = (await f.drive.tree.resolve(f.tenantId, shareId, `/race${round}`))!;
      await Promise.allSettled([
        ...Array.from({ length: 6 }, (_, i) =>
          f.drive.files.writeFile(
            f.tenantId,
            shareId,
            { folderId: folder.id },
            `f${i}`,
            streamOf(bytes(2000, i)),
            actor,
          ),
        ),
        f.drive.tree.trash(f.tenantId, top.id, actor),
        ...Array.from({ length: 3 }, (_, i) =>
          f.drive.tree.mkdirp(f.tenantId, shareId, `/race${round}/deep/m${i}`, actor),
        ),
      ]);
    }
    const orphans = await f.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM nodes c JOIN nodes p ON p.id = c.parent_id
        WHERE c.share_id = $1 AND c.deleted_at IS NULL AND p.deleted_at IS NOT NULL`,
      shareId,
    );
    expect(Number(orphans[0]!.n)).toBe(0);
  });

  it('lists folders first, then by name, with totals', async () => {
    const dir = await f.drive.tree.mkdirp(f.tenantId, shareId, '/listing', actor);
    for (const n of ['b.txt', 'A.txt'])
      await f.drive.files.writeFile(
        f.tenantId,
        shareId,
        { folderId: dir.id },
        n,
        streamOf(Buffer.from(n)),
        actor,
      );
    await f.drive.tree.mkdirp(f.tenantId, shareId, '/listing/zeta', actor);
    const page = await f.drive.tree.list(f.tenantId, dir.id, { limit: 2 });
    expect(page.total).toBe(3);
    expect(page.items.map((i) => i.name)).toEqual(['zeta', 'A.txt']);
  });
});
