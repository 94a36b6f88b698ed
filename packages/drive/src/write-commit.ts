import { newId } from '@scaidrive/core';
import { CHUNK_REFS_CTES, type ChunkDelta } from './chunk-refs.js';
import {
  changeRowsJson,
  shareChangeCtes,
  type Actor,
  type ChangeInput,
  type ShareChangeRow,
} from './change-feed.js';
import type { Db } from './db.js';
import { nodeColumns, type NodeRecord } from './nodes.js';
import {
  INLINE_CHUNK_ROWS,
  PREFIXED_VERSION_COLUMNS,
  splitNodeAndVersion,
  type StoredContent,
  type VersionRecord,
} from './versions.js';

/*
 * The write path's transaction in two statements (plus BEGIN/COMMIT) when nothing unusual happens:
 *
 * 1. `writeIntoSlot`: walk the folder path from the share root and lock it (FOR KEY SHARE,
 *    top-down), lock the item with the file's name FOR UPDATE, check it (a file; ifMatch), and —
 *    only when the checks pass — insert or update the file row, insert the version and its chunk
 *    list. The writes read from the locked rows, so they happen after the locks (the protocol's
 *    order: ancestors, item, then a new name's unique-index entry).
 * 2. `refsAndShareChange`: lock the chunk rows in hash order and take the new references (fresh
 *    rows only), count the file's other versions (a new statement: it sees every version committed
 *    before our lock), and — when every reference was taken and nothing is to be pruned — update
 *    the share row (usage, quota) and append the change. The share update is gated on the chunk
 *    updates, so the share row is locked last, as everywhere.
 *
 * Anything else — a folder to create, a folder moved meanwhile, a stale chunk row, versions to
 * prune — leaves the rest of the work to the general steps, in the same transaction.
 */

const slotQueries = new Map<number, string>();

/** `writeIntoSlot`'s statement for a folder `depth` levels below the share root. */
function slotWriteQuery(depth: number): string {
  let sql = slotQueries.get(depth);
  if (sql) return sql;
  const cols = ['s.id AS slot_share'];
  const joins: string[] = [];
  let parent = 's.root_node_id';
  for (let i = 1; i <= depth; i++) {
    cols.push(`n${i}.name AS slot_name${i}`);
    joins.push(
      `JOIN nodes n${i} ON n${i}.share_id = s.id AND n${i}.parent_id = ${parent}
                       AND n${i}.live_name_key = $${16 + i} AND n${i}.kind = 'folder'`,
    );
    parent = `n${i}.id`;
  }
  cols.push(`${parent} AS slot_folder`);
  const lock =
    depth > 0
      ? `FOR KEY SHARE OF ${Array.from({ length: depth }, (_, i) => `n${i + 1}`).join(', ')}`
      : '';
  // $1 share, $2 tenant, $3 name key, $4 new file id, $5 version id, $6 size, $7 sha256,
  // $8 chunk size, $9 modified at, $10 actor, $11 chunk hashes, $12 chunk sizes, $13 mime type,
  // $14 name, $15 ifMatch mode (0 none, 1 must not exist, 2 version = $16), $16 version text,
  // $17… folder keys.
  sql = `WITH chain AS MATERIALIZED (
      SELECT ${cols.join(', ')} FROM shares s ${joins.join(' ')}
       WHERE s.id = $1 AND s.tenant_id = $2 AND s.deleted_at IS NULL AND s.root_node_id IS NOT NULL
       ${lock}),
    f AS MATERIALIZED (
      SELECT x.* FROM chain, LATERAL (
        SELECT y.id, y.kind, y.name, y.version FROM nodes y
         WHERE y.share_id = chain.slot_share AND y.parent_id = chain.slot_folder
           AND y.live_name_key = $3
           FOR UPDATE OF y) x),
    ok AS MATERIALIZED (
      SELECT chain.slot_share, chain.slot_folder, f.id AS item, COALESCE(f.version, 0) + 1 AS vno
        FROM chain LEFT JOIN f ON true
       WHERE (f.id IS NULL OR f.kind = 'file')
         AND ($15::int = 0 OR ($15::int = 1 AND f.id IS NULL)
              OR ($15::int = 2 AND f.id IS NOT NULL AND f.version::text = $16::text))),
    ins AS (
      INSERT INTO nodes (id, tenant_id, share_id, parent_id, kind, name, name_key, live_name_key,
                         created_by, modified_by, updated_at, size, sha256, version,
                         current_version_id, modified_at, mime_type, revision)
      SELECT $4, $2, ok.slot_share, ok.slot_folder, 'file', $14, $3, $3, $10, $10, now(),
             $6::bigint, $7, 1, $5, $9::timestamptz, $13, 2
        FROM ok WHERE ok.item IS NULL
      RETURNING ${nodeColumns()}),
    upd AS (
      UPDATE nodes y SET size = $6::bigint, sha256 = $7, version = ok.vno, current_version_id = $5,
             modified_at = $9::timestamptz, mime_type = COALESCE($13, y.mime_type),
             revision = y.revision + 1, modified_by = $10, updated_at = now()
        FROM ok WHERE y.id = ok.item
      RETURNING ${nodeColumns('y')}),
    v AS (
      INSERT INTO file_versions (id, tenant_id, node_id, version_number, size, sha256, chunk_size,
                                 modified_at, created_by)
      SELECT $5, $2, COALESCE(ok.item, $4), ok.vno, $6::bigint, $7, $8::int, $9::timestamptz, $10
        FROM ok
      RETURNING *),
    vc AS (
      INSERT INTO version_chunks (version_id, idx, tenant_id, hash, size)
      SELECT $5, c.ord::int - 1, $2, c.h, c.s
        FROM ok, unnest($11::text[], $12::int[]) WITH ORDINALITY AS c(h, s, ord))
    SELECT chain.*, f.id AS item_id, f.kind AS item_kind, f.name AS item_name,
           f.version AS item_version, w.*, ${PREFIXED_VERSION_COLUMNS}
      FROM chain LEFT JOIN f ON true
      LEFT JOIN (SELECT * FROM ins UNION ALL SELECT * FROM upd) w ON true
      LEFT JOIN v ON true`;
  slotQueries.set(depth, sql);
  return sql;
}

export type SlotWrite =
  /** The folder path is not there as live folders (or moved meanwhile): take the general path. */
  | { kind: 'no-slot' }
  /** The checks failed; nothing was written. `item` is what holds the name (locked). */
  | {
      kind: 'refused';
      item: Pick<NodeRecord, 'id' | 'kind' | 'name' | 'version'> | null;
    }
  | {
      kind: 'written';
      shareId: string;
      folderId: string;
      /** Folder names from the share root down, as stored. */
      spelled: string[];
      created: boolean;
      node: NodeRecord;
      version: VersionRecord;
    };

/** Step 1 (see above). The caller checks `refused` answers with the same rules (ifMatch, kind). */
export async function writeIntoSlot(
  tx: Db,
  args: {
    tenantId: string;
    shareId: string;
    folderKeys: readonly string[];
    name: string;
    key: string;
    ifMatch: string | null | undefined;
    content: StoredContent;
    modifiedAt: Date;
    mimeType: string | null;
    actorUserId: string | null;
  },
): Promise<SlotWrite> {
  const { content } = args;
  const inline = content.chunks.slice(0, INLINE_CHUNK_ROWS);
  const versionId = newId('ver');
  const rows = await tx.$queryRawUnsafe<Record<string, unknown>[]>(
    slotWriteQuery(args.folderKeys.length),
    args.shareId,
    args.tenantId,
    args.key,
    newId('fil'),
    versionId,
    content.size,
    content.sha256,
    content.chunkSize,
    args.modifiedAt,
    args.actorUserId,
    inline.map((c) => c.hash),
    inline.map((c) => c.size),
    args.mimeType,
    args.name,
    args.ifMatch === undefined ? 0 : args.ifMatch === null ? 1 : 2,
    typeof args.ifMatch === 'string' ? args.ifMatch : null,
    ...args.folderKeys,
  );
  const row = rows[0];
  if (!row) return { kind: 'no-slot' };
  const item =
    row.item_id === null
      ? null
      : {
          id: row.item_id as string,
          kind: row.item_kind as NodeRecord['kind'],
          name: row.item_name as string,
          version: row.item_version as number,
        };
  if (row.id === null) return { kind: 'refused', item };
  const spelled: string[] = [];
  for (let i = 1; i <= args.folderKeys.length; i++) spelled.push(row[`slot_name${i}`] as string);
  const shareId = row.slot_share as string;
  const folderId = row.slot_folder as string;
  for (const k of Object.keys(row))
    if (k.startsWith('slot_') || k.startsWith('item_')) delete row[k];
  const { node, version } = splitNodeAndVersion(row);
  return { kind: 'written', shareId, folderId, spelled, created: item === null, node, version };
}

/**
 * Step 2 (see above): `deltas` sorted (hash order). Answers whether the share part ran
 * (`committed`, with the share's usage for the quota check); if not, which hashes have a row
 * (`present`, locked) and which references were taken (`done`), and how many other versions the
 * file has (`prior`), for the general steps to finish.
 */
export async function refsAndShareChange(
  tx: Db,
  args: {
    tenantId: string;
    shareId: string;
    deltas: readonly [string, ChunkDelta][];
    graceMs: number;
    nodeId: string;
    versionId: string;
    /** Other versions the file may keep (retention − 1) for this step to finish the commit. */
    keepOthers: number;
    bytesDelta: number;
    actor: Actor;
    changes: ChangeInput[];
  },
): Promise<{
  committed: ShareChangeRow | null;
  present: Set<string>;
  done: Set<string>;
  prior: number;
}> {
  const rows = await tx.$queryRawUnsafe<
    {
      prior: bigint;
      present: string[];
      done: string[];
      used_bytes: bigint | null;
      quota_bytes: bigint | null;
      committed: boolean;
    }[]
  >(
    `WITH ${CHUNK_REFS_CTES},
       prior AS (SELECT count(*) AS n FROM file_versions WHERE node_id = $5 AND id <> $6),
       go AS (SELECT 1 WHERE (SELECT count(*) FROM u) = $7 AND (SELECT n FROM prior) <= $8),
       ${shareChangeCtes({
         share: '$9',
         tenant: '$1',
         delta: '$10',
         user: '$11',
         origin: '$12',
         changes: '$13',
         gate: 'EXISTS (SELECT 1 FROM go)',
       })}
     SELECT (SELECT n FROM prior) AS prior, ARRAY(SELECT hash FROM l) AS present,
            ARRAY(SELECT hash FROM u) AS done, s.used_bytes, s.quota_bytes,
            s.used_bytes IS NOT NULL AS committed
       FROM (SELECT 1) AS one LEFT JOIN s ON true`,
    args.tenantId,
    args.deltas.map(([h]) => h),
    args.deltas.map(([, d]) => d.delta),
    args.graceMs,
    args.nodeId,
    args.versionId,
    args.deltas.length,
    args.keepOthers,
    args.shareId,
    args.bytesDelta,
    args.actor.userId ?? null,
    args.actor.origin ?? null,
    changeRowsJson(args.changes),
  );
  const r = rows[0]!;
  return {
    committed: r.committed ? { used_bytes: r.used_bytes!, quota_bytes: r.quota_bytes } : null,
    present: new Set(r.present),
    done: new Set(r.done),
    prior: Number(r.prior),
  };
}
