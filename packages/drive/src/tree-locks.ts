import { AppError, ErrorCode, nameKey, newId } from '@scaidrive/core';
import type { Actor, ChangeInput } from './change-feed.js';
import type { Db } from './db.js';
import { ItemNotFoundError, NameConflictError } from './errors.js';
import { toSharePath } from './names.js';
import { nodeColumns, toNode, toNodes, type NodeRecord, type ShareRecord } from './nodes.js';

/**
 * Tree locking protocol (READ COMMITTED):
 * - Anything that creates, changes or removes an item first locks the item's live ancestor chain
 *   (below the root, top-down) FOR KEY SHARE and re-checks it: each ancestor still live, still
 *   under the same parent, still with the same name. A concurrent move or trash of an ancestor
 *   takes FOR UPDATE on it, so it either waits for us or we see its result and walk again.
 * - The item itself is locked FOR UPDATE when it is changed (content, name, parent, trash).
 * - Changing a node's name, parent or live state updates columns of a unique index, which
 *   PostgreSQL treats as a key update (FOR UPDATE strength), so it also waits for KEY SHARE holders.
 * - Locks are taken top-down (ancestors before the item), chunks after nodes, the share row last.
 * Names are unique per folder by the index (share_id, parent_id, live_name_key); trashed rows have
 * live_name_key NULL and never collide.
 */

const WALK_ATTEMPTS = 8;

export interface LockedFolder {
  share: ShareRecord;
  /** Root-first chain, ending with the folder itself. */
  chain: NodeRecord[];
  folder: NodeRecord;
  /** Names from the share root to the folder. */
  parts: string[];
}

/** Root-first chain of live nodes along `keys` (partial when a component is missing). */
export async function walkPath(
  db: Db,
  share: ShareRecord,
  keys: readonly string[],
): Promise<NodeRecord[]> {
  const rows = await db.$queryRawUnsafe<(NodeRecord & { depth: number })[]>(
    `WITH RECURSIVE walk AS (
       SELECT ${nodeColumns('n')}, 0 AS depth FROM nodes n WHERE n.id = $1 AND n.tenant_id = $2
       UNION ALL
       SELECT ${nodeColumns('c')}, w.depth + 1 FROM walk w
         JOIN nodes c ON c.share_id = $3 AND c.parent_id = w.id
                     AND c.live_name_key = ($4::text[])[w.depth + 1]
        WHERE w.depth < $5 AND w.kind = 'folder')
     SELECT * FROM walk ORDER BY depth`,
    share.rootNodeId,
    share.tenantId,
    share.id,
    keys,
    keys.length,
  );
  return toNodes(rows);
}

/** Root-first chain from the share root down to `nodeId` (live or not). */
export async function ancestry(db: Db, tenantId: string, nodeId: string): Promise<NodeRecord[]> {
  const rows = await db.$queryRawUnsafe<(NodeRecord & { depth: number })[]>(
    `WITH RECURSIVE up AS (
       SELECT ${nodeColumns('n')}, 0 AS depth FROM nodes n WHERE n.id = $1 AND n.tenant_id = $2
       UNION ALL
       SELECT ${nodeColumns('p')}, up.depth + 1 FROM nodes p JOIN up ON p.id = up."parentId"
        WHERE up.depth < 100000)
     SELECT * FROM up ORDER BY depth DESC`,
    nodeId,
    tenantId,
  );
  return toNodes(rows);
}

/**
 * Locks `nodes` (root-first, root excluded by the caller) FOR KEY SHARE and checks that each is
 * still live and still where the walk saw it. False when something moved meanwhile.
 */
export async function lockChain(tx: Db, nodes: readonly NodeRecord[]): Promise<boolean> {
  if (nodes.length === 0) return true;
  const ids = nodes.map((n) => n.id);
  const rows = await tx.$queryRawUnsafe<
    { id: string; parentId: string | null; liveNameKey: string | null }[]
  >(
    `SELECT id, parent_id AS "parentId", live_name_key AS "liveNameKey" FROM nodes
      WHERE id = ANY($1::text[]) ORDER BY array_position($1::text[], id) FOR KEY SHARE`,
    ids,
  );
  if (rows.length !== nodes.length) return false;
  return rows.every(
    (r, i) =>
      r.id === nodes[i]!.id &&
      r.liveNameKey !== null &&
      r.liveNameKey === nodes[i]!.liveNameKey &&
      r.parentId === nodes[i]!.parentId,
  );
}

function retryLater(): AppError {
  return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The folder kept changing; try again', {
    action: 'retry',
  });
}

/**
 * Resolves the folder at `parts` and locks its chain. With `create`, missing folders are created
 * (mkdir -p, race-safe: a concurrent creator's folder is adopted) and their `created` changes are
 * pushed onto `changes`.
 */
export async function lockFolderByPath(
  tx: Db,
  share: ShareRecord,
  parts: readonly string[],
  options: { create?: boolean; actor?: Actor; changes?: ChangeInput[] } = {},
): Promise<LockedFolder> {
  const keys = parts.map(nameKey);
  for (let attempt = 0; attempt < WALK_ATTEMPTS; attempt++) {
    const chain = await walkPath(tx, share, keys);
    if (!(await lockChain(tx, chain.slice(1)))) continue;
    let folder = chain[chain.length - 1]!;
    if (folder.kind !== 'folder') {
      throw new NameConflictError(folder.name, {
        details: { reason: `"${toSharePath(parts.slice(0, chain.length - 1))}" is a file` },
      });
    }
    if (chain.length - 1 === parts.length) return { share, chain, folder, parts: [...parts] };
    if (!options.create)
      throw new ItemNotFoundError(`Folder "${toSharePath(parts.slice(0, chain.length))}"`);
    let restart = false;
    for (let i = chain.length - 1; i < parts.length; i++) {
      const child = await ensureChildFolder(tx, share, folder, parts[i]!, options.actor ?? {});
      if (!child) {
        restart = true;
        break;
      }
      if (child.created)
        options.changes?.push({
          resourceType: 'folder',
          resourceId: child.node.id,
          changeType: 'created',
          newPath: toSharePath(parts.slice(0, i + 1)),
        });
      chain.push(child.node);
      folder = child.node;
    }
    if (!restart) return { share, chain, folder, parts: [...parts] };
  }
  throw retryLater();
}

/** Locks the chain of an existing live folder given by id. */
export async function lockFolderById(
  tx: Db,
  share: ShareRecord,
  folderId: string,
): Promise<LockedFolder> {
  for (let attempt = 0; attempt < WALK_ATTEMPTS; attempt++) {
    const chain = await ancestry(tx, share.tenantId, folderId);
    const folder = chain[chain.length - 1];
    if (!folder || folder.shareId !== share.id || chain[0]!.id !== share.rootNodeId)
      throw new ItemNotFoundError('Folder');
    if (folder.kind !== 'folder') throw new ItemNotFoundError('Folder');
    if (chain.slice(1).some((n) => n.liveNameKey === null)) throw new ItemNotFoundError('Folder');
    if (!(await lockChain(tx, chain.slice(1)))) continue;
    return { share, chain, folder, parts: chain.slice(1).map((n) => n.name) };
  }
  throw retryLater();
}

/**
 * Locks a live node for change: its ancestors FOR KEY SHARE, the node FOR UPDATE. Returns the
 * root-first chain (ending with the node, as locked) and its path parts.
 */
export async function lockNodeForUpdate(
  tx: Db,
  tenantId: string,
  nodeId: string,
  options: { allowTrashed?: boolean } = {},
): Promise<{ chain: NodeRecord[]; node: NodeRecord; parts: string[] }> {
  for (let attempt = 0; attempt < WALK_ATTEMPTS; attempt++) {
    const chain = await ancestry(tx, tenantId, nodeId);
    const node = chain[chain.length - 1];
    if (!node || node.id !== nodeId) throw new ItemNotFoundError(kindLabel(nodeId));
    if (node.parentId === null) throw new ItemNotFoundError(kindLabel(nodeId)); // the root
    const ancestors = chain.slice(1, -1);
    if (!options.allowTrashed) {
      if (node.liveNameKey === null || ancestors.some((n) => n.liveNameKey === null))
        throw new ItemNotFoundError(kindLabel(nodeId));
      if (!(await lockChain(tx, ancestors))) continue;
    }
    const rows = await tx.$queryRawUnsafe<NodeRecord[]>(
      `SELECT ${nodeColumns()} FROM nodes WHERE id = $1 FOR UPDATE`,
      nodeId,
    );
    const locked = rows[0] ? toNode(rows[0]) : null;
    if (!locked) throw new ItemNotFoundError(kindLabel(nodeId));
    if (locked.parentId !== node.parentId) continue;
    if (!options.allowTrashed && locked.liveNameKey === null)
      throw new ItemNotFoundError(kindLabel(nodeId));
    chain[chain.length - 1] = locked;
    return { chain, node: locked, parts: chain.slice(1).map((n) => n.name) };
  }
  throw retryLater();
}

/**
 * Creates folder `name` under `parent` unless it exists; adopts one a concurrent transaction
 * created. Null when the conflicting row vanished meanwhile (caller walks again).
 */
async function ensureChildFolder(
  tx: Db,
  share: ShareRecord,
  parent: NodeRecord,
  name: string,
  actor: Actor,
): Promise<{ node: NodeRecord; created: boolean } | null> {
  const key = nameKey(name);
  const inserted = await tx.$queryRawUnsafe<NodeRecord[]>(
    `INSERT INTO nodes (id, tenant_id, share_id, parent_id, kind, name, name_key, live_name_key,
                        created_by, modified_by, updated_at)
     VALUES ($1, $2, $3, $4, 'folder', $5, $6, $6, $7, $7, now())
     ON CONFLICT (share_id, parent_id, live_name_key) DO NOTHING
     RETURNING ${nodeColumns()}`,
    newId('fld'),
    share.tenantId,
    share.id,
    parent.id,
    name,
    key,
    actor.userId ?? null,
  );
  if (inserted[0]) return { node: toNode(inserted[0]), created: true };
  const existing = await tx.$queryRawUnsafe<NodeRecord[]>(
    `SELECT ${nodeColumns()} FROM nodes
      WHERE share_id = $1 AND parent_id = $2 AND live_name_key = $3 FOR KEY SHARE`,
    share.id,
    parent.id,
    key,
  );
  const node = existing[0] ? toNode(existing[0]) : null;
  if (!node) return null;
  if (node.kind !== 'folder') throw new NameConflictError(node.name);
  return { node, created: false };
}

export function kindLabel(id: string): string {
  return id.startsWith('fil_') ? 'File' : id.startsWith('fld_') ? 'Folder' : 'Item';
}
