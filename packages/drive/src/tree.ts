import { ValidationError, nameKey } from '@scaidrive/core';
import type { ChildRef } from './acl.js';
import type { ChunkStore } from './chunk-store/types.js';
import { commitShareChange, type Actor, type ChangeInput } from './change-feed.js';
import { inTx, isUniqueViolation, type Db, type DbClient } from './db.js';
import { ItemNotFoundError, NameConflictError, PreconditionFailedError } from './errors.js';
import { checkName, checkPath, toSharePath } from './names.js';
import {
  getNode,
  loadShare,
  nodeColumns,
  pathOf,
  toNode,
  toNodes,
  type NodeRecord,
} from './nodes.js';
import {
  ancestry,
  kindLabel,
  lockFolderById,
  lockFolderByPath,
  lockNodeForUpdate,
  walkPath,
} from './tree-locks.js';
import { releaseVersions } from './versions.js';

/** A folder given by id or by share-relative path. */
export type FolderRef = { folderId: string } | { path: string };

export interface ListOptions {
  limit?: number;
  offset?: number;
  /** Children left out of the page and the total (e.g. those the caller may not read). */
  excludeIds?: readonly string[];
}

export interface TrashExpiryResult {
  /** Trashed items (with everything trashed below them) deleted permanently. */
  itemsPurged: number;
  bytesFreed: number;
}

export interface TreeServiceOptions {
  chunkStore: ChunkStore;
  gcGraceMs: number;
}

/**
 * The folder/file tree of shares: resolution, listing, mkdir -p, move/rename, trash/restore/purge,
 * metadata. Every mutation runs in one transaction that ends with its change-feed rows.
 */
export class TreeService {
  constructor(
    private readonly prisma: DbClient,
    private readonly options: TreeServiceOptions,
  ) {}

  /** The live node at a share-relative path (`/` = the root folder), or null. */
  async resolve(tenantId: string, shareId: string, path: string): Promise<NodeRecord | null> {
    const share = await loadShare(this.prisma, tenantId, shareId);
    const parts = checkPath(path);
    const chain = await walkPath(this.prisma, share, parts.map(nameKey));
    return chain.length === parts.length + 1 ? chain[chain.length - 1]! : null;
  }

  async get(tenantId: string, nodeId: string): Promise<NodeRecord> {
    return getNode(this.prisma, tenantId, nodeId);
  }

  /** The live child of a folder with this name (compared case-insensitively), or null. */
  async child(tenantId: string, folderId: string, name: string): Promise<NodeRecord | null> {
    const rows = await this.prisma.$queryRawUnsafe<NodeRecord[]>(
      `SELECT ${nodeColumns()} FROM nodes
        WHERE parent_id = $1 AND tenant_id = $2 AND live_name_key = $3`,
      folderId,
      tenantId,
      nameKey(checkName(name)),
    );
    return rows[0] ? toNode(rows[0]) : null;
  }

  /** Share-relative path of a node (`/a/b`). */
  async pathOf(nodeId: string): Promise<string> {
    return pathOf(this.prisma, nodeId);
  }

  /** Root-first chain of a node (root folder first, the node last). */
  async ancestry(tenantId: string, nodeId: string): Promise<NodeRecord[]> {
    return ancestry(this.prisma, tenantId, nodeId);
  }

  /** Live children of a folder: folders first, then by name. */
  async list(
    tenantId: string,
    folderId: string,
    options: ListOptions = {},
  ): Promise<{ items: NodeRecord[]; total: number }> {
    const limit = options.limit ?? 50;
    const offset = options.offset ?? 0;
    const exclude = options.excludeIds ?? [];
    const items = await this.prisma.$queryRawUnsafe<NodeRecord[]>(
      `SELECT ${nodeColumns()} FROM nodes
        WHERE parent_id = $1 AND tenant_id = $2 AND live_name_key IS NOT NULL
          AND NOT (id = ANY($5::text[]))
        ORDER BY kind DESC, name_key COLLATE "C", id LIMIT $3 OFFSET $4`,
      folderId,
      tenantId,
      limit,
      offset,
      exclude,
    );
    const count = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM nodes
        WHERE parent_id = $1 AND tenant_id = $2 AND live_name_key IS NOT NULL
          AND NOT (id = ANY($3::text[]))`,
      folderId,
      tenantId,
      exclude,
    );
    return { items: toNodes(items), total: Number(count[0]?.n ?? 0) };
  }

  /**
   * Live children whose permissions can differ from their folder's: those with ACL entries of
   * their own or with inheritance turned off. (Every other child has exactly the folder's.)
   */
  async childrenWithOwnAcl(tenantId: string, folderId: string): Promise<ChildRef[]> {
    return this.prisma.$queryRawUnsafe<ChildRef[]>(
      `SELECT n.id, n.inherit_acl AS "inheritAcl" FROM nodes n
        WHERE n.parent_id = $1 AND n.tenant_id = $2 AND n.live_name_key IS NOT NULL
          AND (NOT n.inherit_acl OR EXISTS (SELECT 1 FROM acl_entries a
                                             WHERE a.resource_id = n.id AND a.tenant_id = $2))`,
      folderId,
      tenantId,
    );
  }

  /** Every live child of a folder, in pages (keyset on the name key; memory stays flat). */
  async *iterateChildren(
    tenantId: string,
    folderId: string,
    pageSize = 1000,
  ): AsyncIterable<NodeRecord> {
    let after: string | null = null;
    for (;;) {
      const rows: NodeRecord[] = await this.prisma.$queryRawUnsafe<NodeRecord[]>(
        `SELECT ${nodeColumns()} FROM nodes
          WHERE parent_id = $1 AND tenant_id = $2 AND live_name_key IS NOT NULL
            AND ($3::text IS NULL OR live_name_key > $3::text)
          ORDER BY live_name_key LIMIT $4`,
        folderId,
        tenantId,
        after,
        pageSize,
      );
      for (const r of rows) yield toNode(r);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.liveNameKey;
    }
  }

  /** Trashed items of a share (the items the user deleted, not their descendants). */
  async listTrash(
    tenantId: string,
    shareId: string,
    options: ListOptions = {},
  ): Promise<{ items: NodeRecord[]; total: number }> {
    const exclude = options.excludeIds ?? [];
    const items = await this.prisma.$queryRawUnsafe<NodeRecord[]>(
      `SELECT ${nodeColumns()} FROM nodes
        WHERE share_id = $1 AND tenant_id = $2 AND trash_root AND deleted_at IS NOT NULL
          AND NOT (id = ANY($5::text[]))
        ORDER BY deleted_at DESC, id LIMIT $3 OFFSET $4`,
      shareId,
      tenantId,
      options.limit ?? 50,
      options.offset ?? 0,
      exclude,
    );
    const count = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM nodes
        WHERE share_id = $1 AND tenant_id = $2 AND trash_root AND deleted_at IS NOT NULL
          AND NOT (id = ANY($3::text[]))`,
      shareId,
      tenantId,
      exclude,
    );
    return { items: toNodes(items), total: Number(count[0]?.n ?? 0) };
  }

  /**
   * Trashed items of a share whose permissions can differ from the share's: those that have, or
   * sit below a folder that has, ACL entries of its own or inheritance turned off. (Every other
   * trashed item has exactly the share's permissions.)
   */
  async trashWithOwnAclInChain(tenantId: string, shareId: string): Promise<string[]> {
    const rows = await this.prisma.$queryRawUnsafe<{ id: string }[]>(
      `WITH RECURSIVE up AS (
         SELECT id AS root_id, id, parent_id, 0 AS depth FROM nodes
          WHERE share_id = $1 AND tenant_id = $2 AND trash_root AND deleted_at IS NOT NULL
         UNION ALL
         SELECT up.root_id, n.id, n.parent_id, up.depth + 1
           FROM nodes n JOIN up ON n.id = up.parent_id
          WHERE n.tenant_id = $2 AND up.depth < 10000
       )
       SELECT DISTINCT up.root_id AS id FROM up JOIN nodes n ON n.id = up.id
        WHERE NOT n.inherit_acl OR EXISTS (SELECT 1 FROM acl_entries a
                                            WHERE a.resource_id = n.id AND a.tenant_id = $2)`,
      shareId,
      tenantId,
    );
    return rows.map((r) => r.id);
  }

  /**
   * Creates folder `name` in `parent`. With `existOk` an existing folder of that name is returned
   * instead of a NameConflictError.
   */
  async createFolder(
    tenantId: string,
    shareId: string,
    parent: FolderRef,
    name: string,
    actor: Actor,
    options: { existOk?: boolean } = {},
  ): Promise<{ node: NodeRecord; created: boolean }> {
    const clean = checkName(name);
    return inTx(this.prisma, async (tx) => {
      const share = await loadShare(tx, tenantId, shareId);
      const locked =
        'folderId' in parent
          ? await lockFolderById(tx, share, parent.folderId)
          : await lockFolderByPath(tx, share, checkPath(parent.path));
      const changes: ChangeInput[] = [];
      const result = await lockFolderByPath(tx, share, [...locked.parts, clean], {
        create: true,
        actor,
        changes,
      });
      const created = changes.length > 0;
      if (!created && !options.existOk) throw new NameConflictError(result.folder.name);
      await commitShareChange(tx, { tenantId, shareId, actor, changes });
      return { node: result.folder, created };
    });
  }

  /** mkdir -p: the folder at `path`, creating missing folders (race-safe). */
  async mkdirp(tenantId: string, shareId: string, path: string, actor: Actor): Promise<NodeRecord> {
    const parts = checkPath(path);
    return inTx(this.prisma, async (tx) => {
      const share = await loadShare(tx, tenantId, shareId);
      const changes: ChangeInput[] = [];
      const { folder } = await lockFolderByPath(tx, share, parts, { create: true, actor, changes });
      if (changes.length > 0) await commitShareChange(tx, { tenantId, shareId, actor, changes });
      return folder;
    });
  }

  /**
   * Moves and/or renames a node. `ifVersion` (files) / `ifRevision` guard against concurrent
   * changes. Moving a folder into itself or below itself is a ValidationError.
   */
  async move(
    tenantId: string,
    nodeId: string,
    target: { parentId?: string; name?: string },
    actor: Actor,
    guard: { ifVersion?: string; ifRevision?: number } = {},
  ): Promise<NodeRecord> {
    const newName = target.name === undefined ? undefined : checkName(target.name);
    return inTx(this.prisma, async (tx) => {
      const current = await getNode(tx, tenantId, nodeId);
      const share = await loadShare(tx, tenantId, current.shareId);
      // Lock the destination first (top-down), then the node itself.
      const dest =
        target.parentId && target.parentId !== current.parentId
          ? await lockFolderById(tx, share, target.parentId)
          : null;
      const { node, parts: oldParts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      checkGuard(node, guard);
      if (dest && dest.chain.some((n) => n.id === node.id))
        throw new ValidationError('Cannot move a folder into itself', [
          { field: 'parent_id', reason: 'is the item itself or one of its subfolders' },
        ]);
      const parentId = dest ? dest.folder.id : node.parentId!;
      const name = newName ?? node.name;
      if (parentId === node.parentId && name === node.name) return node;
      const rows = await tx
        .$queryRawUnsafe<NodeRecord[]>(
          `UPDATE nodes SET parent_id = $2, name = $3, name_key = $4, live_name_key = $4,
                  revision = revision + 1, modified_by = $5, updated_at = now()
            WHERE id = $1 RETURNING ${nodeColumns()}`,
          node.id,
          parentId,
          name,
          nameKey(name),
          actor.userId ?? null,
        )
        .catch((err: unknown) => {
          if (isUniqueViolation(err)) throw new NameConflictError(name);
          throw err;
        });
      const moved = toNode(rows[0]!);
      const newParts = dest ? [...dest.parts, name] : [...oldParts.slice(0, -1), name];
      await commitShareChange(tx, {
        tenantId,
        shareId: share.id,
        actor,
        changes: [
          {
            resourceType: moved.kind,
            resourceId: moved.id,
            changeType: dest ? 'moved' : 'renamed',
            oldPath: toSharePath(oldParts),
            newPath: toSharePath(newParts),
            version: moved.kind === 'file' ? moved.version : null,
          },
        ],
      });
      return moved;
    });
  }

  /** Moves a node (and everything below it) to the trash. */
  async trash(
    tenantId: string,
    nodeId: string,
    actor: Actor,
    guard: { ifVersion?: string; ifRevision?: number } = {},
  ): Promise<NodeRecord> {
    return inTx(this.prisma, async (tx) => {
      const { node, parts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      checkGuard(node, guard);
      await tx.$executeRawUnsafe(
        `WITH RECURSIVE sub AS (
           SELECT id FROM nodes WHERE id = $1
           UNION ALL
           SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id WHERE n.deleted_at IS NULL)
         UPDATE nodes SET deleted_at = now(), deleted_by = $2, live_name_key = NULL,
                trash_root = (id = $1), revision = revision + 1, updated_at = now()
          WHERE id IN (SELECT id FROM sub)`,
        node.id,
        actor.userId ?? null,
      );
      await commitShareChange(tx, {
        tenantId,
        shareId: node.shareId,
        actor,
        changes: [
          {
            resourceType: node.kind,
            resourceId: node.id,
            changeType: 'deleted',
            oldPath: toSharePath(parts),
            version: node.kind === 'file' ? node.version : null,
          },
        ],
      });
      return getNode(tx, tenantId, node.id);
    });
  }

  /**
   * Restores a trashed item (with what was trashed with it) into its folder, or into `parentId`,
   * optionally under a new name. The folder must be live; a name taken meanwhile is a
   * NameConflictError (restore under another name).
   */
  async restore(
    tenantId: string,
    nodeId: string,
    actor: Actor,
    target: { parentId?: string; name?: string } = {},
  ): Promise<NodeRecord> {
    const newName = target.name === undefined ? undefined : checkName(target.name);
    return inTx(this.prisma, async (tx) => {
      const current = await getNode(tx, tenantId, nodeId);
      if (!current.trashRoot || current.deletedAt === null)
        throw new ItemNotFoundError(`${kindLabel(nodeId)} in the trash`);
      const share = await loadShare(tx, tenantId, current.shareId);
      const parentId = target.parentId ?? current.parentId!;
      const dest = await lockFolderById(tx, share, parentId).catch((err: unknown) => {
        if (err instanceof ItemNotFoundError)
          throw new ItemNotFoundError(
            'The folder this item was deleted from (restore that folder first, or give parent_id)',
          );
        throw err;
      });
      const { node } = await lockNodeForUpdate(tx, tenantId, nodeId, { allowTrashed: true });
      if (!node.trashRoot || node.deletedAt === null)
        throw new ItemNotFoundError(`${kindLabel(nodeId)} in the trash`);
      const name = newName ?? node.name;
      await tx
        .$executeRawUnsafe(
          `WITH RECURSIVE sub AS (
             SELECT id FROM nodes WHERE id = $1
             UNION ALL
             SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id
              WHERE n.deleted_at IS NOT NULL AND NOT n.trash_root)
           UPDATE nodes SET deleted_at = NULL, deleted_by = NULL, trash_root = false,
                  live_name_key = CASE WHEN id = $1 THEN $3 ELSE name_key END,
                  name = CASE WHEN id = $1 THEN $4 ELSE name END,
                  name_key = CASE WHEN id = $1 THEN $3 ELSE name_key END,
                  parent_id = CASE WHEN id = $1 THEN $2 ELSE parent_id END,
                  revision = revision + 1, updated_at = now()
            WHERE id IN (SELECT id FROM sub)`,
          node.id,
          dest.folder.id,
          nameKey(name),
          name,
        )
        .catch((err: unknown) => {
          if (isUniqueViolation(err)) throw new NameConflictError(name);
          throw err;
        });
      const restored = await getNode(tx, tenantId, node.id);
      await commitShareChange(tx, {
        tenantId,
        shareId: share.id,
        actor,
        changes: [
          {
            resourceType: restored.kind,
            resourceId: restored.id,
            changeType: 'restored',
            newPath: toSharePath([...dest.parts, name]),
            version: restored.kind === 'file' ? restored.version : null,
          },
        ],
      });
      return restored;
    });
  }

  /**
   * Permanently deletes a trashed item and everything below it: versions are released (their
   * chunks become garbage unless shared) and the bytes leave the share's usage.
   */
  async purge(
    tenantId: string,
    nodeId: string,
    options: { deletedBefore?: Date } = {},
  ): Promise<{ bytesFreed: number }> {
    return inTx(this.prisma, async (tx) => {
      const { node } = await lockNodeForUpdate(tx, tenantId, nodeId, { allowTrashed: true });
      if (node.deletedAt === null)
        throw new PreconditionFailedError('Only items in the trash can be deleted permanently');
      // Checked under the lock: restored and trashed again since the expiry looked is not due.
      if (options.deletedBefore && !(node.deletedAt < options.deletedBefore))
        throw new PreconditionFailedError('Not due for expiry');
      const sub = await tx.$queryRawUnsafe<{ id: string }[]>(
        `WITH RECURSIVE sub AS (
           SELECT id FROM nodes WHERE id = $1
           UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
         SELECT id FROM sub`,
        node.id,
      );
      const ids = sub.map((r) => r.id);
      const versions = await tx.$queryRawUnsafe<{ id: string }[]>(
        `SELECT id FROM file_versions WHERE node_id = ANY($1::text[])`,
        ids,
      );
      const freed = await releaseVersions(
        tx,
        this.options.chunkStore,
        this.options.gcGraceMs,
        tenantId,
        versions.map((v) => v.id),
      );
      await tx.$executeRawUnsafe(
        `DELETE FROM acl_entries WHERE tenant_id = $1 AND resource_id = ANY($2::text[])`,
        tenantId,
        ids,
      );
      await tx.$executeRawUnsafe(`DELETE FROM nodes WHERE id = $1`, node.id);
      await commitShareChange(tx, {
        tenantId,
        shareId: node.shareId,
        bytesDelta: -freed,
        actor: {},
        changes: [],
      });
      return { bytesFreed: freed };
    });
  }

  /**
   * Purges every trashed item (a trash root: what a user or a sync deleted, with what went to the
   * trash with it) deleted before `deletedBefore`, oldest first, one transaction per item. An item
   * restored or purged meanwhile is left alone. Walks share by share so each lookup is a range of
   * the (tenant, share, deleted_at) index, not a scan of every node.
   */
  async expireTrash(options: {
    deletedBefore: Date;
    batchSize?: number;
    signal?: AbortSignal;
  }): Promise<TrashExpiryResult> {
    const batchSize = options.batchSize ?? 100;
    const result: TrashExpiryResult = { itemsPurged: 0, bytesFreed: 0 };
    for (;;) {
      options.signal?.throwIfAborted();
      const due = await this.prisma.$queryRawUnsafe<{ id: string; tenant_id: string }[]>(
        `SELECT n.id, n.tenant_id FROM shares s
           CROSS JOIN LATERAL (
             SELECT id, tenant_id, deleted_at FROM nodes
              WHERE tenant_id = s.tenant_id AND share_id = s.id
                AND deleted_at < $1::timestamptz AND trash_root
              ORDER BY deleted_at LIMIT $2) n
          ORDER BY n.deleted_at LIMIT $2`,
        options.deletedBefore,
        batchSize,
      );
      let purged = 0;
      for (const item of due) {
        options.signal?.throwIfAborted();
        try {
          const { bytesFreed } = await this.purge(item.tenant_id, item.id, {
            deletedBefore: options.deletedBefore,
          });
          result.itemsPurged += 1;
          result.bytesFreed += bytesFreed;
          purged += 1;
        } catch (err) {
          // Restored, purged by hand or taken away with its trashed parent since the lookup.
          if (err instanceof ItemNotFoundError || err instanceof PreconditionFailedError) continue;
          throw err;
        }
      }
      if (due.length < batchSize || purged === 0) return result;
    }
  }

  /** Sets a node's content modification time (no new version). */
  async setModifiedAt(
    tenantId: string,
    nodeId: string,
    modifiedAt: Date,
    actor: Actor,
  ): Promise<NodeRecord> {
    return this.updateAttributes(tenantId, nodeId, actor, 'metadata_changed', async (tx, node) =>
      tx.$queryRawUnsafe<NodeRecord[]>(
        `UPDATE nodes SET modified_at = $2::timestamptz, revision = revision + 1,
                modified_by = $3, updated_at = now()
          WHERE id = $1 RETURNING ${nodeColumns()}`,
        node.id,
        modifiedAt,
        actor.userId ?? null,
      ),
    );
  }

  /** Replaces a node's free-form metadata (e.g. SharePoint list-item fields). */
  async setMetadata(
    tenantId: string,
    nodeId: string,
    metadata: Record<string, unknown> | null,
    actor: Actor,
  ): Promise<NodeRecord> {
    return this.updateAttributes(tenantId, nodeId, actor, 'metadata_changed', async (tx, node) =>
      tx.$queryRawUnsafe<NodeRecord[]>(
        `UPDATE nodes SET metadata = $2::jsonb, revision = revision + 1, modified_by = $3,
                updated_at = now()
          WHERE id = $1 RETURNING ${nodeColumns()}`,
        node.id,
        metadata === null ? null : JSON.stringify(metadata),
        actor.userId ?? null,
      ),
    );
  }

  private async updateAttributes(
    tenantId: string,
    nodeId: string,
    actor: Actor,
    changeType: 'metadata_changed',
    update: (tx: Db, node: NodeRecord) => Promise<NodeRecord[]>,
  ): Promise<NodeRecord> {
    return inTx(this.prisma, async (tx) => {
      const { node, parts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      const updated = toNode((await update(tx, node))[0]!);
      await commitShareChange(tx, {
        tenantId,
        shareId: node.shareId,
        actor,
        changes: [
          {
            resourceType: node.kind,
            resourceId: node.id,
            changeType,
            newPath: toSharePath(parts),
            version: node.kind === 'file' ? node.version : null,
          },
        ],
      });
      return updated;
    });
  }
}

/** Optimistic concurrency on an item about to change. */
export function checkGuard(
  node: NodeRecord,
  guard: { ifVersion?: string; ifRevision?: number },
): void {
  if (
    guard.ifVersion !== undefined &&
    node.kind === 'file' &&
    String(node.version) !== guard.ifVersion
  )
    throw new PreconditionFailedError(
      `The file changed meanwhile (version ${node.version}, expected ${guard.ifVersion})`,
    );
  if (guard.ifRevision !== undefined && node.revision !== guard.ifRevision)
    throw new PreconditionFailedError('The item changed meanwhile');
}
