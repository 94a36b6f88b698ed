import { randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError, isId, newId } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { sha256Hex, tokenInvalid, type TokenVerifier } from './authenticator.js';
import type { Principal } from './principal.js';

/** Opaque service tokens: `sdt_` + 43 base64url characters (256 random bits). */
export const SERVICE_TOKEN_PREFIX = 'sdt_';
const TOKEN_SHAPE = /^sdt_[A-Za-z0-9_-]{43}$/;
/** last_used_at is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

export interface IssueTokenInput {
  tenantId: string;
  userId: string;
  name: string;
  scopes?: string[];
  expiresAt?: Date | null;
}

export interface IssuedToken {
  id: string;
  /** Shown once; only its SHA-256 is stored. */
  token: string;
  tenantId: string;
  userId: string;
  name: string;
  scopes: string[];
  expiresAt: Date | null;
}

export interface ServiceTokenInfo {
  id: string;
  name: string;
  tokenHint: string;
  userId: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Issues, lists, revokes and verifies service tokens (stored as SHA-256 hashes). */
export class ServiceTokenService implements TokenVerifier {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async issue(input: IssueTokenInput): Promise<IssuedToken> {
    const issues = [];
    if (!isId(input.tenantId, 'tnt')) issues.push({ field: 'tenant', reason: 'must be a tnt_ id' });
    if (!isId(input.userId, 'usr')) issues.push({ field: 'user', reason: 'must be a usr_ id' });
    if (!input.name.trim() || input.name.length > 200)
      issues.push({ field: 'name', reason: 'must be 1–200 characters' });
    if (input.expiresAt && input.expiresAt.getTime() <= this.now().getTime())
      issues.push({ field: 'expires', reason: 'must be in the future' });
    if (issues.length) throw new ValidationError('Invalid token request', issues);
    const user = await this.prisma.user.findFirst({
      where: { id: input.userId, tenantId: input.tenantId },
      select: { id: true },
    });
    if (!user) throw new NotFoundError(`User ${input.userId} in tenant ${input.tenantId}`);
    const token = SERVICE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const scopes = input.scopes?.length ? input.scopes : ['tenant:admin'];
    const row = await this.prisma.serviceToken.create({
      data: {
        id: newId('tok'),
        tenantId: input.tenantId,
        userId: input.userId,
        name: input.name.trim(),
        tokenHash: sha256Hex(token),
        tokenHint: token.slice(0, 10),
        scopes,
        expiresAt: input.expiresAt ?? null,
      },
    });
    return {
      id: row.id,
      token,
      tenantId: row.tenantId,
      userId: row.userId,
      name: row.name,
      scopes: row.scopes,
      expiresAt: row.expiresAt,
    };
  }

  async list(tenantId: string): Promise<ServiceTokenInfo[]> {
    return this.prisma.serviceToken.findMany({
      where: { tenantId },
      orderBy: { createdAt: 'asc' },
      select: {
        id: true,
        name: true,
        tokenHint: true,
        userId: true,
        scopes: true,
        createdAt: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedAt: true,
      },
    });
  }

  /** Revokes a token; true when it was active. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const r = await this.prisma.serviceToken.updateMany({
      where: { id, tenantId, revokedAt: null },
      data: { revokedAt: this.now() },
    });
    return r.count > 0;
  }

  accepts(token: string): boolean {
    return token.startsWith(SERVICE_TOKEN_PREFIX);
  }

  async verify(token: string, tokenKey: string): Promise<Principal> {
    if (!TOKEN_SHAPE.test(token)) throw tokenInvalid();
    // One plain-SQL round trip (this runs on every request).
    const rows = await this.prisma.$queryRaw<
      {
        id: string;
        tenant_id: string;
        user_id: string;
        scopes: string[];
        expires_at: Date | null;
        revoked_at: Date | null;
        last_used_at: Date | null;
        role: string | null;
        status: string | null;
        group_ids: string[] | null;
      }[]
    >`
      SELECT t.id, t.tenant_id, t.user_id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at,
             u.role, u.status,
             (SELECT array_agg(m.group_id) FROM group_members m
               WHERE m.tenant_id = t.tenant_id AND m.user_id = t.user_id) AS group_ids
        FROM service_tokens t
        LEFT JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
       WHERE t.token_hash = ${tokenKey}`;
    const now = this.now();
    const r = rows[0];
    if (!r || r.revoked_at || (r.expires_at && r.expires_at <= now)) throw tokenInvalid();
    if (r.status !== 'active') throw tokenInvalid("The token's user is not active");
    const row = { id: r.id, lastUsedAt: r.last_used_at };
    const touched = this.touched.get(row.id) ?? row.lastUsedAt?.getTime() ?? 0;
    if (now.getTime() - touched > TOUCH_INTERVAL_MS) {
      this.touched.set(row.id, now.getTime());
      if (this.touched.size > 10_000) this.touched.clear();
      // Best effort; a lost update only makes last_used_at a little stale.
      void this.prisma.serviceToken
        .update({ where: { id: row.id }, data: { lastUsedAt: now } })
        .catch(() => undefined);
    }
    return {
      tenantId: r.tenant_id,
      userId: r.user_id,
      groupIds: r.group_ids ?? [],
      scopes: r.scopes,
      isTenantAdmin: r.role === 'tenant_admin',
      kind: 'service_token',
      tokenKey,
      tokenId: row.id,
    };
  }
}
