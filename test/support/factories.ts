import { newId, type IdPrefix } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';

/** Minimal rows for tests. Services (drive, API) have their own creation paths with validation. */
export async function createTenant(
  prisma: PrismaClient,
  name = 'Test Tenant',
): Promise<{ id: string }> {
  return prisma.tenant.create({ data: { id: newId('tnt'), name } });
}

export async function createUser(
  prisma: PrismaClient,
  tenantId: string,
  data: { email?: string; displayName?: string; role?: 'user' | 'tenant_admin' } = {},
): Promise<{ id: string; tenantId: string }> {
  const id = newId('usr');
  return prisma.user.create({
    data: {
      id,
      tenantId,
      email: data.email ?? `${id.toLowerCase()}@example.test`,
      displayName: data.displayName ?? id,
      role: data.role ?? 'user',
    },
  });
}

export async function createGroup(
  prisma: PrismaClient,
  tenantId: string,
  name = 'Group',
  memberIds: string[] = [],
): Promise<{ id: string }> {
  const group = await prisma.group.create({ data: { id: newId('grp'), tenantId, name } });
  for (const userId of memberIds)
    await prisma.groupMember.create({ data: { tenantId, groupId: group.id, userId } });
  return group;
}

/** A share with its root folder, owned by `ownerId` (who is also an `owner` member). */
export async function createShare(
  prisma: PrismaClient,
  tenantId: string,
  ownerId: string,
  name = 'Share',
): Promise<{ id: string; rootNodeId: string }> {
  const shareId = newId('shr');
  const rootNodeId = newId('fld');
  await prisma.$transaction(async (tx) => {
    await tx.share.create({ data: { id: shareId, tenantId, name, ownerId } });
    await tx.node.create({
      data: {
        id: rootNodeId,
        tenantId,
        shareId,
        parentId: null,
        kind: 'folder',
        name: '',
        nameKey: '',
        liveNameKey: '',
      },
    });
    await tx.share.update({ where: { id: shareId }, data: { rootNodeId } });
    await tx.shareMember.create({
      data: {
        id: newId('mem'),
        tenantId,
        shareId,
        principalType: ownerId.startsWith('grp_') ? 'group' : 'user',
        principalId: ownerId,
        role: 'owner',
      },
    });
  });
  return { id: shareId, rootNodeId };
}

export function fakeId(prefix: IdPrefix): string {
  return newId(prefix);
}
