import type { Db } from './db.js';
import { ItemNotFoundError } from './errors.js';

/** A folder or file row of the share tree. */
export interface NodeRecord {
  id: string;
  tenantId: string;
  shareId: string;
  parentId: string | null;
  kind: 'folder' | 'file';
  name: string;
  nameKey: string;
  liveNameKey: string | null;
  size: number;
  sha256: string | null;
  mimeType: string | null;
  /** Current version number of a file (0 for folders and never-written files). */
  version: number;
  currentVersionId: string | null;
  modifiedAt: Date;
  revision: number;
  inheritAcl: boolean;
  metadata: Record<string, unknown> | null;
  createdBy: string | null;
  modifiedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  deletedBy: string | null;
  trashRoot: boolean;
}

export interface ShareRecord {
  id: string;
  tenantId: string;
  rootNodeId: string;
  deletedAt: Date | null;
  quotaBytes: number | null;
  usedBytes: number;
}

/** Column list of `nodes` with camelCase aliases, optionally qualified by a table alias. */
export function nodeColumns(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return [
    `${a}id`,
    `${a}tenant_id AS "tenantId"`,
    `${a}share_id AS "shareId"`,
    `${a}parent_id AS "parentId"`,
    `${a}kind`,
    `${a}name`,
    `${a}name_key AS "nameKey"`,
    `${a}live_name_key AS "liveNameKey"`,
    `${a}size`,
    `${a}sha256`,
    `${a}mime_type AS "mimeType"`,
    `${a}version`,
    `${a}current_version_id AS "currentVersionId"`,
    `${a}modified_at AS "modifiedAt"`,
    `${a}revision`,
    `${a}inherit_acl AS "inheritAcl"`,
    `${a}metadata`,
    `${a}created_by AS "createdBy"`,
    `${a}modified_by AS "modifiedBy"`,
    `${a}created_at AS "createdAt"`,
    `${a}updated_at AS "updatedAt"`,
    `${a}deleted_at AS "deletedAt"`,
    `${a}deleted_by AS "deletedBy"`,
    `${a}trash_root AS "trashRoot"`,
  ].join(', ');
}

type RawNode = Omit<NodeRecord, 'size'> & { size: bigint | number };

export function toNode(row: RawNode): NodeRecord {
  return { ...row, size: Number(row.size) };
}

export function toNodes(rows: RawNode[]): NodeRecord[] {
  return rows.map(toNode);
}

export async function findNode(
  db: Db,
  tenantId: string,
  nodeId: string,
  options: { forUpdate?: boolean } = {},
): Promise<NodeRecord | null> {
  const rows = await db.$queryRawUnsafe<RawNode[]>(
    `SELECT ${nodeColumns()} FROM nodes WHERE id = $1 AND tenant_id = $2${
      options.forUpdate ? ' FOR UPDATE' : ''
    }`,
    nodeId,
    tenantId,
  );
  return rows[0] ? toNode(rows[0]) : null;
}

export async function getNode(
  db: Db,
  tenantId: string,
  nodeId: string,
  options: { forUpdate?: boolean } = {},
): Promise<NodeRecord> {
  const node = await findNode(db, tenantId, nodeId, options);
  if (!node) throw new ItemNotFoundError(nodeId.startsWith('fil_') ? 'File' : 'Folder');
  return node;
}

/** The share (live or deleted) in the tenant, or an ItemNotFoundError. */
export async function loadShare(
  db: Db,
  tenantId: string,
  shareId: string,
  options: { allowDeleted?: boolean } = {},
): Promise<ShareRecord> {
  const rows = await db.$queryRawUnsafe<
    {
      id: string;
      tenantId: string;
      rootNodeId: string | null;
      deletedAt: Date | null;
      quotaBytes: bigint | null;
      usedBytes: bigint;
    }[]
  >(
    `SELECT id, tenant_id AS "tenantId", root_node_id AS "rootNodeId", deleted_at AS "deletedAt",
            quota_bytes AS "quotaBytes", used_bytes AS "usedBytes"
       FROM shares WHERE id = $1 AND tenant_id = $2`,
    shareId,
    tenantId,
  );
  const s = rows[0];
  if (!s || !s.rootNodeId || (s.deletedAt && !options.allowDeleted))
    throw new ItemNotFoundError('Share');
  return {
    id: s.id,
    tenantId: s.tenantId,
    rootNodeId: s.rootNodeId,
    deletedAt: s.deletedAt,
    quotaBytes: s.quotaBytes === null ? null : Number(s.quotaBytes),
    usedBytes: Number(s.usedBytes),
  };
}

/** Share-relative path of a node (`/` for the root, `/a/b` below it), ignoring trash state. */
export async function pathOf(db: Db, nodeId: string): Promise<string> {
  const rows = await db.$queryRawUnsafe<{ path: string | null }[]>(
    `WITH RECURSIVE up AS (
       SELECT id, parent_id, name, 0 AS d FROM nodes WHERE id = $1
       UNION ALL
       SELECT n.id, n.parent_id, n.name, up.d + 1 FROM nodes n JOIN up ON n.id = up.parent_id
        WHERE up.d < 100000)
     SELECT string_agg(name, '/' ORDER BY d DESC) AS path FROM up WHERE parent_id IS NOT NULL`,
    nodeId,
  );
  return '/' + (rows[0]?.path ?? '');
}
