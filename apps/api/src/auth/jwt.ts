import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError, ErrorCode, ForbiddenError, isId } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { tokenInvalid, type TokenVerifier } from './authenticator.js';
import { OIDC_SCOPES, type Principal } from './principal.js';

export interface JwtVerifierOptions {
  jwksUrl: string;
  /** `iss` must equal this, or `<issuer>/tenants/<tenant_id>`. */
  issuer: string;
  audience?: string;
  /** JWKS cache lifetime (platform default 5 minutes). */
  jwksCacheMs?: number;
  clockToleranceSeconds?: number;
}

const TENANT_CACHE_MS = 60_000;

/**
 * Platform JWTs (RS256/ES256) checked against the identity provider's JWKS. Claims: `sub` = usr_…,
 * `tenant_id` = tnt_…, `groups` = grp_…[], `scope` (space-separated). The tenant must exist; the user
 * is provisioned just in time on first sight. A token without application scopes gets
 * `tenant:admin`, as the platform does.
 */
export class JwtVerifier implements TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly knownTenants = new Map<string, number>();
  private readonly knownUsers = new Map<string, { tenantId: string; role: string; at: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: JwtVerifierOptions,
  ) {
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cacheMaxAge: options.jwksCacheMs ?? 300_000,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    });
  }

  accepts(token: string): boolean {
    return token.split('.').length === 3;
  }

  async verify(token: string, tokenKey: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const verifyOptions: Parameters<typeof jwtVerify>[2] = {
        algorithms: ['RS256', 'ES256'],
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp'],
      };
      if (this.options.audience) verifyOptions.audience = this.options.audience;
      ({ payload } = await jwtVerify(token, this.jwks, verifyOptions));
    } catch (err) {
      if (
        err instanceof joseErrors.JWKSTimeout ||
        err instanceof joseErrors.JWKSInvalid ||
        (err instanceof Error && !(err instanceof joseErrors.JOSEError))
      ) {
        throw new AppError(
          ErrorCode.SERVICE_UNAVAILABLE,
          "The identity provider's signing keys cannot be fetched; try again later",
          { cause: err },
        );
      }
      if (err instanceof joseErrors.JWTExpired) throw tokenInvalid('Token has expired');
      throw tokenInvalid();
    }
    const tenantId = payload.tenant_id;
    const sub = payload.sub;
    if (!isId(tenantId, 'tnt') || !isId(sub, 'usr'))
      throw tokenInvalid('Token lacks sub/tenant_id');
    const iss = payload.iss;
    if (iss !== this.options.issuer && iss !== `${this.options.issuer}/tenants/${tenantId}`)
      throw tokenInvalid('Token issuer is not accepted');
    const groups = Array.isArray(payload.groups)
      ? payload.groups.filter((g): g is string => isId(g, 'grp'))
      : [];
    const scopes = parseScopes(payload.scope ?? payload.scp);
    await this.requireTenant(tenantId);
    const user = await this.provisionUser(tenantId, sub, payload);
    return {
      tenantId,
      userId: sub,
      groupIds: [...new Set(groups)],
      scopes,
      isTenantAdmin: user.role === 'tenant_admin',
      kind: 'jwt',
      tokenKey,
    };
  }

  private async requireTenant(tenantId: string): Promise<void> {
    const seen = this.knownTenants.get(tenantId);
    if (seen && Date.now() - seen < TENANT_CACHE_MS) return;
    const t = await this.prisma.tenant.findUnique({
      where: { id: tenantId },
      select: { id: true },
    });
    if (!t) throw tokenInvalid('Unknown tenant');
    this.knownTenants.set(tenantId, Date.now());
  }

  private async provisionUser(
    tenantId: string,
    userId: string,
    claims: JWTPayload,
  ): Promise<{ role: string }> {
    const cached = this.knownUsers.get(userId);
    if (cached && cached.tenantId === tenantId && Date.now() - cached.at < TENANT_CACHE_MS)
      return cached;
    let user = await this.prisma.user.findUnique({
      where: { id: userId },
      select: { tenantId: true, role: true, status: true },
    });
    if (!user) {
      const email = typeof claims.email === 'string' ? claims.email.slice(0, 320) : null;
      const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : null;
      try {
        user = await this.prisma.user.create({
          data: { id: userId, tenantId, email, displayName: name, lastSeenAt: new Date() },
          select: { tenantId: true, role: true, status: true },
        });
      } catch {
        // Created concurrently by another request.
        user = await this.prisma.user.findUnique({
          where: { id: userId },
          select: { tenantId: true, role: true, status: true },
        });
      }
    }
    if (!user || user.tenantId !== tenantId)
      throw tokenInvalid('User does not belong to this tenant');
    if (user.status !== 'active') throw new ForbiddenError('User is suspended');
    this.knownUsers.set(userId, { tenantId, role: user.role, at: Date.now() });
    return user;
  }
}

export function parseScopes(raw: unknown): string[] {
  const list =
    typeof raw === 'string'
      ? raw.split(/\s+/)
      : Array.isArray(raw)
        ? raw.filter((s): s is string => typeof s === 'string')
        : [];
  const app = [...new Set(list.filter((s) => s && !OIDC_SCOPES.has(s)))];
  return app.length > 0 ? app : ['tenant:admin'];
}
