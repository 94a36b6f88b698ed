import { newId } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { PrincipalService, ShareService } from '@scaidrive/drive';
import type { ServiceTokenService } from '@scaidrive/api';

export interface BootstrapResult {
  tenantId: string;
  adminUserId: string;
  shareId: string;
  /** Only on the very first boot: printed once, never stored in clear. */
  token: string | null;
}

/**
 * First boot of the embedded default: a tenant, an admin user, a default share and an admin service
 * token. Idempotent: later boots find the tenant and create nothing (the token is not shown again;
 * `pnpm token:issue` makes another).
 */
export async function bootstrap(
  prisma: PrismaClient,
  tokens: ServiceTokenService,
): Promise<BootstrapResult> {
  const existing = await prisma.tenant.findFirst({ orderBy: { createdAt: 'asc' } });
  if (existing) {
    const admin = await prisma.user.findFirst({
      where: { tenantId: existing.id, role: 'tenant_admin' },
      orderBy: { createdAt: 'asc' },
    });
    const share = await prisma.share.findFirst({
      where: { tenantId: existing.id, deletedAt: null },
      orderBy: { createdAt: 'asc' },
    });
    return {
      tenantId: existing.id,
      adminUserId: admin?.id ?? '',
      shareId: share?.id ?? '',
      token: null,
    };
  }
  const tenantId = newId('tnt');
  await prisma.tenant.create({ data: { id: tenantId, name: 'Default tenant' } });
  const admin = await new PrincipalService(prisma).createUser(tenantId, {
    email: 'admin@localhost',
    displayName: 'Administrator',
    role: 'tenant_admin',
  });
  const share = await new ShareService(prisma).create(
    tenantId,
    { name: 'Default share', ownerId: admin.id, shareType: 'central' },
    { userId: admin.id },
  );
  const issued = await tokens.issue({
    tenantId,
    userId: admin.id,
    name: 'bootstrap admin',
    scopes: ['tenant:admin'],
  });
  return { tenantId, adminUserId: admin.id, shareId: share.id, token: issued.token };
}
