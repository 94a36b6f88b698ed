import { AppError, ErrorCode } from '@scaidrive/core';
import type { ChunkStore } from './chunk-store/types.js';
import type { Db } from './db.js';

export interface ChunkDelta {
  /** References to add (positive) or drop (negative). */
  delta: number;
  size: number;
}

/**
 * Adjusts reference counts inside the caller's transaction. Rows are locked in hash order (no
 * deadlocks between two commits sharing chunks). A count that drops to 0 restarts the chunk's grace
 * period (`touched_at`), so readers that opened the old version finish before GC may take it.
 *
 * For chunks gaining references, GC safety is re-checked under the row lock: GC only takes rows at
 * ref_count 0 whose `touched_at` is older than the grace period, so a row that is missing or stale
 * here may have lost its bytes; those are verified in the store. A chunk whose bytes are gone fails
 * the commit (retryable: the upload runs again), a row whose bytes are there is re-created.
 */
export async function adjustChunkRefs(
  tx: Db,
  store: ChunkStore,
  tenantId: string,
  deltas: Map<string, ChunkDelta>,
  graceMs: number,
): Promise<void> {
  const entries = sortedDeltas(deltas);
  if (entries.length === 0) return;
  const rows = await tx.$queryRawUnsafe<{ hash: string; done: boolean }[]>(
    `WITH ${CHUNK_REFS_CTES}
     SELECT l.hash, u.hash IS NOT NULL AS done FROM l LEFT JOIN u ON u.hash = l.hash`,
    tenantId,
    entries.map(([h]) => h),
    entries.map(([, d]) => d.delta),
    graceMs,
  );
  await finishChunkRefs(
    tx,
    store,
    tenantId,
    entries,
    new Set(rows.map((r) => r.hash)),
    new Set(rows.filter((r) => r.done).map((r) => r.hash)),
  );
}

/** The non-zero deltas in hash order (the lock order). */
export function sortedDeltas(deltas: Map<string, ChunkDelta>): [string, ChunkDelta][] {
  const entries = [...deltas.entries()].filter(([, d]) => d.delta !== 0);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries;
}

/**
 * The common case of `adjustChunkRefs` as CTEs (`d`, `l`, `u`) for one statement, parameters $1
 * tenant, $2 hashes (sorted), $3 deltas, $4 grace (ms): `l` locks the existing rows in hash order,
 * `u` applies every delta whose row needs no check — fresh rows, and all releases. Rows left out
 * of `u` (stale rows gaining references) and hashes without a row go to `finishChunkRefs`.
 */
export const CHUNK_REFS_CTES = `
  d AS (SELECT * FROM unnest($2::text[], $3::int[]) AS d(hash, n)),
  l AS (SELECT c.hash, c.touched_at < now() - make_interval(secs => $4::float8 / 1000) AS stale
          FROM chunks c WHERE c.tenant_id = $1 AND c.hash = ANY($2::text[])
         ORDER BY c.hash FOR UPDATE),
  u AS (UPDATE chunks c SET ref_count = GREATEST(c.ref_count + d.n, 0), touched_at = now()
          FROM l JOIN d ON d.hash = l.hash
         WHERE c.tenant_id = $1 AND c.hash = l.hash AND (NOT l.stale OR d.n < 0)
     RETURNING c.hash)`;

/**
 * The rest of `adjustChunkRefs` after `CHUNK_REFS_CTES` ran: `present` = hashes with a row (now
 * locked), `done` = deltas applied. Stale or missing rows gaining references may have lost their
 * bytes to GC: they are verified in the store (gone → a retryable error), missing rows are
 * re-created, then their deltas applied.
 */
export async function finishChunkRefs(
  tx: Db,
  store: ChunkStore,
  tenantId: string,
  entries: readonly [string, ChunkDelta][],
  present: ReadonlySet<string>,
  done: ReadonlySet<string>,
): Promise<void> {
  const missing: [string, ChunkDelta][] = [];
  const rest: [string, ChunkDelta][] = [];
  for (const [hash, d] of entries) {
    // Releases are always applied (or have no row to apply to).
    if (done.has(hash) || d.delta < 0) continue;
    if (!(await store.has(tenantId, hash)))
      throw new AppError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'A content chunk was garbage-collected before the upload committed; upload again',
        { action: 'retry' },
      );
    if (!present.has(hash)) missing.push([hash, d]);
    rest.push([hash, d]);
  }
  if (missing.length > 0) {
    await tx.$executeRawUnsafe(
      `INSERT INTO chunks (tenant_id, hash, size, ref_count, touched_at)
       SELECT $1, h, s, 0, now() FROM unnest($2::text[], $3::int[]) AS m(h, s)
       ON CONFLICT (tenant_id, hash) DO UPDATE SET touched_at = now()`,
      tenantId,
      missing.map(([h]) => h),
      missing.map(([, d]) => d.size),
    );
  }
  if (rest.length > 0)
    await tx.$executeRawUnsafe(
      `UPDATE chunks c SET ref_count = GREATEST(c.ref_count + d.n, 0), touched_at = now()
         FROM unnest($2::text[], $3::int[]) AS d(hash, n)
        WHERE c.tenant_id = $1 AND c.hash = d.hash`,
      tenantId,
      rest.map(([h]) => h),
      rest.map(([, d]) => d.delta),
    );
}

/** A chunk an upload uses: its tenant, hash and size. */
interface TouchEntry {
  tenantId: string;
  hash: string;
  size: number;
}

/**
 * Records that uploads are using these chunks (`touched_at = now()`), creating rows as needed, in
 * one autocommit statement (rows locked in (tenant, hash) order). Runs outside any transaction,
 * before the bytes are written: GC never takes a freshly touched row. Returns the `tenant/hash`
 * keys whose rows this created (their bytes are almost certainly not stored yet).
 */
async function touchRows(db: Db, entries: readonly TouchEntry[]): Promise<Set<string>> {
  const unique = new Map<string, TouchEntry>();
  for (const e of entries) unique.set(`${e.tenantId}/${e.hash}`, e);
  if (unique.size === 0) return new Set();
  const sorted = [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const rows = await db.$queryRawUnsafe<{ tenant_id: string; hash: string }[]>(
    `INSERT INTO chunks (tenant_id, hash, size, ref_count, touched_at)
     SELECT t, h, s, 0, now() FROM unnest($1::text[], $2::text[], $3::int[]) AS m(t, h, s)
     ON CONFLICT (tenant_id, hash) DO UPDATE SET touched_at = now()
     RETURNING tenant_id, hash, (xmax = 0) AS created`,
    sorted.map(([, e]) => e.tenantId),
    sorted.map(([, e]) => e.hash),
    sorted.map(([, e]) => e.size),
  );
  const created = new Set<string>();
  for (const r of rows as { tenant_id: string; hash: string; created: boolean }[])
    if (r.created) created.add(`${r.tenant_id}/${r.hash}`);
  return created;
}

/** Touches chunks of one tenant (see `touchRows`); returns the hashes whose rows it created. */
export type ChunkToucher = (
  tenantId: string,
  chunks: readonly { hash: string; size: number }[],
) => Promise<Set<string>>;

const MAX_TOUCH_BATCH = 1000;

/**
 * A `ChunkToucher` that sends the touches of concurrent uploads together: while one statement is
 * in flight, later touches wait and go as one statement when it returns (no waiting when nothing
 * is in flight). Fewer round trips and fewer WAL flushes when many small files are written at once.
 */
export function batchingToucher(db: Db): ChunkToucher {
  const queue: {
    entries: TouchEntry[];
    done: (created: Set<string>) => void;
    fail: (e: unknown) => void;
  }[] = [];
  let inFlight = false;
  const pump = (): void => {
    if (inFlight || queue.length === 0) return;
    const batch: typeof queue = [];
    let n = 0;
    while (
      queue.length > 0 &&
      (batch.length === 0 || n + queue[0]!.entries.length <= MAX_TOUCH_BATCH)
    ) {
      const next = queue.shift()!;
      n += next.entries.length;
      batch.push(next);
    }
    inFlight = true;
    touchRows(
      db,
      batch.flatMap((b) => b.entries),
    )
      .then(
        (created) => {
          for (const b of batch) {
            const mine = new Set<string>();
            for (const e of b.entries) if (created.has(`${e.tenantId}/${e.hash}`)) mine.add(e.hash);
            b.done(mine);
          }
        },
        (err: unknown) => {
          for (const b of batch) b.fail(err);
        },
      )
      .finally(() => {
        inFlight = false;
        pump();
      });
  };
  return (tenantId, chunks) =>
    new Promise<Set<string>>((done, fail) => {
      queue.push({
        entries: chunks.map((c) => ({ tenantId, hash: c.hash, size: c.size })),
        done,
        fail,
      });
      pump();
    });
}
