import { ConflictError, NotFoundError, ValidationError, newId } from '@scaidrive/core';
import { commitShareChange, type Actor } from './change-feed.js';
import { inTx, isUniqueViolation, type Db, type DbClient } from './db.js';
import { isShareRole, type ShareRole } from './permissions.js';
import type { Principal } from './principal.js';
import { escapeLike, type Page } from './principals.js';

export type ShareType = 'central' | 'personal' | 'project';
const SHARE_TYPES: readonly ShareType[] = ['central', 'personal', 'project'];

export interface ShareInfo {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  shareType: ShareType;
  ownerId: string;
  quotaBytes: number | null;
  usedBytes: number;
  rootNodeId: string;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ShareMemberInfo {
  id: string;
  shareId: string;
  principalType: 'user' | 'group';
  principalId: string;
  role: ShareRole;
  expiresAt: Date | null;
  createdAt: Date;
}

const SHARE_COLUMNS = `s.id, s.tenant_id AS "tenantId", s.name, s.description,
  s.share_type AS "shareType", s.owner_id AS "ownerId", s.quota_bytes AS "quotaBytes",
  s.used_bytes AS "usedBytes", s.root_node_id AS "rootNodeId", s.deleted_at AS "deletedAt",
  s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;
const MEMBER_COLUMNS = `id, share_id AS "shareId", principal_type AS "principalType",
  principal_id AS "principalId", role, expires_at AS "expiresAt", created_at AS "createdAt"`;

type RawShare = Omit<ShareInfo, 'quotaBytes' | 'usedBytes'> & {
  quotaBytes: bigint | null;
  usedBytes: bigint;
};
const toShare = (r: RawShare): ShareInfo => ({
  ...r,
  quotaBytes: r.quotaBytes === null ? null : Number(r.quotaBytes),
  usedBytes: Number(r.usedBytes),
});

/** Shares (with their root folder) and their members. */
export class ShareService {
  constructor(private readonly prisma: DbClient) {}

  /** Creates a share, its root folder and the owner's `owner` membership. */
  async create(
    tenantId: string,
    data: {
      name: string;
      ownerId: string;
      description?: string | null;
      shareType?: ShareType;
      quotaBytes?: number | null;
    },
    actor: Actor,
  ): Promise<ShareInfo> {
    const issues = [];
    if (!data.name.trim()) issues.push({ field: 'name', reason: 'must not be empty' });
    if (data.shareType && !SHARE_TYPES.includes(data.shareType))
      issues.push({ field: 'share_type', reason: `must be one of ${SHARE_TYPES.join(', ')}` });
    if (data.quotaBytes !== undefined && data.quotaBytes !== null && data.quotaBytes < 0)
      issues.push({ field: 'quota_bytes', reason: 'must be ≥ 0' });
    if (issues.length) throw new ValidationError('Invalid share', issues);
    const ownerType = principalTypeOf(data.ownerId);
    const shareId = newId('shr');
    const rootId = newId('fld');
    await inTx(this.prisma, async (tx) => {
      if (!ownerType || !(await principalExists(tx, tenantId, ownerType, data.ownerId)))
        throw new ValidationError('Invalid owner', [
          { field: 'owner_id', reason: 'must be a user or group of this tenant' },
        ]);
      await tx.$executeRawUnsafe(
        `INSERT INTO shares (id, tenant_id, name, description, share_type, owner_id, quota_bytes,
                             updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, now())`,
        shareId,
        tenantId,
        data.name.trim(),
        data.description ?? null,
        data.shareType ?? 'central',
        data.ownerId,
        data.quotaBytes ?? null,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO nodes (id, tenant_id, share_id, parent_id, kind, name, name_key, live_name_key,
                            created_by, updated_at)
         VALUES ($1, $2, $3, NULL, 'folder', '', '', '', $4, now())`,
        rootId,
        tenantId,
        shareId,
        actor.userId ?? null,
      );
      await tx.$executeRawUnsafe(
        `UPDATE shares SET root_node_id = $2 WHERE id = $1`,
        shareId,
        rootId,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO share_members (id, tenant_id, share_id, principal_type, principal_id, role)
         VALUES ($1, $2, $3, $4, $5, 'owner')`,
        newId('mem'),
        tenantId,
        shareId,
        ownerType,
        data.ownerId,
      );
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [
          { resourceType: 'share', resourceId: shareId, changeType: 'created', newPath: '/' },
        ],
      });
    });
    return this.get(tenantId, shareId);
  }

  async find(
    tenantId: string,
    shareId: string,
    options: { includeDeleted?: boolean } = {},
    db: Db = this.prisma,
  ): Promise<ShareInfo | null> {
    const rows = await db.$queryRawUnsafe<RawShare[]>(
      `SELECT ${SHARE_COLUMNS} FROM shares s WHERE s.id = $1 AND s.tenant_id = $2`,
      shareId,
      tenantId,
    );
    const s = rows[0];
    if (!s || (s.deletedAt && !options.includeDeleted)) return null;
    return toShare(s);
  }

  async get(
    tenantId: string,
    shareId: string,
    options: { includeDeleted?: boolean } = {},
  ): Promise<ShareInfo> {
    const s = await this.find(tenantId, shareId, options);
    if (!s) throw new NotFoundError('Share');
    return s;
  }

  /**
   * Shares of the tenant. With `visibleTo` (a non-admin principal), only shares they own, are a
   * (non-expired) member of, or hold a share-level allow entry on.
   */
  async list(
    tenantId: string,
    options: Page & { includeTrashed?: boolean; visibleTo?: Principal; q?: string } = {},
  ): Promise<{ shares: ShareInfo[]; total: number }> {
    const p = options.visibleTo && !options.visibleTo.isTenantAdmin ? options.visibleTo : null;
    const where = `s.tenant_id = $1 AND ($2 OR s.deleted_at IS NULL)
      AND ($3::text IS NULL OR s.name ILIKE $3)
      AND ($4::text IS NULL OR s.owner_id = $4 OR s.owner_id = ANY($5::text[])
        OR EXISTS (SELECT 1 FROM share_members m WHERE m.share_id = s.id
                     AND (m.expires_at IS NULL OR m.expires_at > now())
                     AND ((m.principal_type = 'user' AND m.principal_id = $4)
                       OR (m.principal_type = 'group' AND m.principal_id = ANY($5::text[]))))
        OR EXISTS (SELECT 1 FROM acl_entries a WHERE a.resource_id = s.id AND a.ace_type = 'allow'
                     AND (a.permissions & 1) = 1
                     AND (a.principal_type = 'everyone'
                       OR (a.principal_type = 'user' AND a.principal_id = $4)
                       OR (a.principal_type = 'group' AND a.principal_id = ANY($5::text[])))))`;
    const params = [
      tenantId,
      options.includeTrashed === true,
      options.q ? `%${escapeLike(options.q)}%` : null,
      p?.userId ?? null,
      p?.groupIds ?? [],
    ];
    const rows = await this.prisma.$queryRawUnsafe<RawShare[]>(
      `SELECT ${SHARE_COLUMNS} FROM shares s WHERE ${where}
        ORDER BY s.name, s.id LIMIT $6 OFFSET $7`,
      ...params,
      options.limit ?? 50,
      options.offset ?? 0,
    );
    const total = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM shares s WHERE ${where}`,
      ...params,
    );
    return { shares: rows.map(toShare), total: Number(total[0]!.n) };
  }

  async update(
    tenantId: string,
    shareId: string,
    data: { name?: string; description?: string | null; quotaBytes?: number | null },
    actor: Actor,
  ): Promise<ShareInfo> {
    if (data.name !== undefined && !data.name.trim())
      throw new ValidationError('Invalid share', [{ field: 'name', reason: 'must not be empty' }]);
    if (data.quotaBytes !== undefined && data.quotaBytes !== null && data.quotaBytes < 0)
      throw new ValidationError('Invalid share', [{ field: 'quota_bytes', reason: 'must be ≥ 0' }]);
    await inTx(this.prisma, async (tx) => {
      const n = await tx.$executeRawUnsafe(
        `UPDATE shares SET name = COALESCE($3, name),
           description = CASE WHEN $4 THEN $5 ELSE description END,
           quota_bytes = CASE WHEN $6 THEN $7::bigint ELSE quota_bytes END, updated_at = now()
         WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
        shareId,
        tenantId,
        data.name?.trim() ?? null,
        data.description !== undefined,
        data.description ?? null,
        data.quotaBytes !== undefined,
        data.quotaBytes ?? null,
      );
      if (n === 0) throw new NotFoundError('Share');
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [{ resourceType: 'share', resourceId: shareId, changeType: 'metadata_changed' }],
      });
    });
    return this.get(tenantId, shareId);
  }

  /** Soft delete: the share disappears for everyone but tenant admins, and can be restored. */
  async softDelete(tenantId: string, shareId: string, actor: Actor): Promise<void> {
    await inTx(this.prisma, async (tx) => {
      const n = await tx.$executeRawUnsafe(
        `UPDATE shares SET deleted_at = now(), updated_at = now()
          WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
        shareId,
        tenantId,
      );
      if (n === 0) throw new NotFoundError('Share');
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [
          { resourceType: 'share', resourceId: shareId, changeType: 'deleted', oldPath: '/' },
        ],
      });
    });
  }

  async restore(tenantId: string, shareId: string, actor: Actor): Promise<ShareInfo> {
    await inTx(this.prisma, async (tx) => {
      const n = await tx.$executeRawUnsafe(
        `UPDATE shares SET deleted_at = NULL, updated_at = now()
          WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NOT NULL`,
        shareId,
        tenantId,
      );
      if (n === 0) throw new NotFoundError('Deleted share');
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [
          { resourceType: 'share', resourceId: shareId, changeType: 'restored', newPath: '/' },
        ],
      });
    });
    return this.get(tenantId, shareId);
  }

  /** Makes `newOwnerId` the owner (and an `owner` member); the previous owner becomes `admin`. */
  async transferOwnership(
    tenantId: string,
    shareId: string,
    newOwnerId: string,
    actor: Actor,
  ): Promise<ShareInfo> {
    const type = principalTypeOf(newOwnerId);
    await inTx(this.prisma, async (tx) => {
      const share = await this.find(tenantId, shareId, {}, tx);
      if (!share) throw new NotFoundError('Share');
      if (!type || !(await principalExists(tx, tenantId, type, newOwnerId)))
        throw new ValidationError('Invalid owner', [
          { field: 'new_owner_id', reason: 'must be a user or group of this tenant' },
        ]);
      await tx.$executeRawUnsafe(
        `UPDATE share_members SET role = 'admin'
          WHERE share_id = $1 AND principal_id = $2 AND role = 'owner'`,
        shareId,
        share.ownerId,
      );
      await upsertMember(tx, tenantId, shareId, type, newOwnerId, 'owner', null);
      await tx.$executeRawUnsafe(
        `UPDATE shares SET owner_id = $3, updated_at = now() WHERE id = $1 AND tenant_id = $2`,
        shareId,
        tenantId,
        newOwnerId,
      );
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [{ resourceType: 'share', resourceId: shareId, changeType: 'acl_changed' }],
      });
    });
    return this.get(tenantId, shareId);
  }

  // ── members ──

  async listMembers(
    tenantId: string,
    shareId: string,
    page: Page = {},
  ): Promise<{ members: ShareMemberInfo[]; total: number }> {
    await this.get(tenantId, shareId);
    const members = await this.prisma.$queryRawUnsafe<ShareMemberInfo[]>(
      `SELECT ${MEMBER_COLUMNS} FROM share_members WHERE share_id = $1 AND tenant_id = $2
        ORDER BY created_at, id LIMIT $3 OFFSET $4`,
      shareId,
      tenantId,
      page.limit ?? 50,
      page.offset ?? 0,
    );
    const total = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM share_members WHERE share_id = $1 AND tenant_id = $2`,
      shareId,
      tenantId,
    );
    return { members, total: Number(total[0]!.n) };
  }

  async getMember(tenantId: string, shareId: string, memberId: string): Promise<ShareMemberInfo> {
    const rows = await this.prisma.$queryRawUnsafe<ShareMemberInfo[]>(
      `SELECT ${MEMBER_COLUMNS} FROM share_members WHERE id = $1 AND share_id = $2 AND tenant_id = $3`,
      memberId,
      shareId,
      tenantId,
    );
    if (!rows[0]) throw new NotFoundError('Share member');
    return rows[0];
  }

  /**
   * Adds a member or changes their role (one membership per principal). The `owner` role comes
   * only with ownership (`transferOwnership`).
   */
  async setMember(
    tenantId: string,
    shareId: string,
    member: {
      principalType: 'user' | 'group';
      principalId: string;
      role: ShareRole;
      expiresAt?: Date | null;
    },
    actor: Actor,
  ): Promise<{ member: ShareMemberInfo; created: boolean }> {
    if (!isShareRole(member.role) || member.role === 'owner')
      throw new ValidationError('Invalid role', [
        {
          field: 'role',
          reason: 'must be admin, contributor or reader (owner: transfer ownership)',
        },
      ]);
    return inTx(this.prisma, async (tx) => {
      const share = await this.find(tenantId, shareId, {}, tx);
      if (!share) throw new NotFoundError('Share');
      if (!(await principalExists(tx, tenantId, member.principalType, member.principalId)))
        throw new ValidationError('Invalid member', [
          { field: 'principal_id', reason: `no such ${member.principalType} in this tenant` },
        ]);
      if (member.principalId === share.ownerId)
        throw new ConflictError('The owner keeps the owner role; transfer the ownership first');
      const result = await upsertMember(
        tx,
        tenantId,
        shareId,
        member.principalType,
        member.principalId,
        member.role,
        member.expiresAt ?? null,
      );
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [{ resourceType: 'share', resourceId: shareId, changeType: 'acl_changed' }],
      });
      return result;
    });
  }

  async removeMember(
    tenantId: string,
    shareId: string,
    memberId: string,
    actor: Actor,
  ): Promise<void> {
    await inTx(this.prisma, async (tx) => {
      const rows = await tx.$queryRawUnsafe<{ role: string }[]>(
        `SELECT role FROM share_members WHERE id = $1 AND share_id = $2 AND tenant_id = $3 FOR UPDATE`,
        memberId,
        shareId,
        tenantId,
      );
      if (!rows[0]) throw new NotFoundError('Share member');
      if (rows[0].role === 'owner')
        throw new ConflictError('The owner cannot be removed; transfer the ownership first');
      await tx.$executeRawUnsafe(`DELETE FROM share_members WHERE id = $1`, memberId);
      await commitShareChange(tx, {
        tenantId,
        shareId,
        actor,
        changes: [{ resourceType: 'share', resourceId: shareId, changeType: 'acl_changed' }],
      });
    });
  }
}

async function upsertMember(
  tx: Db,
  tenantId: string,
  shareId: string,
  principalType: 'user' | 'group',
  principalId: string,
  role: ShareRole,
  expiresAt: Date | null,
): Promise<{ member: ShareMemberInfo; created: boolean }> {
  const rows = await tx
    .$queryRawUnsafe<(ShareMemberInfo & { created: boolean })[]>(
      `INSERT INTO share_members (id, tenant_id, share_id, principal_type, principal_id, role, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)
       ON CONFLICT (share_id, principal_type, principal_id)
       DO UPDATE SET role = EXCLUDED.role, expires_at = EXCLUDED.expires_at
       RETURNING ${MEMBER_COLUMNS}, (xmax = 0) AS created`,
      newId('mem'),
      tenantId,
      shareId,
      principalType,
      principalId,
      role,
      expiresAt,
    )
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) throw new ConflictError('Membership changed concurrently');
      throw err;
    });
  const { created, ...member } = rows[0]!;
  return { member, created };
}

export function principalTypeOf(id: string): 'user' | 'group' | null {
  return id.startsWith('usr_') ? 'user' : id.startsWith('grp_') ? 'group' : null;
}

async function principalExists(
  db: Db,
  tenantId: string,
  type: 'user' | 'group',
  id: string,
): Promise<boolean> {
  const rows = await db.$queryRawUnsafe<unknown[]>(
    `SELECT 1 FROM ${type === 'user' ? 'users' : 'groups'} WHERE id = $1 AND tenant_id = $2`,
    id,
    tenantId,
  );
  return rows.length > 0;
}
