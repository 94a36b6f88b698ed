/** Who is calling, as established by the auth middleware. */
export interface Principal {
  tenantId: string;
  userId: string;
  /** Groups the user belongs to (`grp_…`): from the JWT `groups` claim or, for service tokens, the database. */
  groupIds: string[];
  /** Application scopes (`tenant:admin`, `files:read`, …). */
  scopes: string[];
  /** The user's database role is `tenant_admin`. */
  isTenantAdmin: boolean;
  /** How the caller authenticated. */
  kind: 'jwt' | 'service_token';
  /** Rate-limit key: one per token (SHA-256 of the bearer). */
  tokenKey: string;
  /** Service token id (`tok_…`), for service tokens. */
  tokenId?: string;
}

const ADMIN_SCOPES = new Set(['tenant:admin', 'admin:*', '*', 'partner:admin']);

/** Connector management: scope `tenant:admin` (or a wider admin scope) or the tenant_admin role. */
export function canManageConnectors(p: Principal): boolean {
  return p.isTenantAdmin || p.scopes.some((s) => ADMIN_SCOPES.has(s));
}

/**
 * Administration of users and groups (who exists, who is an admin, who is in which group) changes
 * who may read what, so it needs both: the tenant_admin *role* in the database and a token whose
 * scopes allow administration. The scope alone is not enough — a platform token without
 * application scopes defaults to `tenant:admin`, and that must not let a user make themselves an
 * admin (who bypasses every file permission) or join a group that opens files to them.
 */
export function canAdministerPrincipals(p: Principal): boolean {
  return p.isTenantAdmin && p.scopes.some((s) => ADMIN_SCOPES.has(s));
}

/** OIDC scopes carry no authorisation. */
export const OIDC_SCOPES = new Set([
  'openid',
  'profile',
  'email',
  'offline_access',
  'address',
  'phone',
]);
