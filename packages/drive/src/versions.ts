import { newId } from '@scaidrive/core';
import type { ChunkStore } from './chunk-store/types.js';
import { adjustChunkRefs, type ChunkDelta } from './chunk-refs.js';
import type { Db } from './db.js';
import { nodeColumns, toNode, type NodeRecord } from './nodes.js';

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

/** Version columns aliased `v_<field>` (for statements that return a node and a version). */
export const PREFIXED_VERSION_COLUMNS = `v.id AS "v_id", v.tenant_id AS "v_tenantId",
  v.node_id AS "v_nodeId", v.version_number AS "v_versionNumber", v.size AS "v_size",
  v.sha256 AS "v_sha256", v.chunk_size AS "v_chunkSize", v.modified_at AS "v_modifiedAt",
  v.created_by AS "v_createdBy", v.created_at AS "v_createdAt", v.origin AS "v_origin"`;
const VERSION_FIELDS = [
  'id',
  'tenantId',
  'nodeId',
  'versionNumber',
  'size',
  'sha256',
  'chunkSize',
  'modifiedAt',
  'createdBy',
  'createdAt',
  'origin',
] as const;

/** Chunk list rows written in the version's own statement (longer lists go in slices after). */
export const INLINE_CHUNK_ROWS = 10_000;

/**
 * Writes a new current version of a file in one statement (inside the caller's transaction, the
 * file row locked by it): the version row, its chunk list, and the file row — inserted when
 * `existingId` is null (a new file, revision 2 as if inserted then updated), updated otherwise.
 * Chunk references are NOT adjusted here (the caller does, after, in hash order).
 */
export async function writeFileVersion(
  tx: Db,
  args: {
    tenantId: string;
    existingId: string | null;
    /** For a new file: its share, folder and name. */
    create?: { shareId: string; parentId: string; name: string; nameKey: string };
    versionNumber: number;
    content: StoredContent;
    modifiedAt: Date;
    mimeType: string | null;
    actorUserId: string | null;
  },
): Promise<{ node: NodeRecord; version: VersionRecord }> {
  const versionId = newId('ver');
  const nodeId = args.existingId ?? newId('fil');
  const { content } = args;
  const inline = content.chunks.slice(0, INLINE_CHUNK_ROWS);
  const params: unknown[] = [
    versionId,
    args.tenantId,
    nodeId,
    args.versionNumber,
    content.size,
    content.sha256,
    content.chunkSize,
    args.modifiedAt,
    args.actorUserId,
    inline.map((c) => c.hash),
    inline.map((c) => c.size),
    args.mimeType,
  ];
  let nodeCte: string;
  if (args.existingId) {
    nodeCte = `UPDATE nodes SET size = $5::bigint, sha256 = $6, version = $4,
                      current_version_id = $1, modified_at = $8::timestamptz,
                      mime_type = COALESCE($12, mime_type), revision = revision + 1,
                      modified_by = $9, updated_at = now()
                WHERE id = $3 RETURNING ${nodeColumns()}`;
  } else {
    const c = args.create!;
    params.push(c.shareId, c.parentId, c.name, c.nameKey);
    nodeCte = `INSERT INTO nodes (id, tenant_id, share_id, parent_id, kind, name, name_key,
                                  live_name_key, created_by, modified_by, updated_at, size, sha256,
                                  version, current_version_id, modified_at, mime_type, revision)
               VALUES ($3, $2, $13, $14, 'file', $15, $16, $16, $9, $9, now(), $5::bigint, $6, $4,
                       $1, $8::timestamptz, $12, 2)
               RETURNING ${nodeColumns()}`;
  }
  const rows = await tx.$queryRawUnsafe<Record<string, unknown>[]>(
    `WITH n AS (${nodeCte}),
          v AS (INSERT INTO file_versions (id, tenant_id, node_id, version_number, size, sha256,
                                           chunk_size, modified_at, created_by)
                VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8::timestamptz, $9) RETURNING *),
          vc AS (INSERT INTO version_chunks (version_id, idx, tenant_id, hash, size)
                 SELECT $1, ord::int - 1, $2, h, s
                   FROM unnest($10::text[], $11::int[]) WITH ORDINALITY AS c(h, s, ord))
     SELECT n.*, ${PREFIXED_VERSION_COLUMNS} FROM n, v`,
    ...params,
  );
  const { node, version } = splitNodeAndVersion(rows[0]!);
  await insertMoreChunkRows(tx, versionId, args.tenantId, content);
  return { node, version };
}

/** A row of node columns plus `PREFIXED_VERSION_COLUMNS`, taken apart. */
export function splitNodeAndVersion(row: Record<string, unknown>): {
  node: NodeRecord;
  version: VersionRecord;
} {
  const version = {} as Record<string, unknown>;
  for (const f of VERSION_FIELDS) {
    version[f] = row[`v_${f}`];
    delete row[`v_${f}`];
  }
  return {
    node: toNode(row as unknown as NodeRecord),
    version: toVersion(version as unknown as RawVersion),
  };
}

/** The chunk list rows beyond the first `INLINE_CHUNK_ROWS` (huge files), in slices. */
export async function insertMoreChunkRows(
  tx: Db,
  versionId: string,
  tenantId: string,
  content: StoredContent,
): Promise<void> {
  for (let i = INLINE_CHUNK_ROWS; i < content.chunks.length; i += INLINE_CHUNK_ROWS)
    await insertChunkRows(tx, versionId, tenantId, i, content.chunks);
}

async function insertChunkRows(
  tx: Db,
  versionId: string,
  tenantId: string,
  from: number,
  chunks: StoredContent['chunks'],
): Promise<void> {
  const slice = chunks.slice(from, from + INLINE_CHUNK_ROWS);
  await tx.$executeRawUnsafe(
    `INSERT INTO version_chunks (version_id, idx, tenant_id, hash, size)
     SELECT $1, $2::int + ord::int - 1, $3, h, s
       FROM unnest($4::text[], $5::int[]) WITH ORDINALITY AS c(h, s, ord)`,
    versionId,
    from,
    tenantId,
    slice.map((c) => c.hash),
    slice.map((c) => c.size),
  );
}

/** The reference changes a version's chunk list makes (+1 per occurrence). */
export function chunkDeltas(content: StoredContent): Map<string, ChunkDelta> {
  const deltas = new Map<string, ChunkDelta>();
  for (const c of content.chunks) {
    const d = deltas.get(c.hash);
    if (d) d.delta++;
    else deltas.set(c.hash, { delta: 1, size: c.size });
  }
  return deltas;
}

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
