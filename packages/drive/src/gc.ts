import type { ChunkStore } from './chunk-store/types.js';
import { inTx, type DbClient } from './db.js';

export interface GcOptions {
  /** Unreferenced chunks younger than this (since their last touch) are left alone. */
  graceMs: number;
  /** Chunks per transaction (default 200). */
  batchSize?: number;
  /** Parallel deletes in the store (default 8). */
  deleteConcurrency?: number;
  signal?: AbortSignal;
}

export interface GcResult {
  chunksDeleted: number;
  bytesFreed: number;
  tempFilesRemoved: number;
}

/**
 * Deletes chunks nothing references (ref_count 0) whose grace period has passed: content of
 * pruned versions and purged files, and chunks of uploads that never committed (crash, abort).
 *
 * Each batch locks its rows (FOR UPDATE SKIP LOCKED), deletes the bytes, then the rows, in one
 * transaction. An upload that wants one of those chunks at that moment waits on the row lock and,
 * once the row is gone, writes the bytes again; a commit that wants one finds it missing and
 * re-checks the store (see adjustChunkRefs). Safe to run on several workers at once.
 */
export async function collectGarbage(
  prisma: DbClient,
  store: ChunkStore,
  options: GcOptions,
): Promise<GcResult> {
  const batchSize = options.batchSize ?? 200;
  const result: GcResult = { chunksDeleted: 0, bytesFreed: 0, tempFilesRemoved: 0 };
  for (;;) {
    options.signal?.throwIfAborted();
    const n = await inTx(prisma, async (tx) => {
      const rows = await tx.$queryRawUnsafe<{ tenant_id: string; hash: string; size: number }[]>(
        `SELECT tenant_id, hash, size FROM chunks
          WHERE ref_count = 0 AND touched_at < now() - make_interval(secs => $1::float8 / 1000)
          ORDER BY touched_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        options.graceMs,
        batchSize,
      );
      if (rows.length === 0) return 0;
      await runLimited(rows, options.deleteConcurrency ?? 8, (r) =>
        store.delete(r.tenant_id, r.hash),
      );
      await tx.$executeRawUnsafe(
        `DELETE FROM chunks c USING unnest($1::text[], $2::text[]) AS d(t, h)
          WHERE c.tenant_id = d.t AND c.hash = d.h AND c.ref_count = 0`,
        rows.map((r) => r.tenant_id),
        rows.map((r) => r.hash),
      );
      result.chunksDeleted += rows.length;
      result.bytesFreed += rows.reduce((s, r) => s + r.size, 0);
      return rows.length;
    });
    if (n < batchSize) break;
  }
  if (store.sweepTemp) result.tempFilesRemoved = await store.sweepTemp(options.graceMs);
  return result;
}

/**
 * Finds stored chunks the database has no row for (e.g. restored from a backup, or left by a bug)
 * and hands them to the GC as unreferenced chunks, aged by their store timestamp. A concurrent
 * upload of the same chunk touches the row and keeps it.
 */
export async function adoptOrphanChunks(
  prisma: DbClient,
  store: ChunkStore,
  options: { tenantId?: string; signal?: AbortSignal } = {},
): Promise<number> {
  let adopted = 0;
  let batch: { tenantId: string; hash: string; size: number; modifiedAt: Date }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    adopted += await prisma.$executeRawUnsafe(
      `INSERT INTO chunks (tenant_id, hash, size, ref_count, touched_at)
       SELECT t, h, s, 0, m FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[])
         AS o(t, h, s, m)
       ON CONFLICT (tenant_id, hash) DO NOTHING`,
      batch.map((b) => b.tenantId),
      batch.map((b) => b.hash),
      batch.map((b) => b.size),
      batch.map((b) => b.modifiedAt),
    );
    batch = [];
  };
  for await (const c of store.list(options.tenantId)) {
    options.signal?.throwIfAborted();
    batch.push(c);
    if (batch.length >= 500) await flush();
  }
  await flush();
  return adopted;
}

async function runLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
