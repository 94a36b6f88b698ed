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

/** OIDC scopes carry no authorisation. */
export const OIDC_SCOPES = new Set([
  'openid',
  'profile',
  'email',
  'offline_access',
  'address',
  'phone',
]);
