import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  ServerError,
  type AuthenticationResult,
  type Configuration,
  type ICachePlugin,
} from '@azure/msal-node';
import {
  AppError,
  AuthFailedError,
  ErrorCode,
  UnreachableError,
  ValidationError,
  type SecretBox,
} from '@scaidrive/core';
import { ReauthorizeError } from './errors.js';
import type { TokenSource } from './graph-client.js';

/**
 * Entra ID authentication through MSAL:
 * - `app_auth`: client credentials with a client secret or a certificate (`/.default` scope);
 * - `user_auth`: authorization code + PKCE, started by `startAuthorization` (single-use, expiring
 *   state bound to connector + tenant, kept through an `OAuthStateStore` port) and finished by
 *   `completeAuthorization`; the MSAL token cache lives encrypted in the database through a
 *   `TokenCacheStore` port, and refreshes happen silently. A dead grant is a `ReauthorizeError`.
 * Authority host and Graph root come from configuration (sovereign clouds), never hard-coded.
 */

/** Where the serialized MSAL token cache is kept (one connector). */
export interface TokenCacheStore {
  load(): Promise<string | null>;
  save(serialized: string): Promise<void>;
}

/** Wraps a store so that what it keeps is a SecretBox envelope, never the plain cache. */
export function encryptedTokenCacheStore(
  raw: TokenCacheStore,
  box: SecretBox,
  context: string,
): TokenCacheStore {
  return {
    async load() {
      const enc = await raw.load();
      return enc ? box.decrypt(enc, context) : null;
    },
    save: (s) => raw.save(box.encrypt(s, context)),
  };
}

export interface SharePointAuthConfig {
  authType: 'app_auth' | 'user_auth';
  /** Entra tenant (directory) id or domain. */
  azureTenantId: string;
  azureClientId: string;
  clientSecret?: string;
  /** PEM holding the app's certificate and its private key (certificate credential). */
  certificatePem?: string;
  /** e.g. `https://login.microsoftonline.com` (config AZURE_AUTHORITY_HOST). */
  authorityHost: string;
  /** e.g. `https://graph.microsoft.com` (config GRAPH_BASE_URL). */
  graphBaseUrl: string;
  /** user_auth: the token cache store. */
  tokenCache?: TokenCacheStore;
  /** user_auth: home account id of the authorised user (from `completeAuthorization`). */
  accountId?: string | null;
}

export function graphScope(graphBaseUrl: string): string {
  return `${new URL(graphBaseUrl).origin}/.default`;
}

function cachePlugin(store: TokenCacheStore): ICachePlugin {
  return {
    async beforeCacheAccess(ctx) {
      const s = await store.load();
      if (s) ctx.tokenCache.deserialize(s);
    },
    async afterCacheAccess(ctx) {
      if (ctx.cacheHasChanged) await store.save(ctx.tokenCache.serialize());
    },
  };
}

function splitPem(pem: string): { certPem: string; keyPem: string } {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const key =
    /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(
      pem,
    )?.[0];
  if (!cert || !key)
    throw new ValidationError(
      'The certificate must be a PEM with the certificate and its private key',
      [{ field: 'azure_certificate', reason: 'expected a CERTIFICATE and a PRIVATE KEY block' }],
    );
  return { certPem: cert, keyPem: key };
}

export function buildMsalApp(cfg: SharePointAuthConfig): ConfidentialClientApplication {
  const host = new URL(cfg.authorityHost);
  const auth: Configuration['auth'] = {
    clientId: cfg.azureClientId,
    authority: `${host.origin}/${encodeURIComponent(cfg.azureTenantId)}`,
    // A tenant-specific authority on the configured host: MSAL then reads that host's OpenID
    // metadata directly instead of asking the public cloud's instance discovery.
    knownAuthorities: [host.host],
  };
  if (cfg.certificatePem) {
    const { certPem, keyPem } = splitPem(cfg.certificatePem);
    const cert = new X509Certificate(certPem);
    auth.clientCertificate = {
      thumbprintSha256: createHash('sha256').update(cert.raw).digest('hex'),
      privateKey: keyPem,
      x5c: certPem,
    };
  } else if (cfg.clientSecret) {
    auth.clientSecret = cfg.clientSecret;
  } else {
    throw new ValidationError('SharePoint connector needs a client secret or a certificate', [
      { field: 'azure_client_secret', reason: 'is required' },
    ]);
  }
  return new ConfidentialClientApplication({
    auth,
    cache:
      cfg.authType === 'user_auth' && cfg.tokenCache
        ? { cachePlugin: cachePlugin(cfg.tokenCache) }
        : {},
  });
}

/** Maps MSAL failures to our errors (never echoing secrets). */
export function msalError(err: unknown, userAuth: boolean): Error {
  if (err instanceof AppError) return err;
  const e = err as {
    errorCode?: string;
    errorMessage?: string;
    subError?: string;
    message?: string;
  };
  const code = e.errorCode ?? '';
  const aadsts = /AADSTS\d+/.exec(e.errorMessage ?? e.message ?? '')?.[0];
  const detail = aadsts ? ` (${code}, ${aadsts})` : code ? ` (${code})` : '';
  if (err instanceof InteractionRequiredAuthError || (userAuth && code === 'invalid_grant'))
    return new ReauthorizeError(undefined, { cause: err });
  if (/network|endpoints_resolution|fetch/i.test(code) || hasSyscallCode(err))
    return new UnreachableError(`Microsoft Entra ID could not be reached${detail}`, { cause: err });
  if (err instanceof ServerError || code) {
    if (code === 'temporarily_unavailable')
      return new UnreachableError(`Microsoft Entra ID is unavailable${detail}`, { cause: err });
    return new AuthFailedError(`Microsoft Entra ID rejected the connector's credentials${detail}`, {
      cause: err,
    });
  }
  return new AppError(ErrorCode.INTERNAL, 'Token acquisition failed', { cause: err });
}

function hasSyscallCode(err: unknown): boolean {
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && /^(E[A-Z]+|UND_ERR)/.test(c)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** Access tokens for Graph, memoised until shortly before they expire. */
export class SharePointAuth implements TokenSource {
  readonly msal: ConfidentialClientApplication;
  private cached: { token: string; expiresAt: number; margin: number } | null = null;
  private inflight: Promise<string> | null = null;
  /** Token acquisitions that reached MSAL (for tests and metrics). */
  acquisitions = 0;

  constructor(readonly cfg: SharePointAuthConfig) {
    this.msal = buildMsalApp(cfg);
  }

  get scopes(): string[] {
    return [graphScope(this.cfg.graphBaseUrl)];
  }

  async getAccessToken(): Promise<string> {
    if (this.cached && this.cached.expiresAt - this.cached.margin > Date.now())
      return this.cached.token;
    this.inflight ??= this.acquire().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Forgets the memoised token (after a 401). */
  invalidate(): void {
    this.cached = null;
  }

  private async acquire(): Promise<string> {
    this.acquisitions++;
    let r: AuthenticationResult | null;
    const userAuth = this.cfg.authType === 'user_auth';
    try {
      if (!userAuth) {
        r = await this.msal.acquireTokenByClientCredential({ scopes: this.scopes });
      } else {
        const cache = this.msal.getTokenCache();
        const account = this.cfg.accountId
          ? await cache.getAccountByHomeId(this.cfg.accountId)
          : ((await cache.getAllAccounts())[0] ?? null);
        if (!account)
          throw new ReauthorizeError('The connector has not been authorized yet: authorize it');
        r = await this.msal.acquireTokenSilent({ account, scopes: this.scopes });
      }
    } catch (err) {
      throw msalError(err, userAuth);
    }
    if (!r?.accessToken) throw new AuthFailedError('Microsoft Entra ID returned no access token');
    const expiresAt = r.expiresOn?.getTime() ?? Date.now() + 300_000;
    // Renew five minutes before expiry, or half-way through a shorter lifetime.
    const margin = Math.min(5 * 60_000, Math.max(0, (expiresAt - Date.now()) / 2));
    this.cached = { token: r.accessToken, expiresAt, margin };
    return r.accessToken;
  }
}

// ---- user_auth: authorization code + PKCE -------------------------------------------------------

/**
 * Low level, for callers that keep the state, PKCE verifier and nonce themselves (the API):
 * the Entra authorize URL for this app, with PKCE (S256), state and nonce.
 */
export async function buildAuthorizationUrl(
  cfg: SharePointAuthConfig,
  req: {
    state: string;
    codeChallenge: string;
    nonce: string;
    redirectUri: string;
    loginHint?: string;
  },
): Promise<string> {
  const app = buildMsalApp({ ...cfg, authType: 'user_auth', tokenCache: undefined });
  try {
    return await app.getAuthCodeUrl({
      scopes: [graphScope(cfg.graphBaseUrl), 'offline_access'],
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      codeChallengeMethod: 'S256',
      state: req.state,
      nonce: req.nonce,
      responseMode: 'query',
      prompt: 'select_account',
      ...(req.loginHint ? { loginHint: req.loginHint } : {}),
    });
  } catch (err) {
    throw msalError(err, true);
  }
}

/**
 * Low level: redeems an authorization code (PKCE verifier + nonce of the request) and returns the
 * serialized MSAL token cache to store (encrypted) on the connector, with the account.
 */
export async function redeemAuthorizationCode(
  cfg: SharePointAuthConfig,
  req: { code: string; codeVerifier: string; nonce: string; redirectUri: string },
): Promise<{ tokenCache: string; homeAccountId: string; username: string }> {
  let serialized: string | null = null;
  const store: TokenCacheStore = {
    load: async () => null,
    save: async (s) => {
      serialized = s;
    },
  };
  const app = buildMsalApp({ ...cfg, authType: 'user_auth', tokenCache: store });
  let r: AuthenticationResult | null;
  try {
    r = await app.acquireTokenByCode({
      code: req.code,
      scopes: [graphScope(cfg.graphBaseUrl), 'offline_access'],
      redirectUri: req.redirectUri,
      codeVerifier: req.codeVerifier,
      nonce: req.nonce,
    });
  } catch (err) {
    const mapped = msalError(err, false);
    throw mapped instanceof ReauthorizeError
      ? new AuthFailedError('The authorization code was refused: start again', { cause: err })
      : mapped;
  }
  if (!r?.account || serialized === null)
    throw new AuthFailedError('Microsoft Entra ID returned no account');
  return {
    tokenCache: serialized,
    homeAccountId: r.account.homeAccountId,
    username: r.account.username,
  };
}

/** A token cache held in memory, seeded from a serialized cache (e.g. decrypted from the row). */
export function memoryTokenCacheStore(
  initial: string | null,
  onSave?: (s: string) => Promise<void>,
): TokenCacheStore {
  let value = initial;
  return {
    load: async () => value,
    save: async (s) => {
      value = s;
      await onSave?.(s);
    },
  };
}

/** One pending authorization (the OAuthState table). */
export interface OAuthStateRecord {
  /** SHA-256 (base64url) of the state; the state itself is never stored. */
  stateHash: string;
  tenantId: string;
  connectorId: string;
  /** SecretBox envelope of the PKCE verifier. */
  codeVerifierEnc: string;
  nonce: string;
  redirectUri: string;
  createdBy?: string | null;
  expiresAt: Date;
}

export interface OAuthStateStore {
  create(record: OAuthStateRecord): Promise<void>;
  /**
   * Marks the state used and returns it, atomically: a state is redeemable once. Returns null
   * when unknown or already used. (Expiry and binding are checked by the caller.)
   */
  consume(stateHash: string): Promise<OAuthStateRecord | null>;
}

export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('base64url');
}

function verifierContext(connectorId: string): string {
  return `oauth_state:${connectorId}:code_verifier`;
}

export interface StartAuthorizationInput {
  tenantId: string;
  connectorId: string;
  redirectUri: string;
  createdBy?: string | null;
  stateStore: OAuthStateStore;
  secretBox: SecretBox;
  /** Lifetime of the state (default 10 minutes). */
  ttlMs?: number;
  /** Pre-fill the sign-in name. */
  loginHint?: string;
}

export async function startAuthorization(
  cfg: SharePointAuthConfig,
  input: StartAuthorizationInput,
): Promise<{ authorizationUrl: string; state: string; expiresAt: Date }> {
  const app = buildMsalApp({ ...cfg, authType: 'user_auth', tokenCache: undefined });
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = randomBytes(32).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const expiresAt = new Date(Date.now() + (input.ttlMs ?? 10 * 60_000));
  let authorizationUrl: string;
  try {
    authorizationUrl = await app.getAuthCodeUrl({
      scopes: [graphScope(cfg.graphBaseUrl), 'offline_access'],
      redirectUri: input.redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state,
      nonce,
      responseMode: 'query',
      prompt: 'select_account',
      ...(input.loginHint ? { loginHint: input.loginHint } : {}),
    });
  } catch (err) {
    throw msalError(err, true);
  }
  await input.stateStore.create({
    stateHash: hashState(state),
    tenantId: input.tenantId,
    connectorId: input.connectorId,
    codeVerifierEnc: input.secretBox.encrypt(verifier, verifierContext(input.connectorId)),
    nonce,
    redirectUri: input.redirectUri,
    createdBy: input.createdBy ?? null,
    expiresAt,
  });
  return { authorizationUrl, state, expiresAt };
}

export interface CompleteAuthorizationInput {
  state: string;
  code: string;
  /** When the callback knows them (e.g. from its route), they must match the state's binding. */
  tenantId?: string;
  connectorId?: string;
  stateStore: OAuthStateStore;
  secretBox: SecretBox;
  /** The connector's token cache (where the new grant is written). */
  tokenCache: TokenCacheStore;
}

export class OAuthStateError extends AppError {
  constructor(message: string) {
    super(ErrorCode.VALIDATION_ERROR, message, { action: 'fail_job' });
  }
}

/**
 * Redeems the code: checks the state (known, unused, unexpired, bound to this connector and
 * tenant), exchanges the code with the PKCE verifier, and stores the MSAL cache. Returns the
 * account to record on the connector.
 */
export async function completeAuthorization(
  cfg: SharePointAuthConfig,
  input: CompleteAuthorizationInput,
): Promise<{ connectorId: string; tenantId: string; homeAccountId: string; username: string }> {
  const rec = await input.stateStore.consume(hashState(input.state));
  if (!rec) throw new OAuthStateError('Unknown or already used authorization state');
  if (rec.expiresAt.getTime() < Date.now())
    throw new OAuthStateError('The authorization request expired: start again');
  if (
    (input.tenantId && input.tenantId !== rec.tenantId) ||
    (input.connectorId && input.connectorId !== rec.connectorId)
  )
    throw new OAuthStateError('The authorization state belongs to another connector');
  const verifier = input.secretBox.decrypt(rec.codeVerifierEnc, verifierContext(rec.connectorId));
  const app = buildMsalApp({ ...cfg, authType: 'user_auth', tokenCache: input.tokenCache });
  let r: AuthenticationResult | null;
  try {
    r = await app.acquireTokenByCode({
      code: input.code,
      scopes: [graphScope(cfg.graphBaseUrl), 'offline_access'],
      redirectUri: rec.redirectUri,
      codeVerifier: verifier,
      nonce: rec.nonce,
    });
  } catch (err) {
    const mapped = msalError(err, false);
    throw mapped instanceof ReauthorizeError
      ? new AuthFailedError('The authorization code was refused: start again', { cause: err })
      : mapped;
  }
  if (!r?.account) throw new AuthFailedError('Microsoft Entra ID returned no account');
  return {
    connectorId: rec.connectorId,
    tenantId: rec.tenantId,
    homeAccountId: r.account.homeAccountId,
    username: r.account.username,
  };
}
