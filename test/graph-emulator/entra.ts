import { createHash, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt, signJwt, verifyJwtSignature } from './jwt.js';
import { parseForm, readBody, sendJson } from './http.js';
import type { EmuApp, EmuModel, EmuTenant, EmuUser } from './model.js';

/**
 * Entra ID (v2.0 endpoints) as MSAL uses it: instance discovery, OpenID metadata, JWKS,
 * /authorize (answered at once with a redirect, acting as the signed-in user) and /token
 * (client credentials with a secret or a certificate assertion, authorization code + PKCE,
 * refresh token). Errors carry AADSTS codes, `error_codes`, `suberror` like the real service.
 */

interface AuthCode {
  clientId: string;
  tenantId: string;
  userId: string;
  redirectUri: string;
  challenge?: string;
  challengeMethod?: string;
  nonce?: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
}

interface RefreshGrant {
  clientId: string;
  tenantId: string;
  userId: string;
  scopes: string[];
  revoked: boolean;
  expiresAt: number;
}

export interface EntraOptions {
  /** Access token lifetime in seconds (default 3600). */
  accessTokenLifetimeSec?: number;
  /** Whether a dead refresh token's error carries `suberror: bad_token` (default true). */
  badTokenSuberror?: boolean;
}

export class EntraHost {
  readonly codes = new Map<string, AuthCode>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  private readonly usedAssertionIds = new Set<string>();
  readonly kid = randomBytes(8).toString('hex');

  constructor(
    private readonly model: EmuModel,
    private readonly signingKey: KeyObject,
    readonly publicKeyJwk: Record<string, unknown>,
    private readonly origin: () => string,
    private readonly graphOrigin: () => string,
    readonly options: EntraOptions = {},
  ) {}

  issuer(tenantId: string): string {
    return `${this.origin()}/${tenantId}/v2.0`;
  }

  /** Revokes every refresh token of a user (e.g. password reset, admin "revoke sessions"). */
  revokeUserGrants(userId: string): number {
    let n = 0;
    for (const g of this.refreshTokens.values()) {
      if (g.userId === userId && !g.revoked) {
        g.revoked = true;
        n++;
      }
    }
    return n;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'common' && parts[1] === 'discovery' && parts[2] === 'instance') {
      return this.instanceDiscovery(res, url);
    }
    const tenantSeg = parts[0] ?? '';
    const rest = parts.slice(1).join('/');
    const tenant = this.resolveTenant(tenantSeg);
    if (rest === 'v2.0/.well-known/openid-configuration') {
      if (!tenant)
        return this.aadError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenantSeg}' not found.`);
      return sendJson(res, 200, this.metadata(tenant.id));
    }
    if (rest === 'discovery/v2.0/keys') {
      return sendJson(res, 200, { keys: [{ ...this.publicKeyJwk, kid: this.kid, use: 'sig' }] });
    }
    if (rest === 'oauth2/v2.0/authorize' && req.method === 'GET') {
      return this.authorize(req, res, url, tenant);
    }
    if (rest === 'oauth2/v2.0/token' && req.method === 'POST') {
      if (!tenant)
        return this.aadError(
          res,
          400,
          'invalid_request',
          90002,
          `Tenant '${tenantSeg}' not found. Check to make sure you have the correct tenant ID.`,
        );
      const form = parseForm(await readBody(req, 1024 * 1024));
      return this.token(res, tenant, form);
    }
    sendJson(res, 404, { error: 'not_found' });
  }

  private resolveTenant(seg: string): EmuTenant | undefined {
    return (
      this.model.tenants.get(seg) ??
      [...this.model.tenants.values()].find(
        (t) => t.displayName.toLowerCase() === seg.toLowerCase(),
      )
    );
  }

  metadata(tenantId: string): Record<string, unknown> {
    const o = this.origin();
    return {
      token_endpoint: `${o}/${tenantId}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${o}/${tenantId}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: this.issuer(tenantId),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.graphOrigin()}/oidc/userinfo`,
      authorization_endpoint: `${o}/${tenantId}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${o}/${tenantId}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${o}/${tenantId}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'nonce',
        'name',
        'oid',
        'tid',
        'preferred_username',
      ],
      kerberos_endpoint: `${o}/${tenantId}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(o).host,
      cloud_graph_host_name: new URL(this.graphOrigin()).host,
      msgraph_host: new URL(this.graphOrigin()).host,
      rbac_url: 'https://pas.windows.net',
    };
  }

  private instanceDiscovery(res: ServerResponse, url: URL): void {
    const host = new URL(this.origin()).host;
    const ep =
      url.searchParams.get('authorization_endpoint') ??
      `${this.origin()}/common/oauth2/v2.0/authorize`;
    const tenant = new URL(ep).pathname.split('/').filter(Boolean)[0] ?? 'common';
    sendJson(res, 200, {
      tenant_discovery_endpoint: `${this.origin()}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  private aadError(
    res: ServerResponse,
    status: number,
    error: string,
    code: number,
    message: string,
    suberror?: string,
  ): void {
    const trace = randomUUID();
    const corr = randomUUID();
    const ts = new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
    const body: Record<string, unknown> = {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${trace} Correlation ID: ${corr} Timestamp: ${ts}`,
      error_codes: [code],
      timestamp: ts,
      trace_id: trace,
      correlation_id: corr,
      error_uri: `${this.origin()}/error?code=${code}`,
    };
    if (suberror) body.suberror = suberror;
    sendJson(res, status, body, { 'cache-control': 'no-store' });
  }

  // ---- /authorize ---------------------------------------------------------------------------

  private authorize(req: IncomingMessage, res: ServerResponse, url: URL, tenant?: EmuTenant): void {
    const q = url.searchParams;
    const html = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><body><p>${text.replace(/</g, '&lt;')}</p></body></html>`);
    };
    if (!tenant) return html(400, 'AADSTS90002: Tenant not found.');
    const app = tenant.apps.get(q.get('client_id') ?? '');
    if (!app)
      return html(
        400,
        `AADSTS700016: Application with identifier '${q.get('client_id')}' was not found in the directory.`,
      );
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!app.redirectUris.includes(redirectUri))
      return html(
        400,
        `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application.`,
      );
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    if (q.get('response_type') !== 'code') {
      back.searchParams.set('error', 'unsupported_response_type');
      back.searchParams.set(
        'error_description',
        'AADSTS700054: response_type is not enabled for the application.',
      );
      return this.redirect(res, back);
    }
    const method = q.get('code_challenge_method') ?? undefined;
    if (q.get('code_challenge') && method && method !== 'S256' && method !== 'plain') {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', 'AADSTS501491: Invalid code_challenge_method.');
      return this.redirect(res, back);
    }
    // Who is signing in: the test says so with a header; else the login_hint; else the first user.
    const who =
      (req.headers['x-emulator-user'] as string | undefined) ?? q.get('login_hint') ?? undefined;
    const user: EmuUser | undefined = who
      ? this.model.findUser(tenant.id, who)
      : [...tenant.users.values()][0];
    if (!user) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set(
        'error_description',
        'AADSTS50020: User account does not exist in tenant.',
      );
      return this.redirect(res, back);
    }
    if (user.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set(
        'error_description',
        'AADSTS65004: User declined to consent to access the app.',
      );
      return this.redirect(res, back);
    }
    const code = randomBytes(48).toString('base64url');
    this.codes.set(code, {
      clientId: app.clientId,
      tenantId: tenant.id,
      userId: user.id,
      redirectUri,
      challenge: q.get('code_challenge') ?? undefined,
      challengeMethod: method ?? (q.get('code_challenge') ? 'plain' : undefined),
      nonce: q.get('nonce') ?? undefined,
      scopes: (q.get('scope') ?? '').split(' ').filter(Boolean),
      expiresAt: this.model.now().getTime() + 10 * 60_000,
      used: false,
    });
    back.searchParams.set('code', code);
    back.searchParams.set('session_state', randomUUID());
    this.redirect(res, back);
  }

  private redirect(res: ServerResponse, to: URL): void {
    res.writeHead(302, { location: to.toString(), 'content-length': '0' });
    res.end();
  }

  // ---- /token -------------------------------------------------------------------------------

  private token(res: ServerResponse, tenant: EmuTenant, form: Record<string, string>): void {
    const clientId = form.client_id ?? '';
    const app = tenant.apps.get(clientId);
    if (!app)
      return this.aadError(
        res,
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'.`,
      );
    const authFailure = this.authenticateClient(app, tenant, form);
    if (authFailure)
      return this.aadError(res, 401, 'invalid_client', authFailure.code, authFailure.message);
    switch (form.grant_type) {
      case 'client_credentials':
        return this.clientCredentials(res, tenant, app, form);
      case 'authorization_code':
        return this.authorizationCode(res, tenant, app, form);
      case 'refresh_token':
        return this.refresh(res, tenant, app, form);
      default:
        return this.aadError(
          res,
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${form.grant_type}'.`,
        );
    }
  }

  private authenticateClient(
    app: EmuApp,
    tenant: EmuTenant,
    form: Record<string, string>,
  ): { code: number; message: string } | null {
    if (form.client_secret !== undefined) {
      if (app.secrets.includes(form.client_secret)) return null;
      return {
        code: 7000215,
        message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      };
    }
    if (form.client_assertion !== undefined) {
      if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        return { code: 700023, message: 'Invalid client assertion type.' };
      const jwt = decodeJwt(form.client_assertion);
      if (!jwt) return { code: 50027, message: 'JWT token is invalid or malformed.' };
      const h = jwt.header;
      const cert =
        typeof h['x5t#S256'] === 'string'
          ? app.certificates.find((c) => c.thumbprintSha256 === h['x5t#S256'])
          : typeof h.x5t === 'string'
            ? app.certificates.find((c) => c.thumbprintSha1 === h.x5t)
            : undefined;
      if (!cert)
        return {
          code: 700027,
          message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]`,
        };
      if (h.alg !== 'PS256' && h.alg !== 'RS256')
        return {
          code: 5002738,
          message: `Invalid JWT token. '${String(h.alg)}' is not a supported signature algorithm.`,
        };
      if (!verifyJwtSignature(jwt, cert.publicKey))
        return { code: 700027, message: 'Client assertion failed signature validation.' };
      const p = jwt.payload;
      const now = Math.floor(this.model.now().getTime() / 1000);
      const tokenEndpoint = `${this.origin()}/${tenant.id}/oauth2/v2.0/token`;
      const audOk =
        p.aud === tokenEndpoint ||
        p.aud === this.issuer(tenant.id) ||
        (typeof p.aud === 'string' && p.aud.startsWith(`${this.origin()}/${tenant.id}/`));
      if (!audOk)
        return {
          code: 700021,
          message: `Client assertion audience claim does not match Realm issuer.`,
        };
      if (p.iss !== app.clientId || p.sub !== app.clientId)
        return {
          code: 700021,
          message: 'Client assertion issuer and subject must be the client id.',
        };
      if (
        typeof p.exp !== 'number' ||
        p.exp < now - 300 ||
        (typeof p.nbf === 'number' && p.nbf > now + 300)
      )
        return { code: 700024, message: 'Client assertion is not within its valid time range.' };
      if (typeof p.jti === 'string') {
        if (this.usedAssertionIds.has(p.jti))
          return { code: 700025, message: 'Client assertion has already been used (replay).' };
        this.usedAssertionIds.add(p.jti);
      }
      return null;
    }
    return {
      code: 7000218,
      message:
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    };
  }

  private graphScopes(scope: string | undefined): {
    ok: boolean;
    resource?: string;
    rest: string[];
  } {
    const parts = (scope ?? '').split(' ').filter(Boolean);
    const g = this.graphOrigin();
    const rest: string[] = [];
    let resource: string | undefined;
    for (const s of parts) {
      if (['openid', 'profile', 'offline_access', 'email'].includes(s)) continue;
      const slash = s.lastIndexOf('/');
      const res = slash > 0 ? s.slice(0, slash) : g;
      const name = slash > 0 ? s.slice(slash + 1) : s;
      if (res !== g && res !== 'https://graph.microsoft.com')
        return { ok: false, resource: res, rest };
      resource = g;
      rest.push(name);
    }
    return { ok: true, resource, rest };
  }

  private clientCredentials(
    res: ServerResponse,
    tenant: EmuTenant,
    app: EmuApp,
    form: Record<string, string>,
  ): void {
    const sc = this.graphScopes(form.scope);
    if (!sc.ok)
      return this.aadError(
        res,
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${sc.resource} was not found in the tenant named ${tenant.displayName}.`,
      );
    if (sc.rest.length !== 1 || sc.rest[0] !== '.default')
      return this.aadError(
        res,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${form.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    const lifetime = this.options.accessTokenLifetimeSec ?? 3600;
    const token = this.accessToken(
      tenant.id,
      app,
      { roles: app.appRoles, idtyp: 'app', oid: app.clientId, sub: app.clientId },
      lifetime,
    );
    sendJson(
      res,
      200,
      { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
      { 'cache-control': 'no-store' },
    );
  }

  private accessToken(
    tenantId: string,
    app: EmuApp,
    claims: Record<string, unknown>,
    lifetimeSec: number,
  ): string {
    const now = Math.floor(this.model.now().getTime() / 1000);
    return signJwt(
      { kid: this.kid },
      {
        aud: this.graphOrigin(),
        iss: this.issuer(tenantId),
        iat: now,
        nbf: now,
        exp: now + lifetimeSec,
        appid: app.clientId,
        azp: app.clientId,
        tid: tenantId,
        ver: '2.0',
        uti: randomBytes(12).toString('base64url'),
        ...claims,
      },
      this.signingKey,
    );
  }

  private userTokens(
    res: ServerResponse,
    tenant: EmuTenant,
    app: EmuApp,
    user: EmuUser,
    scopes: string[],
    nonce: string | undefined,
  ): void {
    const lifetime = this.options.accessTokenLifetimeSec ?? 3600;
    const scp = scopes.includes('.default') ? app.delegatedScopes : scopes;
    const access = this.accessToken(
      tenant.id,
      app,
      {
        scp: scp.join(' '),
        oid: user.id,
        sub: user.id,
        upn: user.userPrincipalName,
        name: user.displayName,
        idtyp: 'user',
      },
      lifetime,
    );
    const now = Math.floor(this.model.now().getTime() / 1000);
    const idToken = signJwt(
      { kid: this.kid },
      {
        aud: app.clientId,
        iss: this.issuer(tenant.id),
        iat: now,
        nbf: now,
        exp: now + 3600,
        name: user.displayName,
        oid: user.id,
        preferred_username: user.userPrincipalName,
        sub: createHash('sha256')
          .update(user.id + app.clientId)
          .digest('base64url'),
        tid: tenant.id,
        ver: '2.0',
        ...(nonce ? { nonce } : {}),
      },
      this.signingKey,
    );
    const refresh = randomBytes(64).toString('base64url');
    this.refreshTokens.set(refresh, {
      clientId: app.clientId,
      tenantId: tenant.id,
      userId: user.id,
      scopes,
      revoked: false,
      expiresAt: this.model.now().getTime() + 90 * 86_400_000,
    });
    const scopeOut = [
      ...scp.map((s) => `${this.graphOrigin()}/${s}`),
      'openid',
      'profile',
      'offline_access',
    ].join(' ');
    sendJson(
      res,
      200,
      {
        token_type: 'Bearer',
        scope: scopeOut,
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: access,
        refresh_token: refresh,
        id_token: idToken,
        client_info: Buffer.from(JSON.stringify({ uid: user.id, utid: tenant.id })).toString(
          'base64url',
        ),
      },
      { 'cache-control': 'no-store' },
    );
  }

  private authorizationCode(
    res: ServerResponse,
    tenant: EmuTenant,
    app: EmuApp,
    form: Record<string, string>,
  ): void {
    const grant = this.codes.get(form.code ?? '');
    if (!grant || grant.clientId !== app.clientId || grant.tenantId !== tenant.id)
      return this.aadError(
        res,
        400,
        'invalid_grant',
        9002313,
        'Invalid request. Request is malformed or invalid.',
      );
    if (grant.used)
      return this.aadError(
        res,
        400,
        'invalid_grant',
        54005,
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
      );
    if (grant.expiresAt < this.model.now().getTime())
      return this.aadError(
        res,
        400,
        'invalid_grant',
        70008,
        'The provided authorization code or refresh token has expired due to inactivity.',
      );
    if (grant.redirectUri !== form.redirect_uri)
      return this.aadError(
        res,
        400,
        'invalid_grant',
        50148,
        'The redirect_uri does not match the redirect URI used in the authorization request.',
      );
    if (grant.challenge) {
      const verifier = form.code_verifier ?? '';
      const computed =
        grant.challengeMethod === 'S256'
          ? createHash('sha256').update(verifier).digest('base64url')
          : verifier;
      if (computed !== grant.challenge)
        return this.aadError(
          res,
          400,
          'invalid_grant',
          501481,
          'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
        );
    }
    grant.used = true;
    const user = tenant.users.get(grant.userId)!;
    const sc = this.graphScopes(form.scope);
    this.userTokens(res, tenant, app, user, sc.rest.length ? sc.rest : grant.scopes, grant.nonce);
  }

  private refresh(
    res: ServerResponse,
    tenant: EmuTenant,
    app: EmuApp,
    form: Record<string, string>,
  ): void {
    const grant = this.refreshTokens.get(form.refresh_token ?? '');
    const sub = this.options.badTokenSuberror === false ? undefined : 'bad_token';
    if (!grant || grant.clientId !== app.clientId || grant.tenantId !== tenant.id)
      return this.aadError(
        res,
        400,
        'invalid_grant',
        9002313,
        'Invalid request. Request is malformed or invalid.',
        sub,
      );
    if (grant.revoked)
      return this.aadError(
        res,
        400,
        'invalid_grant',
        50173,
        'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
        sub,
      );
    if (grant.expiresAt < this.model.now().getTime())
      return this.aadError(
        res,
        400,
        'invalid_grant',
        700082,
        'The refresh token has expired due to inactivity.',
        sub,
      );
    // Refresh tokens rotate: the old one stays valid (as in Entra) but a new one is issued.
    const user = tenant.users.get(grant.userId);
    if (!user)
      return this.aadError(
        res,
        400,
        'invalid_grant',
        50034,
        'The user account does not exist in the directory.',
        sub,
      );
    const sc = this.graphScopes(form.scope);
    this.userTokens(res, tenant, app, user, sc.rest.length ? sc.rest : grant.scopes, undefined);
  }
}
