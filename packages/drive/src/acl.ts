import { ForbiddenError, NotFoundError } from '@scaidrive/core';
import type { Db } from './db.js';
import { evaluatePermissions, type AceLike, type AclLevel } from './acl-eval.js';
import {
  ALL_PERMISSIONS,
  Permission,
  ROLE_PERMISSIONS,
  bitsToPermissions,
  isShareRole,
} from './permissions.js';
import type { Principal, ResourceRef } from './principal.js';

interface ChainRow {
  id: string;
  kind: string;
  inherit_acl: boolean;
  share_id: string;
  depth: number;
}

interface AceRow extends AceLike {
  resource_id: string;
  inherit_to_children: boolean;
}

/** One child for `effectiveForChildren`. */
export interface ChildRef {
  id: string;
  inheritAcl: boolean;
}

/**
 * The one place that decides what a principal may do (facts §3.4):
 * 1. tenant admins get everything in their tenant;
 * 2. the share role (owner/admin → all, contributor → READ|WRITE|DELETE|CREATE, reader → READ;
 *    group members pass their role on; expired memberships count for nothing);
 * 3. ACL entries matching the user, one of their groups or `everyone`, along the inheritance chain
 *    (see `evaluatePermissions`).
 * A resource that does not exist in the principal's tenant has no permissions at all (→ 404).
 */
export class PermissionService {
  constructor(private readonly db: Db) {}

  /** Effective permission bits of `principal` on `resource` (0 when it does not exist). */
  async effective(principal: Principal, resource: ResourceRef): Promise<number> {
    const ctx = await this.context(principal, resource);
    return ctx?.effective ?? 0;
  }

  async has(principal: Principal, resource: ResourceRef, perm: number): Promise<boolean> {
    return ((await this.effective(principal, resource)) & perm) === perm;
  }

  /**
   * Throws unless `principal` has every bit of `perm` on `resource`: NotFoundError when the caller
   * can read neither the resource nor its share (or it does not exist), ForbiddenError otherwise.
   * Returns the effective bits.
   */
  async require(principal: Principal, resource: ResourceRef, perm: number): Promise<number> {
    const ctx = await this.context(principal, resource);
    if (!ctx) throw new NotFoundError(resourceLabel(resource));
    if ((ctx.effective & perm) === perm) return ctx.effective;
    if ((ctx.effective & Permission.READ) === 0) {
      const shareBits =
        resource.type === 'share'
          ? ctx.effective
          : await this.effective(principal, { type: 'share', id: ctx.shareId });
      if ((shareBits & Permission.READ) === 0) throw new NotFoundError(resourceLabel(resource));
    }
    const missing = bitsToPermissions(perm & ~ctx.effective);
    throw new ForbiddenError(`Missing permission ${missing.join(', ')} on this ${resource.type}`, {
      details: { required: missing },
    });
  }

  /**
   * Effective bits for many children of one folder at once (for listings): the folder's chain is
   * read once, each child adds its own entries.
   */
  async effectiveForChildren(
    principal: Principal,
    folderId: string,
    children: readonly ChildRef[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (children.length === 0) return out;
    const chain = await this.chain(principal.tenantId, folderId);
    if (chain.length === 0) return out;
    const shareId = chain[0]!.share_id;
    if (principal.isTenantAdmin) {
      for (const c of children) out.set(c.id, ALL_PERMISSIONS);
      return out;
    }
    const role = await this.roleBits(principal, shareId);
    if (role === null) return out;
    const ids = [...chain.map((c) => c.id), ...children.map((c) => c.id), shareId];
    const aces = await this.matchingAces(principal, ids);
    const parentLevels = inheritedLevels(chain, aces, shareId, true);
    for (const child of children) {
      const own = aces.get(child.id) ?? [];
      const levels = child.inheritAcl ? [own, ...parentLevels] : [own];
      out.set(child.id, evaluatePermissions(role, levels));
    }
    return out;
  }

  /**
   * Which of these items of a share (files and folders, live or trashed) the principal may READ,
   * for a caller that has READ on the share. When nothing in the share has permissions of its own
   * the answer is all of them; otherwise each item is evaluated along its inheritance chain as
   * `effective` would (items that no longer exist are not readable).
   */
  async readableInShare(
    principal: Principal,
    shareId: string,
    itemIds: readonly string[],
  ): Promise<Set<string>> {
    if (itemIds.length === 0) return new Set();
    const restricted = await this.db.$queryRawUnsafe<{ any: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM nodes n
                       WHERE n.tenant_id = $1 AND n.share_id = $2
                         AND (NOT n.inherit_acl OR EXISTS (SELECT 1 FROM acl_entries a
                               WHERE a.resource_id = n.id AND a.tenant_id = $1))) AS any`,
      principal.tenantId,
      shareId,
    );
    const ids = [...new Set(itemIds)];
    if (principal.isTenantAdmin || !restricted[0]?.any) {
      const existing = await this.db.$queryRawUnsafe<{ id: string }[]>(
        `SELECT id FROM nodes WHERE tenant_id = $1 AND share_id = $2 AND id = ANY($3::text[])`,
        principal.tenantId,
        shareId,
        ids,
      );
      return new Set(existing.map((n) => n.id));
    }
    const chains = await this.chains(principal.tenantId, shareId, ids);
    // Set-based, as `context` per item would be: the role once, every chain in one query, every
    // matching entry in one query — a trash of thousands of items costs four queries, not 4×n.
    const role = await this.roleBits(principal, shareId, true);
    if (role === null) return new Set();
    const nodeIds = new Set<string>([shareId]);
    for (const chain of chains.values()) for (const c of chain) nodeIds.add(c.id);
    const aces = await this.matchingAces(principal, [...nodeIds]);
    const out = new Set<string>();
    for (const [id, chain] of chains)
      if ((bitsAlongChain(role, chain, aces, shareId) & Permission.READ) !== 0) out.add(id);
    return out;
  }

  /**
   * The chains (the node and its ancestors, nearest first) of those of `nodeIds` that exist in the
   * share, in one recursive query, keyed by node id.
   */
  private async chains(
    tenantId: string,
    shareId: string,
    nodeIds: string[],
  ): Promise<Map<string, ChainRow[]>> {
    const rows = await this.db.$queryRawUnsafe<(ChainRow & { root_id: string })[]>(
      `WITH RECURSIVE chain AS (
         SELECT id AS root_id, id, parent_id, kind, inherit_acl, share_id, 0 AS depth
           FROM nodes WHERE tenant_id = $1 AND share_id = $2 AND id = ANY($3::text[])
         UNION ALL
         SELECT c.root_id, n.id, n.parent_id, n.kind, n.inherit_acl, n.share_id, c.depth + 1
           FROM nodes n JOIN chain c ON n.id = c.parent_id
          WHERE n.tenant_id = $1 AND c.depth < 10000
       )
       SELECT root_id, id, kind, inherit_acl, share_id, depth FROM chain ORDER BY root_id, depth`,
      tenantId,
      shareId,
      nodeIds,
    );
    const out = new Map<string, ChainRow[]>();
    for (const r of rows) {
      let chain = out.get(r.root_id);
      if (!chain) out.set(r.root_id, (chain = []));
      chain.push(r);
    }
    return out;
  }

  private async context(
    principal: Principal,
    resource: ResourceRef,
  ): Promise<{ effective: number; shareId: string } | null> {
    if (resource.type === 'share') {
      const role = await this.roleBits(principal, resource.id);
      if (role === null) return null;
      if (principal.isTenantAdmin) return { effective: ALL_PERMISSIONS, shareId: resource.id };
      const aces = await this.matchingAces(principal, [resource.id]);
      return {
        effective: evaluatePermissions(role, [aces.get(resource.id) ?? []]),
        shareId: resource.id,
      };
    }
    const chain = await this.chain(principal.tenantId, resource.id);
    const self = chain[0];
    if (!self || self.kind !== resource.type) return null;
    const shareId = self.share_id;
    const role = await this.roleBits(principal, shareId, true);
    if (role === null) return null;
    if (principal.isTenantAdmin) return { effective: ALL_PERMISSIONS, shareId };
    const aces = await this.matchingAces(principal, [...chain.map((c) => c.id), shareId]);
    return { effective: bitsAlongChain(role, chain, aces, shareId), shareId };
  }

  /** The node and its ancestors up to the share root, nearest first. */
  private async chain(tenantId: string, nodeId: string): Promise<ChainRow[]> {
    return this.db.$queryRaw<ChainRow[]>`
      WITH RECURSIVE chain AS (
        SELECT id, parent_id, kind, inherit_acl, share_id, 0 AS depth
          FROM nodes WHERE id = ${nodeId} AND tenant_id = ${tenantId}
        UNION ALL
        SELECT n.id, n.parent_id, n.kind, n.inherit_acl, n.share_id, c.depth + 1
          FROM nodes n JOIN chain c ON n.id = c.parent_id
         WHERE c.depth < 10000
      )
      SELECT id, kind, inherit_acl, share_id, depth FROM chain ORDER BY depth`;
  }

  /**
   * Role bits of the principal on the share (0 when not a member), or null when the share does not
   * exist in the tenant (or is deleted and `activeOnly`).
   */
  private async roleBits(
    principal: Principal,
    shareId: string,
    activeOnly = false,
  ): Promise<number | null> {
    const shares = await this.db.$queryRaw<{ owner_id: string; deleted: boolean }[]>`
      SELECT owner_id, deleted_at IS NOT NULL AS deleted FROM shares
       WHERE id = ${shareId} AND tenant_id = ${principal.tenantId}`;
    const share = shares[0];
    if (!share) return null;
    if (share.deleted && activeOnly && !principal.isTenantAdmin) return null;
    if (principal.isTenantAdmin) return ALL_PERMISSIONS;
    let bits = 0;
    if (share.owner_id === principal.userId || principal.groupIds.includes(share.owner_id))
      bits = ROLE_PERMISSIONS.owner;
    const members = await this.db.$queryRaw<{ role: string }[]>`
      SELECT role FROM share_members
       WHERE share_id = ${shareId} AND tenant_id = ${principal.tenantId}
         AND (expires_at IS NULL OR expires_at > now())
         AND ((principal_type = 'user' AND principal_id = ${principal.userId})
           OR (principal_type = 'group' AND principal_id = ANY(${principal.groupIds}::text[])))`;
    for (const m of members) if (isShareRole(m.role)) bits |= ROLE_PERMISSIONS[m.role];
    return bits;
  }

  /** ACL entries on the given resources that match the principal, by resource id. */
  private async matchingAces(
    principal: Principal,
    resourceIds: string[],
  ): Promise<Map<string, AceRow[]>> {
    const rows = await this.db.$queryRaw<AceRow[]>`
      SELECT resource_id, ace_type AS "aceType", permissions, inherit_to_children
        FROM acl_entries
       WHERE tenant_id = ${principal.tenantId} AND resource_id = ANY(${resourceIds}::text[])
         AND (principal_type = 'everyone'
           OR (principal_type = 'user' AND principal_id = ${principal.userId})
           OR (principal_type = 'group' AND principal_id = ANY(${principal.groupIds}::text[])))`;
    const out = new Map<string, AceRow[]>();
    for (const r of rows) {
      let list = out.get(r.resource_id);
      if (!list) out.set(r.resource_id, (list = []));
      list.push(r);
    }
    return out;
  }
}

/** Effective bits on `chain[0]` (a node and its ancestors, nearest first) for a role and entries. */
function bitsAlongChain(
  role: number,
  chain: readonly ChainRow[],
  aces: Map<string, AceRow[]>,
  shareId: string,
): number {
  const self = chain[0]!;
  const levels: AclLevel[] = [aces.get(self.id) ?? []];
  if (self.inherit_acl) levels.push(...inheritedLevels(chain.slice(1), aces, shareId, true));
  return evaluatePermissions(role, levels);
}

/**
 * Levels contributed by `chain` (a folder and its ancestors, nearest first) to something below it:
 * each node's inheritable entries, stopping after a node that does not inherit; the share's own
 * inheritable entries last when the chain reaches the root with inheritance on.
 */
function inheritedLevels(
  chain: readonly ChainRow[],
  aces: Map<string, AceRow[]>,
  shareId: string,
  includeShare: boolean,
): AclLevel[] {
  const levels: AclLevel[] = [];
  for (const node of chain) {
    levels.push((aces.get(node.id) ?? []).filter((a) => a.inherit_to_children));
    if (!node.inherit_acl) return levels;
  }
  if (includeShare) levels.push((aces.get(shareId) ?? []).filter((a) => a.inherit_to_children));
  return levels;
}

function resourceLabel(resource: ResourceRef): string {
  return resource.type === 'share' ? 'Share' : resource.type === 'folder' ? 'Folder' : 'File';
}
