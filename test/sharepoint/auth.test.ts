import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { createHash, X509Certificate } from 'node:crypto';
import { SecretBox, generateSecretKeySpec, parseSecretKeys } from '@scaidrive/core';
import {
  SharePointAuth,
  completeAuthorization,
  encryptedTokenCacheStore,
  hashState,
  startAuthorization,
  type OAuthStateRecord,
  type OAuthStateStore,
  type SharePointAuthConfig,
  type TokenCacheStore,
} from '@scaidrive/connector-sharepoint';
import { startSharePointFixture, type SpFixture } from './fixture.js';

let fx: SpFixture;
const box = new SecretBox(parseSecretKeys(generateSecretKeySpec('k1')));

beforeAll(async () => {
  fx = await startSharePointFixture({ accessTokenLifetimeSec: 120 });
});
afterAll(async () => {
  await fx.close();
  expect(fx.guard.violations).toEqual([]);
});

function cfg(over: Partial<SharePointAuthConfig> = {}): SharePointAuthConfig {
  return {
    authType: 'app_auth',
    azureTenantId: fx.tenantId,
    azureClientId: fx.clientId,
    clientSecret: fx.secret,
    authorityHost: fx.emu.authorityHost,
    graphBaseUrl: fx.emu.graphBaseUrl,
    ...over,
  };
}

async function me(token: string) {
  const r = await fetch(`${fx.emu.graphBaseUrl}/v1.0/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: r.status,
    body: (await r.json()) as { id?: string; userPrincipalName?: string },
  };
}

class MemoryStateStore implements OAuthStateStore {
  readonly rows = new Map<string, OAuthStateRecord & { used: boolean }>();
  async create(r: OAuthStateRecord) {
    this.rows.set(r.stateHash, { ...r, used: false });
  }
  async consume(h: string) {
    const r = this.rows.get(h);
    if (!r || r.used) return null;
    r.used = true;
    return r;
  }
}

class MemoryCache implements TokenCacheStore {
  value: string | null = null;
  saves = 0;
  async load() {
    return this.value;
  }
  async save(s: string) {
    this.value = s;
    this.saves++;
  }
}

describe('app_auth', () => {
  it('gets a Graph token with a client secret (/.default) and memoises it', async () => {
    const auth = new SharePointAuth(cfg());
    const t = await auth.getAccessToken();
    const payload = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());
    expect(payload.aud).toBe(fx.emu.graphBaseUrl);
    expect(payload.roles).toContain('Sites.ReadWrite.All');
    await auth.getAccessToken();
    expect(auth.acquisitions).toBe(1);
  });

  it('gets a token with a certificate (PS256 client assertion, x5t#S256)', async () => {
    const before = fx.emu.requests.length;
    const auth = new SharePointAuth(
      cfg({ clientSecret: undefined, certificatePem: fx.certificatePem }),
    );
    expect(await auth.getAccessToken()).toMatch(/^ey/);
    const tokenCalls = fx.emu.requests.slice(before).filter((r) => r.route === 'token');
    expect(tokenCalls.every((r) => r.status === 200)).toBe(true);
  });

  it('the emulator also takes an RS256 assertion with a SHA-1 thumbprint (older MSAL)', async () => {
    const cert = new X509Certificate(fx.certificatePem);
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: fx.clientId,
        authority: `${fx.emu.authorityHost}/${fx.tenantId}`,
        knownAuthorities: [new URL(fx.emu.authorityHost).host],
        clientCertificate: {
          thumbprint: createHash('sha1').update(cert.raw).digest('hex'),
          privateKey: /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(
            fx.certificatePem,
          )![0],
        },
      },
    });
    const r = await app.acquireTokenByClientCredential({
      scopes: [`${fx.emu.graphBaseUrl}/.default`],
    });
    expect(r?.accessToken).toBeTruthy();
  });

  it('maps a wrong secret to CONNECTOR_AUTH_FAILED without echoing it', async () => {
    const auth = new SharePointAuth(cfg({ clientSecret: 'definitely-wrong' }));
    const err = await auth.getAccessToken().catch((e) => e);
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.message).toContain('AADSTS7000215');
    expect(err.message).not.toContain('definitely-wrong');
  });

  it('maps an unknown tenant to CONNECTOR_AUTH_FAILED and a dead host to CONNECTOR_UNREACHABLE', async () => {
    const e1 = await new SharePointAuth(
      cfg({ azureTenantId: '00000000-0000-0000-0000-00000000dead' }),
    )
      .getAccessToken()
      .catch((e) => e);
    expect(['CONNECTOR_AUTH_FAILED', 'CONNECTOR_UNREACHABLE']).toContain(e1.code);
    const e2 = await new SharePointAuth(cfg({ authorityHost: 'https://127.0.0.1:9' }))
      .getAccessToken()
      .catch((e) => e);
    expect(e2.code).toBe('CONNECTOR_UNREACHABLE');
  });
});

describe('user_auth (authorization code + PKCE)', () => {
  const states = new MemoryStateStore();
  const rawCache = new MemoryCache();
  const cache = encryptedTokenCacheStore(rawCache, box, 'connector:cnn_1:token_cache');
  let accountId = '';

  async function authorizeAs(user: string, connectorId = 'cnn_1', tenantId = 'tnt_1') {
    const started = await startAuthorization(cfg({ authType: 'user_auth' }), {
      tenantId,
      connectorId,
      redirectUri: fx.redirectUri,
      stateStore: states,
      secretBox: box,
    });
    const url = new URL(started.authorizationUrl);
    expect(url.origin).toBe(fx.emu.authorityHost);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toBe(started.state);
    // The user signs in: the emulator answers with the redirect to our callback.
    const r = await fetch(url, { redirect: 'manual', headers: { 'x-emulator-user': user } });
    expect(r.status).toBe(302);
    const back = new URL(r.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(fx.redirectUri);
    return {
      state: back.searchParams.get('state')!,
      code: back.searchParams.get('code')!,
      started,
    };
  }

  it('authorize → callback stores an encrypted cache; tokens act as the user', async () => {
    const { state, code, started } = await authorizeAs(fx.alice.userPrincipalName);
    expect(states.rows.get(hashState(state))).toBeDefined();
    expect(JSON.stringify([...states.rows.values()])).not.toContain(state);
    const done = await completeAuthorization(cfg({ authType: 'user_auth' }), {
      state,
      code,
      connectorId: 'cnn_1',
      tenantId: 'tnt_1',
      stateStore: states,
      secretBox: box,
      tokenCache: cache,
    });
    expect(done.connectorId).toBe('cnn_1');
    expect(done.username).toBe(fx.alice.userPrincipalName);
    accountId = done.homeAccountId;
    expect(rawCache.value).toMatch(/^v1\./); // a SecretBox envelope
    expect(rawCache.value).not.toContain('RefreshToken');
    expect(started.expiresAt.getTime()).toBeGreaterThan(Date.now());

    const auth = new SharePointAuth(cfg({ authType: 'user_auth', tokenCache: cache, accountId }));
    const who = await me(await auth.getAccessToken());
    expect(who.body.id).toBe(fx.alice.id);
  });

  it('a state is single-use and bound to its connector', async () => {
    const { state, code } = await authorizeAs(fx.alice.userPrincipalName, 'cnn_2');
    const wrong = await completeAuthorization(cfg({ authType: 'user_auth' }), {
      state,
      code,
      connectorId: 'cnn_other',
      stateStore: states,
      secretBox: box,
      tokenCache: new MemoryCache(),
    }).catch((e) => e);
    expect(wrong.message).toMatch(/another connector/);
    const again = await completeAuthorization(cfg({ authType: 'user_auth' }), {
      state,
      code,
      connectorId: 'cnn_2',
      stateStore: states,
      secretBox: box,
      tokenCache: new MemoryCache(),
    }).catch((e) => e);
    expect(again.message).toMatch(/already used/);
  });

  it('an expired state is refused', async () => {
    const s = await startAuthorization(cfg({ authType: 'user_auth' }), {
      tenantId: 'tnt_1',
      connectorId: 'cnn_3',
      redirectUri: fx.redirectUri,
      stateStore: states,
      secretBox: box,
      ttlMs: -1,
    });
    const err = await completeAuthorization(cfg({ authType: 'user_auth' }), {
      state: s.state,
      code: 'x',
      stateStore: states,
      secretBox: box,
      tokenCache: new MemoryCache(),
    }).catch((e) => e);
    expect(err.message).toMatch(/expired/);
  });

  it('refreshes silently with the refresh token, then a revoked grant means re-authorize', async () => {
    const savesBefore = rawCache.saves;
    const grantsBefore = fx.emu.entra.refreshTokens.size;
    // Access tokens live 120 s, inside MSAL's 5-minute renewal window: a new instance refreshes.
    const auth = new SharePointAuth(cfg({ authType: 'user_auth', tokenCache: cache, accountId }));
    const who = await me(await auth.getAccessToken());
    expect(who.body.id).toBe(fx.alice.id);
    expect(fx.emu.entra.refreshTokens.size).toBeGreaterThan(grantsBefore);
    expect(rawCache.saves).toBeGreaterThan(savesBefore);

    expect(fx.emu.entra.revokeUserGrants(fx.alice.id)).toBeGreaterThan(0);
    const err = await new SharePointAuth(
      cfg({ authType: 'user_auth', tokenCache: cache, accountId }),
    )
      .getAccessToken()
      .catch((e) => e);
    expect(err.code).toBe('CONNECTOR_REAUTHORIZE');
    expect(err.action).toBe('fail_job');
  });

  it('without suberror (a plain invalid_grant) it is still re-authorize', async () => {
    const { state, code } = await authorizeAs(fx.bob.userPrincipalName, 'cnn_4');
    const c2 = new MemoryCache();
    const done = await completeAuthorization(cfg({ authType: 'user_auth' }), {
      state,
      code,
      stateStore: states,
      secretBox: box,
      tokenCache: c2,
    });
    fx.emu.entra.options.badTokenSuberror = false;
    try {
      fx.emu.entra.revokeUserGrants(fx.bob.id);
      const err = await new SharePointAuth(
        cfg({ authType: 'user_auth', tokenCache: c2, accountId: done.homeAccountId }),
      )
        .getAccessToken()
        .catch((e) => e);
      expect(err.code).toBe('CONNECTOR_REAUTHORIZE');
    } finally {
      fx.emu.entra.options.badTokenSuberror = true;
    }
  });

  it('a connector never authorized asks to authorize', async () => {
    const err = await new SharePointAuth(
      cfg({ authType: 'user_auth', tokenCache: new MemoryCache() }),
    )
      .getAccessToken()
      .catch((e) => e);
    expect(err.code).toBe('CONNECTOR_REAUTHORIZE');
  });
});
