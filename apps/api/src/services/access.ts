import { ForbiddenError, NotFoundError } from '@scaidrive/core';
import type { Connector, PrismaClient } from '@scaidrive/db';
import { PermissionBit, type PermissionChecker } from '../auth/permissions.js';
import { canManageConnectors, type Principal } from '../auth/principal.js';
import type { ConnectorKind } from '../drivers/types.js';
import { findConnector } from './connector-rows.js';

/** How long a share permission answer is reused. */
export const PERMISSION_CACHE_MS = 5_000;

/**
 * Who may manage which connector: scope `tenant:admin` (or the tenant_admin role) AND
 * MANAGE_PERMISSIONS on the connector's target share. Lookups always filter on the caller's tenant
 * and the connector kind of the base path, so another tenant's (or the other kind's) id is a 404.
 */
export class ConnectorAccess {
  private readonly cache = new Map<string, { ok: boolean; until: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly permissions: PermissionChecker,
    private readonly cacheMs = PERMISSION_CACHE_MS,
  ) {}

  requireAdmin(principal: Principal): void {
    if (!canManageConnectors(principal))
      throw new ForbiddenError(
        'Managing connectors needs the tenant:admin scope or the tenant admin role',
      );
  }

  /**
   * Cached for a few seconds per (user, groups, share): operators poll GET endpoints, and a role or
   * ACL change reaches this check within PERMISSION_CACHE_MS.
   */
  async canManageShare(principal: Principal, shareId: string): Promise<boolean> {
    const key = `${principal.tenantId}|${principal.userId}|${principal.isTenantAdmin}|${principal.groupIds.join(',')}|${shareId}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.ok;
    const bits = await this.permissions.effective(principal, { type: 'share', id: shareId });
    const ok = (bits & PermissionBit.MANAGE_PERMISSIONS) !== 0;
    if (this.cacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(key, { ok, until: now + this.cacheMs });
    }
    return ok;
  }

  async requireShareManager(principal: Principal, shareId: string): Promise<void> {
    if (!(await this.canManageShare(principal, shareId)))
      throw new ForbiddenError("You need MANAGE_PERMISSIONS on the connector's target share");
  }

  /** The connector, if it exists in the caller's tenant with this kind and the caller may manage it. */
  async connector(principal: Principal, kind: ConnectorKind, id: string): Promise<Connector> {
    this.requireAdmin(principal);
    const c = await findConnector(this.prisma, { id, tenantId: principal.tenantId, kind });
    if (!c) throw new NotFoundError('Connector');
    // Tenant admins hold every permission in their tenant, and the target share is in the
    // connector's tenant (composite foreign key): no need to ask.
    if (!principal.isTenantAdmin) await this.requireShareManager(principal, c.targetShareId);
    return c;
  }

  /** Target shares (of this tenant and kind) the caller may manage; undefined = all (tenant admin). */
  async manageableShares(principal: Principal, kind: ConnectorKind): Promise<string[] | undefined> {
    this.requireAdmin(principal);
    if (principal.isTenantAdmin) return undefined;
    const shares = await this.prisma.connector.findMany({
      where: { tenantId: principal.tenantId, kind },
      distinct: ['targetShareId'],
      select: { targetShareId: true },
    });
    const out: string[] = [];
    for (const s of shares)
      if (await this.canManageShare(principal, s.targetShareId)) out.push(s.targetShareId);
    return out;
  }
}
