import { newId } from '@scaidrive/core';
import type { Db } from './db.js';
import { ItemNotFoundError, QuotaExceededError } from './errors.js';

export type ChangeType =
  | 'created'
  | 'updated'
  | 'deleted'
  | 'restored'
  | 'moved'
  | 'renamed'
  | 'acl_changed'
  | 'metadata_changed';

export interface ChangeInput {
  resourceType: 'file' | 'folder' | 'share';
  resourceId: string;
  changeType: ChangeType;
  oldPath?: string | null;
  newPath?: string | null;
  version?: number | null;
  versionId?: string | null;
  metadata?: { size: number; mime_type: string | null } | null;
}

/** Who made a change: the user (`usr_…`) and where it came from (`manual`, `connector:<cnn_id>`). */
export interface Actor {
  userId?: string | null;
  origin?: string | null;
}

export interface ChangeRecord {
  seq: bigint;
  id: string;
  tenantId: string;
  shareId: string;
  resourceType: 'file' | 'folder' | 'share';
  resourceId: string;
  changeType: ChangeType;
  oldPath: string | null;
  newPath: string | null;
  version: number | null;
  versionId: string | null;
  metadata: { size: number; mime_type: string | null } | null;
  changedBy: string | null;
  origin: string | null;
  changedAt: Date;
}

/**
 * The last step of every mutating transaction of a share: adjusts `used_bytes` (and enforces the
 * quota), then appends the change rows.
 *
 * The `UPDATE shares` row-locks the share until commit, so per share the change rows' `seq` values
 * are allocated in commit order: a reader that has seen seq N has seen every earlier change of that
 * share, and a cursor never skips a change that commits late. Callers take every other lock first
 * (nodes, then chunks) so the share row is always locked last and held only for the commit.
 */
export async function commitShareChange(
  tx: Db,
  args: {
    tenantId: string;
    shareId: string;
    bytesDelta?: number;
    actor: Actor;
    changes: ChangeInput[];
  },
): Promise<void> {
  const delta = args.bytesDelta ?? 0;
  // One statement: the share row is updated (and so locked) first; the change rows are selected
  // from its RETURNING row, so their seq values are drawn only once the lock is held. Over quota
  // nothing is inserted, and the error thrown below rolls the transaction back.
  const rows = await tx.$queryRawUnsafe<ShareChangeRow[]>(
    `WITH ${shareChangeCtes({ share: '$1', tenant: '$2', delta: '$3', user: '$4', origin: '$5', changes: '$6' })}
     SELECT used_bytes, quota_bytes FROM s`,
    args.shareId,
    args.tenantId,
    delta,
    args.actor.userId ?? null,
    args.actor.origin ?? null,
    changeRowsJson(args.changes),
  );
  const share = rows[0];
  if (!share) throw new ItemNotFoundError('Share');
  checkQuota(delta, share);
}

export interface ShareChangeRow {
  used_bytes: bigint;
  quota_bytes: bigint | null;
}

/**
 * `commitShareChange` as two CTEs (`s`: the share update, `ins`: the change rows drawn from it),
 * for statements that do more before it; the placeholders name the parameters. `gate`, when
 * given, is a condition the share update also needs (e.g. that earlier CTEs completed): the
 * update — and so the share lock — waits for it.
 */
export function shareChangeCtes(p: {
  share: string;
  tenant: string;
  delta: string;
  user: string;
  origin: string;
  changes: string;
  gate?: string;
}): string {
  return `
  s AS (UPDATE shares SET used_bytes = GREATEST(used_bytes + ${p.delta}::bigint, 0)
         WHERE id = ${p.share} AND tenant_id = ${p.tenant}${p.gate ? ` AND ${p.gate}` : ''}
     RETURNING used_bytes, quota_bytes),
  ins AS (INSERT INTO change_log (id, tenant_id, share_id, resource_type, resource_id,
                                  change_type, old_path, new_path, version, version_id,
                                  metadata, changed_by, origin)
          SELECT c.id, ${p.tenant}, ${p.share}, c.resource_type, c.resource_id, c.change_type,
                 c.old_path, c.new_path, c.version, c.version_id, c.metadata, ${p.user}, ${p.origin}
            FROM s, jsonb_to_recordset(${p.changes}::jsonb) AS c(id text, resource_type text,
                 resource_id text, change_type text, old_path text, new_path text,
                 version int, version_id text, metadata jsonb, ord int)
           WHERE ${p.delta}::bigint <= 0 OR s.quota_bytes IS NULL OR s.used_bytes <= s.quota_bytes
           ORDER BY c.ord)`;
}

/** The change rows as the JSON parameter of `shareChangeCtes` (ids assigned here). */
export function changeRowsJson(changes: readonly ChangeInput[]): string {
  return JSON.stringify(
    changes.map((c, ord) => ({
      id: newId('chg'),
      resource_type: c.resourceType,
      resource_id: c.resourceId,
      change_type: c.changeType,
      old_path: c.oldPath ?? null,
      new_path: c.newPath ?? null,
      version: c.version ?? null,
      version_id: c.versionId ?? null,
      metadata: c.metadata ?? null,
      ord,
    })),
  );
}

/** Throws QuotaExceededError when a change that adds bytes left the share over its quota. */
export function checkQuota(delta: number, share: ShareChangeRow): void {
  if (delta > 0 && share.quota_bytes !== null && share.used_bytes > share.quota_bytes) {
    throw new QuotaExceededError(
      `Share quota exceeded: ${share.quota_bytes} bytes allowed, this change needs ${
        share.used_bytes - share.quota_bytes
      } more`,
      { details: { quota_bytes: Number(share.quota_bytes) } },
    );
  }
}

const CHANGE_COLUMNS = `seq, id, tenant_id AS "tenantId", share_id AS "shareId",
  resource_type AS "resourceType", resource_id AS "resourceId", change_type AS "changeType",
  old_path AS "oldPath", new_path AS "newPath", version, version_id AS "versionId", metadata,
  changed_by AS "changedBy", origin, changed_at AS "changedAt"`;

/** Changes of one share after `cursor` (a seq; `0` = from the beginning), oldest first. */
export async function readChanges(
  db: Db,
  args: { tenantId: string; shareId: string; cursor: bigint; limit: number },
): Promise<ChangeRecord[]> {
  return db.$queryRawUnsafe<ChangeRecord[]>(
    `SELECT ${CHANGE_COLUMNS} FROM change_log
      WHERE tenant_id = $1 AND share_id = $2 AND seq > $3::bigint
      ORDER BY seq LIMIT $4`,
    args.tenantId,
    args.shareId,
    args.cursor,
    args.limit,
  );
}

/** The newest seq of the share (0 when it has no changes): a cursor for "now". */
export async function latestSeq(db: Db, tenantId: string, shareId: string): Promise<bigint> {
  const rows = await db.$queryRawUnsafe<{ seq: bigint | null }[]>(
    `SELECT max(seq) AS seq FROM change_log WHERE tenant_id = $1 AND share_id = $2`,
    tenantId,
    shareId,
  );
  return rows[0]?.seq ?? 0n;
}

/** Parses an opaque cursor string (`''` = the beginning); null when it is malformed. */
export function parseCursor(cursor: string | null | undefined): bigint | null {
  if (cursor === null || cursor === undefined || cursor === '') return 0n;
  if (!/^\d{1,19}$/.test(cursor)) return null;
  return BigInt(cursor);
}
