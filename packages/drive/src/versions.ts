import { newId } from '@scaidrive/core';
import type { ChunkStore } from './chunk-store/types.js';
import { adjustChunkRefs, type ChunkDelta } from './chunk-refs.js';
import type { Db } from './db.js';

export interface VersionRecord {
  id: string;
  tenantId: string;
  nodeId: string;
  versionNumber: number;
  size: number;
  sha256: string;
  chunkSize: number;
  modifiedAt: Date;
  createdBy: string | null;
  createdAt: Date;
  origin: string | null;
}

export interface StoredContent {
  size: number;
  /** Whole-content SHA-256, lowercase hex. */
  sha256: string;
  chunkSize: number;
  chunks: { hash: string; size: number }[];
}

const VERSION_COLUMNS = `id, tenant_id AS "tenantId", node_id AS "nodeId",
  version_number AS "versionNumber", size, sha256, chunk_size AS "chunkSize",
  modified_at AS "modifiedAt", created_by AS "createdBy", created_at AS "createdAt", origin`;

type RawVersion = Omit<VersionRecord, 'size'> & { size: bigint };
const toVersion = (r: RawVersion): VersionRecord => ({ ...r, size: Number(r.size) });

/** Inserts a version row, its chunk list and the chunk references (inside the caller's tx). */
export async function insertVersion(
  tx: Db,
  store: ChunkStore,
  graceMs: number,
  args: {
    tenantId: string;
    nodeId: string;
    versionNumber: number;
    content: StoredContent;
    modifiedAt: Date;
    createdBy?: string | null;
    origin?: string | null;
  },
): Promise<string> {
  const id = newId('ver');
  const { content } = args;
  await tx.$executeRawUnsafe(
    `INSERT INTO file_versions (id, tenant_id, node_id, version_number, size, sha256, chunk_size,
                                modified_at, created_by, origin)
     VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8::timestamptz, $9, $10)`,
    id,
    args.tenantId,
    args.nodeId,
    args.versionNumber,
    content.size,
    content.sha256,
    content.chunkSize,
    args.modifiedAt,
    args.createdBy ?? null,
    args.origin ?? null,
  );
  const deltas = new Map<string, ChunkDelta>();
  for (const c of content.chunks) {
    const d = deltas.get(c.hash);
    if (d) d.delta++;
    else deltas.set(c.hash, { delta: 1, size: c.size });
  }
  await adjustChunkRefs(tx, store, args.tenantId, deltas, graceMs);
  // In slices: a 1 TiB file has 262,144 chunks.
  for (let i = 0; i < content.chunks.length; i += 10_000) {
    const slice = content.chunks.slice(i, i + 10_000);
    await tx.$executeRawUnsafe(
      `INSERT INTO version_chunks (version_id, idx, tenant_id, hash, size)
       SELECT $1, $2::int + ord::int - 1, $3, h, s
         FROM unnest($4::text[], $5::int[]) WITH ORDINALITY AS c(h, s, ord)`,
      id,
      i,
      args.tenantId,
      slice.map((c) => c.hash),
      slice.map((c) => c.size),
    );
  }
  return id;
}

/**
 * Deletes versions and drops their chunk references (chunks nobody else references become
 * garbage after the grace period). Returns the bytes the versions accounted for.
 */
export async function releaseVersions(
  tx: Db,
  store: ChunkStore,
  graceMs: number,
  tenantId: string,
  versionIds: readonly string[],
): Promise<number> {
  if (versionIds.length === 0) return 0;
  const refs = await tx.$queryRawUnsafe<{ hash: string; n: bigint; size: number }[]>(
    `SELECT hash, count(*) AS n, max(size) AS size FROM version_chunks
      WHERE version_id = ANY($1::text[]) GROUP BY hash`,
    versionIds,
  );
  const deltas = new Map<string, ChunkDelta>(
    refs.map((r) => [r.hash, { delta: -Number(r.n), size: r.size }]),
  );
  await adjustChunkRefs(tx, store, tenantId, deltas, graceMs);
  const deleted = await tx.$queryRawUnsafe<{ total: bigint | null }[]>(
    `WITH d AS (DELETE FROM file_versions WHERE id = ANY($1::text[]) AND tenant_id = $2
                RETURNING size)
     SELECT sum(size)::bigint AS total FROM d`,
    versionIds,
    tenantId,
  );
  return Number(deleted[0]?.total ?? 0);
}

/**
 * Keeps the newest `keep` versions of a file (the current one always stays) and releases the rest.
 * Returns the bytes freed.
 */
export async function pruneVersions(
  tx: Db,
  store: ChunkStore,
  graceMs: number,
  args: { tenantId: string; nodeId: string; currentVersionId: string | null; keep: number },
): Promise<number> {
  const old = await tx.$queryRawUnsafe<{ id: string }[]>(
    `SELECT id FROM file_versions WHERE node_id = $1 AND tenant_id = $2 AND id IS DISTINCT FROM $3
      ORDER BY version_number DESC OFFSET $4`,
    args.nodeId,
    args.tenantId,
    args.currentVersionId,
    Math.max(0, args.keep - 1),
  );
  return releaseVersions(
    tx,
    store,
    graceMs,
    args.tenantId,
    old.map((r) => r.id),
  );
}

export async function listVersions(
  db: Db,
  tenantId: string,
  nodeId: string,
  page: { limit?: number; offset?: number } = {},
): Promise<{ versions: VersionRecord[]; total: number }> {
  const rows = await db.$queryRawUnsafe<RawVersion[]>(
    `SELECT ${VERSION_COLUMNS} FROM file_versions WHERE node_id = $1 AND tenant_id = $2
      ORDER BY version_number DESC LIMIT $3 OFFSET $4`,
    nodeId,
    tenantId,
    page.limit ?? 1000,
    page.offset ?? 0,
  );
  const count = await db.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM file_versions WHERE node_id = $1 AND tenant_id = $2`,
    nodeId,
    tenantId,
  );
  return { versions: rows.map(toVersion), total: Number(count[0]?.n ?? 0) };
}

export async function findVersion(
  db: Db,
  tenantId: string,
  where: { nodeId: string; versionNumber: number } | { versionId: string },
): Promise<VersionRecord | null> {
  const rows =
    'versionId' in where
      ? await db.$queryRawUnsafe<RawVersion[]>(
          `SELECT ${VERSION_COLUMNS} FROM file_versions WHERE id = $1 AND tenant_id = $2`,
          where.versionId,
          tenantId,
        )
      : await db.$queryRawUnsafe<RawVersion[]>(
          `SELECT ${VERSION_COLUMNS} FROM file_versions
            WHERE node_id = $1 AND version_number = $2 AND tenant_id = $3`,
          where.nodeId,
          where.versionNumber,
          tenantId,
        );
  return rows[0] ? toVersion(rows[0]) : null;
}

/** A page of a version's chunk list, in order. */
export async function versionChunks(
  db: Db,
  versionId: string,
  fromIdx: number,
  limit: number,
): Promise<{ idx: number; hash: string; size: number }[]> {
  return db.$queryRawUnsafe(
    `SELECT idx, hash, size FROM version_chunks WHERE version_id = $1 AND idx >= $2
      ORDER BY idx LIMIT $3`,
    versionId,
    fromIdx,
    limit,
  );
}
