import { NotFoundError, ValidationError, newId } from '@scaidrive/core';
import { commitShareChange, type Actor } from './change-feed.js';
import { inTx, type Db, type DbClient } from './db.js';
import { ItemNotFoundError } from './errors.js';
import { toSharePath } from './names.js';
import { findNode } from './nodes.js';
import { ALL_PERMISSIONS } from './permissions.js';
import type { ResourceRef } from './principal.js';
import { ancestry, lockNodeForUpdate } from './tree-locks.js';

export type PrincipalType = 'user' | 'group' | 'everyone';
export type AceType = 'allow' | 'deny';

export interface AclEntryInput {
  principalType: PrincipalType;
  /** `usr_…`, `grp_…` or `everyone`. */
  principalId: string;
  /** Permission bits. */
  permissions: number;
  aceType: AceType;
  inheritToChildren?: boolean;
}

export interface AclEntryRecord {
  id: string;
  tenantId: string;
  resourceType: 'share' | 'folder' | 'file';
  resourceId: string;
  principalType: PrincipalType;
  principalId: string;
  aceType: AceType;
  permissions: number;
  inheritToChildren: boolean;
  /** `manual`, or `connector:<cnn_id>` for entries a connector mirrors. */
  origin: string;
  createdAt: Date;
}

export interface AclView {
  resourceType: 'share' | 'folder' | 'file';
  resourceId: string;
  /** Shares have no parent: always false for them. */
  inheritFromParent: boolean;
  entries: AclEntryRecord[];
}

const ACE_COLUMNS = `id, tenant_id AS "tenantId", resource_type AS "resourceType",
  resource_id AS "resourceId", principal_type AS "principalType", principal_id AS "principalId",
  ace_type AS "aceType", permissions, inherit_to_children AS "inheritToChildren", origin,
  created_at AS "createdAt"`;

/** ACL entries on shares, folders and files (evaluation lives in PermissionService). */
export class AclService {
  constructor(private readonly prisma: DbClient) {}

  async get(tenantId: string, resource: ResourceRef): Promise<AclView> {
    const { inheritFromParent } = await this.resource(this.prisma, tenantId, resource);
    const entries = await this.prisma.$queryRawUnsafe<AclEntryRecord[]>(
      `SELECT ${ACE_COLUMNS} FROM acl_entries WHERE tenant_id = $1 AND resource_id = $2
        ORDER BY created_at, id`,
      tenantId,
      resource.id,
    );
    return { resourceType: resource.type, resourceId: resource.id, inheritFromParent, entries };
  }

  /**
   * Adds an entry (origin `manual`). An entry for the same principal and ace type is replaced
   * (new permissions and inheritance), so adding is idempotent.
   */
  async add(
    tenantId: string,
    resource: ResourceRef,
    entry: AclEntryInput,
    actor: Actor,
  ): Promise<{ entry: AclEntryRecord; created: boolean }> {
    checkEntry(entry);
    return inTx(this.prisma, async (tx) => {
      const res = await this.resource(tx, tenantId, resource, true);
      await checkPrincipal(tx, tenantId, entry);
      const rows = await tx.$queryRawUnsafe<(AclEntryRecord & { created: boolean })[]>(
        `INSERT INTO acl_entries (id, tenant_id, resource_type, resource_id, principal_type,
                                  principal_id, ace_type, permissions, inherit_to_children, origin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'manual')
         ON CONFLICT (resource_id, principal_type, principal_id, ace_type, origin)
         DO UPDATE SET permissions = EXCLUDED.permissions,
                       inherit_to_children = EXCLUDED.inherit_to_children
         RETURNING ${ACE_COLUMNS}, (xmax = 0) AS created`,
        newId('ace'),
        tenantId,
        resource.type,
        resource.id,
        entry.principalType,
        entry.principalId,
        entry.aceType,
        entry.permissions,
        entry.inheritToChildren ?? true,
      );
      await this.changed(tx, tenantId, res, actor);
      const { created, ...ace } = rows[0]!;
      return { entry: ace, created };
    });
  }

  /** Removes the entries of a principal and ace type (any origin). NotFound when there are none. */
  async remove(
    tenantId: string,
    resource: ResourceRef,
    key: { principalType: PrincipalType; principalId: string; aceType: AceType },
    actor: Actor,
  ): Promise<number> {
    return inTx(this.prisma, async (tx) => {
      const res = await this.resource(tx, tenantId, resource, true);
      const n = await tx.$executeRawUnsafe(
        `DELETE FROM acl_entries WHERE tenant_id = $1 AND resource_id = $2 AND principal_type = $3
            AND principal_id = $4 AND ace_type = $5`,
        tenantId,
        resource.id,
        key.principalType,
        key.principalId,
        key.aceType,
      );
      if (n === 0) throw new NotFoundError('ACL entry');
      await this.changed(tx, tenantId, res, actor);
      return n;
    });
  }

  /**
   * Turns inheritance on a folder or file on or off. Turning it off with `copyInherited` first
   * copies the entries it inherits now as its own (origin `manual`), so nothing changes until
   * they are edited.
   */
  async setInheritance(
    tenantId: string,
    resource: ResourceRef,
    inheritFromParent: boolean,
    actor: Actor,
    options: { copyInherited?: boolean } = {},
  ): Promise<AclView> {
    if (resource.type === 'share')
      throw new ValidationError('Shares have no parent to inherit from', [
        { field: 'resource_type', reason: 'must be folder or file' },
      ]);
    await inTx(this.prisma, async (tx) => {
      const res = await this.resource(tx, tenantId, resource, true);
      if (!inheritFromParent && options.copyInherited && res.inheritFromParent) {
        const inherited = await inheritedEntries(tx, tenantId, resource.id);
        for (const e of inherited)
          await tx.$executeRawUnsafe(
            `INSERT INTO acl_entries (id, tenant_id, resource_type, resource_id, principal_type,
                                      principal_id, ace_type, permissions, inherit_to_children, origin)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, 'manual')
             ON CONFLICT (resource_id, principal_type, principal_id, ace_type, origin)
             DO UPDATE SET permissions = acl_entries.permissions | EXCLUDED.permissions`,
            newId('ace'),
            tenantId,
            resource.type,
            resource.id,
            e.principalType,
            e.principalId,
            e.aceType,
            e.permissions,
          );
      }
      await tx.$executeRawUnsafe(
        `UPDATE nodes SET inherit_acl = $2, revision = revision + 1, updated_at = now() WHERE id = $1`,
        resource.id,
        inheritFromParent,
      );
      await this.changed(tx, tenantId, res, actor);
    });
    return this.get(tenantId, resource);
  }

  /**
   * Replaces the entries with `origin` on a folder or file (a connector's mirrored ACL) and sets
   * its inheritance; other origins' entries are left alone. Entries for the same principal and
   * ace type are merged.
   */
  async replaceOriginEntries(
    tenantId: string,
    nodeId: string,
    origin: string,
    acl: { inheritFromParent: boolean; entries: AclEntryInput[] },
    actor: Actor,
  ): Promise<void> {
    const merged = new Map<string, AclEntryInput>();
    for (const e of acl.entries) {
      checkEntry(e);
      const k = `${e.principalType}\u0000${e.principalId}\u0000${e.aceType}`;
      const prev = merged.get(k);
      merged.set(
        k,
        prev
          ? {
              ...prev,
              permissions: prev.permissions | e.permissions,
              inheritToChildren: (prev.inheritToChildren ?? true) || (e.inheritToChildren ?? true),
            }
          : e,
      );
    }
    await inTx(this.prisma, async (tx) => {
      const { node, parts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      for (const e of merged.values()) await checkPrincipal(tx, tenantId, e);
      await tx.$executeRawUnsafe(
        `DELETE FROM acl_entries WHERE tenant_id = $1 AND resource_id = $2 AND origin = $3`,
        tenantId,
        nodeId,
        origin,
      );
      for (const e of merged.values())
        await tx.$executeRawUnsafe(
          `INSERT INTO acl_entries (id, tenant_id, resource_type, resource_id, principal_type,
                                    principal_id, ace_type, permissions, inherit_to_children, origin)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          newId('ace'),
          tenantId,
          node.kind,
          nodeId,
          e.principalType,
          e.principalId,
          e.aceType,
          e.permissions,
          e.inheritToChildren ?? true,
          origin,
        );
      await tx.$executeRawUnsafe(
        `UPDATE nodes SET inherit_acl = $2, revision = revision + 1, updated_at = now() WHERE id = $1`,
        nodeId,
        acl.inheritFromParent,
      );
      await commitShareChange(tx, {
        tenantId,
        shareId: node.shareId,
        actor,
        changes: [
          {
            resourceType: node.kind,
            resourceId: node.id,
            changeType: 'acl_changed',
            newPath: toSharePath(parts),
          },
        ],
      });
    });
  }

  private async resource(
    db: Db,
    tenantId: string,
    resource: ResourceRef,
    forChange = false,
  ): Promise<ResolvedResource> {
    if (resource.type === 'share') {
      const rows = await db.$queryRawUnsafe<{ id: string }[]>(
        `SELECT id FROM shares WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
        resource.id,
        tenantId,
      );
      if (!rows[0]) throw new NotFoundError('Share');
      return { ...resource, shareId: resource.id, inheritFromParent: false, path: '/' };
    }
    const node = await findNode(db, tenantId, resource.id);
    if (!node || node.kind !== resource.type)
      throw new ItemNotFoundError(resource.type === 'file' ? 'File' : 'Folder');
    let path = '/';
    if (forChange && node.parentId !== null) {
      const locked = await lockNodeForUpdate(db, tenantId, resource.id);
      path = toSharePath(locked.parts);
    }
    return { ...resource, shareId: node.shareId, inheritFromParent: node.inheritAcl, path };
  }

  private async changed(
    tx: Db,
    tenantId: string,
    res: ResolvedResource,
    actor: Actor,
  ): Promise<void> {
    await commitShareChange(tx, {
      tenantId,
      shareId: res.shareId,
      actor,
      changes: [
        {
          resourceType: res.type,
          resourceId: res.id,
          changeType: 'acl_changed',
          newPath: res.path,
        },
      ],
    });
  }
}

interface ResolvedResource extends ResourceRef {
  shareId: string;
  inheritFromParent: boolean;
  path: string;
}

function checkEntry(e: AclEntryInput): void {
  const issues = [];
  if (!['user', 'group', 'everyone'].includes(e.principalType))
    issues.push({ field: 'principal_type', reason: 'must be user, group or everyone' });
  if (e.principalType === 'everyone' && e.principalId !== 'everyone')
    issues.push({
      field: 'principal_id',
      reason: 'must be "everyone" for principal_type everyone',
    });
  if (e.aceType !== 'allow' && e.aceType !== 'deny')
    issues.push({ field: 'ace_type', reason: 'must be allow or deny' });
  if (
    !Number.isInteger(e.permissions) ||
    e.permissions <= 0 ||
    (e.permissions & ~ALL_PERMISSIONS) !== 0
  )
    issues.push({ field: 'permissions', reason: 'must name at least one permission' });
  if (issues.length) throw new ValidationError('Invalid ACL entry', issues);
}

async function checkPrincipal(db: Db, tenantId: string, e: AclEntryInput): Promise<void> {
  if (e.principalType === 'everyone') return;
  const table = e.principalType === 'user' ? 'users' : 'groups';
  const rows = await db.$queryRawUnsafe<unknown[]>(
    `SELECT 1 FROM ${table} WHERE id = $1 AND tenant_id = $2`,
    e.principalId,
    tenantId,
  );
  if (rows.length === 0)
    throw new ValidationError('Unknown principal', [
      { field: 'principal_id', reason: `no such ${e.principalType} in this tenant` },
    ]);
}

/** Inheritable entries that reach a node from its ancestors and share (for copy-on-break). */
async function inheritedEntries(
  db: Db,
  tenantId: string,
  nodeId: string,
): Promise<{ principalType: string; principalId: string; aceType: string; permissions: number }[]> {
  const chain = await ancestry(db, tenantId, nodeId);
  const ids: string[] = [];
  for (let i = chain.length - 2; i >= 0; i--) {
    ids.push(chain[i]!.id);
    if (!chain[i]!.inheritAcl) break;
  }
  const reachesShare = chain.slice(0, -1).every((n) => n.inheritAcl);
  if (reachesShare && chain[0]) ids.push(chain[0].shareId);
  return db.$queryRawUnsafe(
    `SELECT principal_type AS "principalType", principal_id AS "principalId", ace_type AS "aceType",
            bit_or(permissions)::int AS permissions
       FROM acl_entries WHERE tenant_id = $1 AND resource_id = ANY($2::text[]) AND inherit_to_children
      GROUP BY 1, 2, 3`,
    tenantId,
    ids,
  );
}
