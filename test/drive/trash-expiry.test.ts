import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Drive } from '@scaidrive/drive';
import { bytes, driveFixture, readAll, sha256, streamOf, type DriveFixture } from './support.js';

/**
 * Trash retention (TRASH_RETENTION_DAYS): what has been in the trash longer than the retention is
 * deleted for good — versions released, usage given back, chunks left to the GC — and nothing else.
 */
let f: DriveFixture;
const actor = { userId: null, origin: 'manual' };
const DAY = 24 * 3600 * 1000;
const CHUNK = 64 * 1024; // the fixture's chunk size

beforeAll(async () => {
  f = await driveFixture({ trashRetentionDays: 30 });
});
afterAll(async () => {
  await f.close();
});

async function newShare(name: string): Promise<string> {
  return (await f.drive.shares.create(f.tenantId, { name, ownerId: f.adminId }, actor)).id;
}

async function put(shareId: string, folder: string, name: string, data: Buffer) {
  return f.drive.files.writeFile(
    f.tenantId,
    shareId,
    { path: folder },
    name,
    streamOf(data),
    actor,
  );
}

/** Moves a trashed item's deletion time back by `days` (as if it had been trashed then). */
async function ageTrash(nodeId: string, days: number): Promise<void> {
  await f.db.prisma.$executeRawUnsafe(
    `WITH RECURSIVE sub AS (SELECT id FROM nodes WHERE id = $1
       UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
     UPDATE nodes SET deleted_at = deleted_at - make_interval(days => $2)
      WHERE id IN (SELECT id FROM sub) AND deleted_at IS NOT NULL`,
    nodeId,
    days,
  );
}

async function exists(nodeId: string): Promise<boolean> {
  const rows = await f.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM nodes WHERE id = $1`,
    nodeId,
  );
  return rows[0]!.n === 1n;
}

async function chunkRefs(hashes: string[]): Promise<number[]> {
  const rows = await f.db.prisma.$queryRawUnsafe<{ hash: string; ref_count: number }[]>(
    `SELECT hash, ref_count FROM chunks WHERE tenant_id = $1 AND hash = ANY($2::text[])`,
    f.tenantId,
    hashes,
  );
  return hashes.map((h) => rows.find((r) => r.hash === h)?.ref_count ?? -1);
}

async function usedBytes(shareId: string): Promise<number> {
  return (await f.drive.shares.get(f.tenantId, shareId)).usedBytes;
}

describe('trash expiry', () => {
  it('purges items trashed before the retention, with their subtree, and gives the bytes back', async () => {
    const shareId = await newShare('Expiry');
    const old = await put(shareId, '/old', 'a.bin', bytes(70_000, 1));
    await put(shareId, '/old/deep', 'b.bin', bytes(50_000, 2));
    const oldFolder = (await f.drive.tree.resolve(f.tenantId, shareId, '/old'))!;
    const recent = await put(shareId, '/', 'recent.bin', bytes(30_000, 3));
    const live = await put(shareId, '/', 'live.bin', bytes(20_000, 4));
    expect(await usedBytes(shareId)).toBe(170_000);

    await f.drive.tree.trash(f.tenantId, oldFolder.id, actor);
    await f.drive.tree.trash(f.tenantId, recent.node.id, actor);
    await ageTrash(oldFolder.id, 31);
    await ageTrash(recent.node.id, 29);

    const result = await f.drive.expireTrash();
    expect(result).toEqual({ itemsPurged: 1, bytesFreed: 120_000 });
    expect(await exists(oldFolder.id)).toBe(false);
    expect(await exists(old.node.id)).toBe(false);
    const versions = await f.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM file_versions WHERE node_id = $1`,
      old.node.id,
    );
    expect(versions[0]!.n).toBe(0n);
    // Within the retention, and live: untouched, and still restorable / readable.
    expect(await exists(recent.node.id)).toBe(true);
    expect(await usedBytes(shareId)).toBe(50_000);
    const restored = await f.drive.tree.restore(f.tenantId, recent.node.id, actor);
    expect(restored.deletedAt).toBeNull();
    const opened = await f.drive.files.open(f.tenantId, live.node.id);
    expect((await readAll(opened.stream)).equals(bytes(20_000, 4))).toBe(true);
    // Nothing left that is due: a second run is a no-op.
    expect(await f.drive.expireTrash()).toEqual({ itemsPurged: 0, bytesFreed: 0 });
  });

  it('leaves the chunks of purged content to the GC, and keeps those other files still use', async () => {
    const shareId = await newShare('Chunks');
    const data = bytes(CHUNK * 2, 9);
    const gone = await put(shareId, '/', 'gone.bin', data);
    const copy = await put(shareId, '/', 'copy.bin', data);
    const only = await put(shareId, '/', 'only.bin', bytes(CHUNK, 10));
    await f.drive.tree.trash(f.tenantId, gone.node.id, actor);
    await f.drive.tree.trash(f.tenantId, only.node.id, actor);
    await ageTrash(gone.node.id, 40);
    await ageTrash(only.node.id, 40);
    expect((await f.drive.expireTrash()).itemsPurged).toBe(2);
    const refs = await chunkRefs([
      sha256(data.subarray(0, CHUNK)),
      sha256(data.subarray(CHUNK)),
      sha256(bytes(CHUNK, 10)),
    ]);
    // The shared content is still referenced by copy.bin and reads back whole; only.bin's chunk
    // is unreferenced, for the GC to take after its grace period.
    expect(refs).toEqual([1, 1, 0]);
    const opened = await f.drive.files.open(f.tenantId, copy.node.id);
    expect((await readAll(opened.stream)).equals(data)).toBe(true);
  });

  it('does not purge an item trashed again after the lookup, nor anything when retention is 0', async () => {
    const shareId = await newShare('Keep');
    const file = await put(shareId, '/', 'k.bin', bytes(1000, 5));
    await f.drive.tree.trash(f.tenantId, file.node.id, actor);
    await ageTrash(file.node.id, 400);
    const forever = new Drive({ db: f.drive.db, chunkStore: f.store, trashRetentionDays: 0 });
    expect(await forever.expireTrash()).toEqual({ itemsPurged: 0, bytesFreed: 0 });
    expect(await exists(file.node.id)).toBe(true);
    // Purge re-checks the deletion time under the row lock (restored + trashed again = not due).
    await expect(
      f.drive.tree.purge(f.tenantId, file.node.id, {
        deletedBefore: new Date(Date.now() - 500 * DAY),
      }),
    ).rejects.toThrow(/not due/i);
    expect(await exists(file.node.id)).toBe(true);
    // Items are processed in batches until none is due.
    const many = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => put(shareId, '/batch', `f${i}.bin`, bytes(100, i))),
    );
    for (const m of many) {
      await f.drive.tree.trash(f.tenantId, m.node.id, actor);
      await ageTrash(m.node.id, 60);
    }
    expect((await f.drive.expireTrash({ batchSize: 2 })).itemsPurged).toBe(6);
  });
});
