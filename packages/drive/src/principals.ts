import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  newId,
} from '@scaidrive/core';
import type { Db, DbClient } from './db.js';
import { inTx, isUniqueViolation } from './db.js';
import type { Principal } from './principal.js';

export type UserRole = 'user' | 'tenant_admin';
export type UserStatus = 'active' | 'suspended';

export interface UserRecord {
  id: string;
  tenantId: string;
  email: string | null;
  displayName: string | null;
  role: UserRole;
  status: UserStatus;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface GroupRecord {
  id: string;
  tenantId: string;
  name: string;
  email: string | null;
  description: string | null;
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Page {
  limit?: number;
  offset?: number;
}

const USER_COLUMNS = `id, tenant_id AS "tenantId", email, display_name AS "displayName", role, status,
  last_seen_at AS "lastSeenAt", created_at AS "createdAt", updated_at AS "updatedAt"`;
const GROUP_COLUMNS = `g.id, g.tenant_id AS "tenantId", g.name, g.email, g.description,
  (SELECT count(*)::int FROM group_members m WHERE m.group_id = g.id) AS "memberCount",
  g.created_at AS "createdAt", g.updated_at AS "updatedAt"`;

/** Users, groups and group membership of a tenant. */
export class PrincipalService {
  constructor(private readonly prisma: DbClient) {}

  // ── users ──

  async createUser(
    tenantId: string,
    data: { id?: string; email?: string | null; displayName?: string | null; role?: UserRole },
  ): Promise<UserRecord> {
    const id = data.id ?? newId('usr');
    checkRole(data.role);
    const rows = await this.prisma
      .$queryRawUnsafe<UserRecord[]>(
        `INSERT INTO users (id, tenant_id, email, display_name, role, updated_at)
         VALUES ($1, $2, $3, $4, $5, now()) RETURNING ${USER_COLUMNS}`,
        id,
        tenantId,
        data.email ?? null,
        data.displayName ?? null,
        data.role ?? 'user',
      )
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw new ConflictError('A user with this id exists');
        throw err;
      });
    return rows[0]!;
  }

  async findUser(
    tenantId: string,
    userId: string,
    db: Db = this.prisma,
  ): Promise<UserRecord | null> {
    const rows = await db.$queryRawUnsafe<UserRecord[]>(
      `SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND tenant_id = $2`,
      userId,
      tenantId,
    );
    return rows[0] ?? null;
  }

  async getUser(tenantId: string, userId: string): Promise<UserRecord> {
    const u = await this.findUser(tenantId, userId);
    if (!u) throw new NotFoundError('User');
    return u;
  }

  async listUsers(
    tenantId: string,
    page: Page & { q?: string } = {},
  ): Promise<{ users: UserRecord[]; total: number }> {
    const q = page.q ? `%${escapeLike(page.q)}%` : null;
    const where = `tenant_id = $1 AND ($2::text IS NULL OR email ILIKE $2 OR display_name ILIKE $2)`;
    const users = await this.prisma.$queryRawUnsafe<UserRecord[]>(
      `SELECT ${USER_COLUMNS} FROM users WHERE ${where} ORDER BY created_at, id LIMIT $3 OFFSET $4`,
      tenantId,
      q,
      page.limit ?? 50,
      page.offset ?? 0,
    );
    const total = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM users WHERE ${where}`,
      tenantId,
      q,
    );
    return { users, total: Number(total[0]!.n) };
  }

  async updateUser(
    tenantId: string,
    userId: string,
    data: {
      email?: string | null;
      displayName?: string | null;
      role?: UserRole;
      status?: UserStatus;
    },
  ): Promise<UserRecord> {
    checkRole(data.role);
    if (data.status !== undefined && data.status !== 'active' && data.status !== 'suspended')
      throw new ValidationError('Invalid status', [
        { field: 'status', reason: 'must be active or suspended' },
      ]);
    const rows = await this.prisma.$queryRawUnsafe<UserRecord[]>(
      `UPDATE users SET
         email = CASE WHEN $3 THEN $4 ELSE email END,
         display_name = CASE WHEN $5 THEN $6 ELSE display_name END,
         role = COALESCE($7, role), status = COALESCE($8, status), updated_at = now()
       WHERE id = $1 AND tenant_id = $2 RETURNING ${USER_COLUMNS}`,
      userId,
      tenantId,
      data.email !== undefined,
      data.email ?? null,
      data.displayName !== undefined,
      data.displayName ?? null,
      data.role ?? null,
      data.status ?? null,
    );
    if (!rows[0]) throw new NotFoundError('User');
    return rows[0];
  }

  /**
   * Deletes a user with their memberships, share memberships and ACL entries. A user who owns a
   * share cannot be deleted (transfer the ownership first).
   */
  async deleteUser(tenantId: string, userId: string): Promise<void> {
    await inTx(this.prisma, async (tx) => {
      const owned = await tx.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM shares WHERE tenant_id = $1 AND owner_id = $2`,
        tenantId,
        userId,
      );
      if (Number(owned[0]!.n) > 0)
        throw new ConflictError('The user owns shares; transfer their ownership first');
      await this.dropPrincipalRefs(tx, tenantId, 'user', userId);
      const n = await tx.$executeRawUnsafe(
        `DELETE FROM users WHERE id = $1 AND tenant_id = $2`,
        userId,
        tenantId,
      );
      if (n === 0) throw new NotFoundError('User');
    });
  }

  /**
   * Just-in-time provisioning from identity-provider claims: creates the user on first sight,
   * refreshes email/name, records `last_seen_at`. Suspended users are refused.
   */
  async provisionUser(
    tenantId: string,
    claims: { userId: string; email?: string | null; name?: string | null },
  ): Promise<UserRecord> {
    const rows = await this.prisma.$queryRawUnsafe<UserRecord[]>(
      `INSERT INTO users (id, tenant_id, email, display_name, last_seen_at, updated_at)
       VALUES ($1, $2, $3, $4, now(), now())
       ON CONFLICT (id) DO UPDATE SET
         email = COALESCE(EXCLUDED.email, users.email),
         display_name = COALESCE(EXCLUDED.display_name, users.display_name),
         last_seen_at = now()
       WHERE users.tenant_id = EXCLUDED.tenant_id
       RETURNING ${USER_COLUMNS}`,
      claims.userId,
      tenantId,
      claims.email ?? null,
      claims.name ?? null,
    );
    const user = rows[0];
    if (!user) throw new ForbiddenError('This user belongs to another tenant');
    if (user.status === 'suspended') throw new ForbiddenError('This user is suspended');
    return user;
  }

  /**
   * The Principal for a user: their DB role (tenant_admin) and group memberships, plus groups named
   * by the token (`extraGroupIds`) that exist in the tenant. Suspended or unknown users are refused.
   */
  async principalFor(
    tenantId: string,
    userId: string,
    options: { extraGroupIds?: string[]; tenantAdminScope?: boolean } = {},
  ): Promise<Principal> {
    const user = await this.findUser(tenantId, userId);
    if (!user) throw new ForbiddenError('Unknown user');
    if (user.status === 'suspended') throw new ForbiddenError('This user is suspended');
    const groups = await this.prisma.$queryRawUnsafe<{ id: string }[]>(
      `SELECT group_id AS id FROM group_members WHERE tenant_id = $1 AND user_id = $2
       UNION
       SELECT id FROM groups WHERE tenant_id = $1 AND id = ANY($3::text[])`,
      tenantId,
      userId,
      options.extraGroupIds ?? [],
    );
    return {
      tenantId,
      userId,
      groupIds: groups.map((g) => g.id).sort(),
      isTenantAdmin: user.role === 'tenant_admin' || options.tenantAdminScope === true,
    };
  }

  // ── groups ──

  async createGroup(
    tenantId: string,
    data: { name: string; email?: string | null; description?: string | null },
  ): Promise<GroupRecord> {
    if (!data.name.trim())
      throw new ValidationError('Invalid group', [{ field: 'name', reason: 'must not be empty' }]);
    const id = newId('grp');
    await this.prisma.$executeRawUnsafe(
      `INSERT INTO groups (id, tenant_id, name, email, description, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())`,
      id,
      tenantId,
      data.name,
      data.email ?? null,
      data.description ?? null,
    );
    return this.getGroup(tenantId, id);
  }

  async findGroup(
    tenantId: string,
    groupId: string,
    db: Db = this.prisma,
  ): Promise<GroupRecord | null> {
    const rows = await db.$queryRawUnsafe<GroupRecord[]>(
      `SELECT ${GROUP_COLUMNS} FROM groups g WHERE g.id = $1 AND g.tenant_id = $2`,
      groupId,
      tenantId,
    );
    return rows[0] ?? null;
  }

  async getGroup(tenantId: string, groupId: string): Promise<GroupRecord> {
    const g = await this.findGroup(tenantId, groupId);
    if (!g) throw new NotFoundError('Group');
    return g;
  }

  async listGroups(
    tenantId: string,
    page: Page & { q?: string } = {},
  ): Promise<{ groups: GroupRecord[]; total: number }> {
    const q = page.q ? `%${escapeLike(page.q)}%` : null;
    const where = `g.tenant_id = $1 AND ($2::text IS NULL OR g.name ILIKE $2 OR g.email ILIKE $2)`;
    const groups = await this.prisma.$queryRawUnsafe<GroupRecord[]>(
      `SELECT ${GROUP_COLUMNS} FROM groups g WHERE ${where} ORDER BY g.name, g.id LIMIT $3 OFFSET $4`,
      tenantId,
      q,
      page.limit ?? 50,
      page.offset ?? 0,
    );
    const total = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM groups g WHERE ${where}`,
      tenantId,
      q,
    );
    return { groups, total: Number(total[0]!.n) };
  }

  async updateGroup(
    tenantId: string,
    groupId: string,
    data: { name?: string; email?: string | null; description?: string | null },
  ): Promise<GroupRecord> {
    if (data.name !== undefined && !data.name.trim())
      throw new ValidationError('Invalid group', [{ field: 'name', reason: 'must not be empty' }]);
    const n = await this.prisma.$executeRawUnsafe(
      `UPDATE groups SET name = COALESCE($3, name),
         email = CASE WHEN $4 THEN $5 ELSE email END,
         description = CASE WHEN $6 THEN $7 ELSE description END, updated_at = now()
       WHERE id = $1 AND tenant_id = $2`,
      groupId,
      tenantId,
      data.name ?? null,
      data.email !== undefined,
      data.email ?? null,
      data.description !== undefined,
      data.description ?? null,
    );
    if (n === 0) throw new NotFoundError('Group');
    return this.getGroup(tenantId, groupId);
  }

  /** Deletes a group with its memberships, share memberships and ACL entries. */
  async deleteGroup(tenantId: string, groupId: string): Promise<void> {
    await inTx(this.prisma, async (tx) => {
      const owned = await tx.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM shares WHERE tenant_id = $1 AND owner_id = $2`,
        tenantId,
        groupId,
      );
      if (Number(owned[0]!.n) > 0)
        throw new ConflictError('The group owns shares; transfer their ownership first');
      await this.dropPrincipalRefs(tx, tenantId, 'group', groupId);
      const n = await tx.$executeRawUnsafe(
        `DELETE FROM groups WHERE id = $1 AND tenant_id = $2`,
        groupId,
        tenantId,
      );
      if (n === 0) throw new NotFoundError('Group');
    });
  }

  /** Adds a user to a group (idempotent). */
  async addGroupMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.getGroup(tenantId, groupId);
    await this.getUser(tenantId, userId);
    await this.prisma.$executeRawUnsafe(
      `INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      tenantId,
      groupId,
      userId,
    );
  }

  async removeGroupMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    const n = await this.prisma.$executeRawUnsafe(
      `DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3`,
      tenantId,
      groupId,
      userId,
    );
    if (n === 0) throw new NotFoundError('Group member');
  }

  async listGroupMembers(
    tenantId: string,
    groupId: string,
    page: Page = {},
  ): Promise<{ users: UserRecord[]; total: number }> {
    await this.getGroup(tenantId, groupId);
    const users = await this.prisma.$queryRawUnsafe<UserRecord[]>(
      `SELECT ${USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id IN
         (SELECT user_id FROM group_members WHERE group_id = $2)
       ORDER BY created_at, id LIMIT $3 OFFSET $4`,
      tenantId,
      groupId,
      page.limit ?? 50,
      page.offset ?? 0,
    );
    const total = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM group_members WHERE tenant_id = $1 AND group_id = $2`,
      tenantId,
      groupId,
    );
    return { users, total: Number(total[0]!.n) };
  }

  async groupsOfUser(tenantId: string, userId: string): Promise<GroupRecord[]> {
    return this.prisma.$queryRawUnsafe<GroupRecord[]>(
      `SELECT ${GROUP_COLUMNS} FROM groups g
        WHERE g.tenant_id = $1 AND g.id IN (SELECT group_id FROM group_members WHERE user_id = $2)
        ORDER BY g.name, g.id`,
      tenantId,
      userId,
    );
  }

  /** Whether a principal exists in the tenant (`everyone` always does). */
  async exists(
    tenantId: string,
    principalType: 'user' | 'group' | 'everyone',
    principalId: string,
    db: Db = this.prisma,
  ): Promise<boolean> {
    if (principalType === 'everyone') return principalId === 'everyone';
    const table = principalType === 'user' ? 'users' : 'groups';
    const rows = await db.$queryRawUnsafe<unknown[]>(
      `SELECT 1 FROM ${table} WHERE id = $1 AND tenant_id = $2`,
      principalId,
      tenantId,
    );
    return rows.length > 0;
  }

  private async dropPrincipalRefs(
    tx: Db,
    tenantId: string,
    type: 'user' | 'group',
    id: string,
  ): Promise<void> {
    await tx.$executeRawUnsafe(
      `DELETE FROM share_members WHERE tenant_id = $1 AND principal_type = $2 AND principal_id = $3`,
      tenantId,
      type,
      id,
    );
    await tx.$executeRawUnsafe(
      `DELETE FROM acl_entries WHERE tenant_id = $1 AND principal_type = $2 AND principal_id = $3`,
      tenantId,
      type,
      id,
    );
  }
}

function checkRole(role: unknown): void {
  if (role !== undefined && role !== 'user' && role !== 'tenant_admin')
    throw new ValidationError('Invalid role', [
      { field: 'role', reason: 'must be user or tenant_admin' },
    ]);
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
