import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import {
  AppError,
  SecretBox,
  generateSecretKeySpec,
  loadConfig,
  parseSecretKeys,
} from '@scaidrive/core';
import { PacerRegistry } from '@scaidrive/connector-sharepoint';
import { freePort } from '@scaidrive/testkit';
import type { Connector, PrismaClient, SharePointConnectorConfig } from '@scaidrive/db';
import { createSharePointDrivers } from '../../apps/api/src/drivers/sharepoint.js';
import { sharePointSource } from '../../apps/worker/src/sources/sharepoint.js';
import type { SourceContext } from '../../apps/worker/src/sources/registry.js';
import { startSharePointFixture, type SpFixture } from './fixture.js';

// The API's SharePoint drivers and the worker's Source factory, against the emulator.
let fx: SpFixture;
let drivers: ReturnType<typeof createSharePointDrivers>;
const signal = () => AbortSignal.timeout(20_000);

beforeAll(async () => {
  fx = await startSharePointFixture({ accessTokenLifetimeSec: 120 });
  fx.emu.model.putFile(fx.driveId, 'Shared/readme.txt', 'hello');
  drivers = createSharePointDrivers({
    graphBaseUrl: fx.emu.graphBaseUrl,
    authorityHost: fx.emu.authorityHost,
  });
});
afterAll(async () => {
  await fx.close();
  expect(fx.guard.violations).toEqual([]);
});

function config(over: Partial<SharePointConnectorConfig> = {}): SharePointConnectorConfig {
  return {
    kind: 'sharepoint',
    id: 'cnn_01TEST',
    tenantId: 'tnt_01TEST',
    name: 'Marketing',
    basePath: 'Shared',
    siteUrl: fx.siteUrl,
    siteId: null,
    driveId: null,
    libraryName: 'Documents',
    azureTenantId: fx.tenantId,
    azureClientId: fx.clientId,
    authType: 'app_auth',
    azureClientSecret: fx.secret,
    azureCertificate: null,
    tokenCache: null,
    authorizedAccountId: null,
    ...over,
  };
}

describe('API driver', () => {
  it('/test: succeeds with the resolved ids, fails in operator terms', async () => {
    const ok = await drivers.sharepoint.test(config(), signal());
    expect(ok).toMatchObject({ success: true, error: null, details: { drive_id: fx.driveId } });
    const cert = await drivers.sharepoint.test(
      config({ azureClientSecret: null, azureCertificate: fx.certificatePem }),
      signal(),
    );
    expect(cert.success).toBe(true);
    const bad = await drivers.sharepoint.test(config({ azureClientSecret: 'nope' }), signal());
    expect(bad).toMatchObject({ success: false, error: 'CONNECTOR_AUTH_FAILED' });
    expect(bad.message).not.toContain('nope');
    const lib = await drivers.sharepoint.test(config({ libraryName: 'Archive' }), signal());
    expect(lib).toMatchObject({ success: false, error: 'CONNECTOR_SHARE_NOT_FOUND' });
    const down = await drivers.sharepoint.test(
      config({ siteUrl: 'https://contoso.sharepoint.com/sites/none' }),
      signal(),
    );
    expect(down).toMatchObject({ success: false, error: 'CONNECTOR_SHARE_NOT_FOUND' });
    const unauthorized = await drivers.sharepoint.test(config({ authType: 'user_auth' }), signal());
    expect(unauthorized).toMatchObject({ success: false, error: 'CONNECTOR_REAUTHORIZE' });
  });

  it('user_auth: authorize URL → sign-in → redeem → probe as the user; search', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(16).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const url = await drivers.sharepointAuth.authorizationUrl(
      config({ authType: 'user_auth' }),
      { state, codeChallenge: challenge, nonce, redirectUri: fx.redirectUri },
      signal(),
    );
    const r = await fetch(url, { redirect: 'manual', headers: { 'x-emulator-user': fx.bob.id } });
    const back = new URL(r.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe(state);
    const redeemed = await drivers.sharepointAuth.redeemCode(
      config({ authType: 'user_auth' }),
      {
        code: back.searchParams.get('code')!,
        codeVerifier: verifier,
        nonce,
        redirectUri: fx.redirectUri,
      },
      signal(),
    );
    expect(redeemed.username).toBe(fx.bob.userPrincipalName);
    const probe = await drivers.sharepoint.test(
      config({
        authType: 'user_auth',
        tokenCache: redeemed.tokenCache,
        authorizedAccountId: redeemed.accountId,
      }),
      signal(),
    );
    expect(probe.success).toBe(true);
    const wrongVerifier = await drivers.sharepointAuth
      .redeemCode(
        config({ authType: 'user_auth' }),
        { code: 'bogus', codeVerifier: 'x', nonce, redirectUri: fx.redirectUri },
        signal(),
      )
      .catch((e) => e);
    expect(wrongVerifier.code).toBe('CONNECTOR_AUTH_FAILED');

    expect(await drivers.sharepointAuth.searchUsers(config(), 'bob', 10, signal())).toEqual([
      { id: fx.bob.id, email: fx.bob.mail, name: fx.bob.displayName },
    ]);
    expect(
      (await drivers.sharepointAuth.searchGroups(config(), 'Marketing', 10, signal()))[0],
    ).toMatchObject({ id: fx.group.id });
    const denied = await drivers.sharepointAuth
      .searchUsers(config({ azureClientSecret: 'x' }), 'bob', 10, signal())
      .catch((e) => e);
    expect(denied.code).toBe('CONNECTOR_AUTH_FAILED');
  });

  it('search: Graph out of reach is CONNECTOR_UNREACHABLE (retryable), not an internal error', async () => {
    const down = createSharePointDrivers({
      graphBaseUrl: `http://127.0.0.1:${await freePort()}/v1.0`,
      authorityHost: fx.emu.authorityHost,
      pacers: new PacerRegistry({ maxAttempts: 2, maxSleepMs: 20 }),
    });
    const err = await down.sharepointAuth
      .searchUsers(config(), 'bob', 10, signal())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'CONNECTOR_UNREACHABLE', action: 'retry' });
    expect((err as Error).message).toMatch(/SharePoint could not be reached/);
  });
});

describe('worker Source factory', () => {
  it('builds the Source, stores resolved ids and writes a refreshed token cache back encrypted', async () => {
    const box = new SecretBox(parseSecretKeys(generateSecretKeySpec('k1')));
    // A user_auth grant for Alice through the drivers.
    const verifier = randomBytes(32).toString('base64url');
    const nonce = 'n1';
    const url = await drivers.sharepointAuth.authorizationUrl(
      config({ authType: 'user_auth' }),
      {
        state: 's1',
        codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
        nonce,
        redirectUri: fx.redirectUri,
      },
      signal(),
    );
    const back = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!);
    const grant = await drivers.sharepointAuth.redeemCode(
      config({ authType: 'user_auth' }),
      {
        code: back.searchParams.get('code')!,
        codeVerifier: verifier,
        nonce,
        redirectUri: fx.redirectUri,
      },
      signal(),
    );
    const updates: { where: unknown; data: Record<string, unknown> }[] = [];
    const prisma = {
      connector: {
        updateMany: async (args: { where: unknown; data: Record<string, unknown> }) => {
          updates.push(args);
          return { count: 1 };
        },
      },
    } as unknown as PrismaClient;
    const connector = {
      id: 'cnn_01TEST',
      tenantId: 'tnt_01TEST',
      siteId: null,
      driveId: null,
      configRevision: 7,
      syncVersions: true,
      syncMetadata: false,
    } as unknown as Connector;
    const appConfig = loadConfig({
      GRAPH_BASE_URL: fx.emu.graphBaseUrl,
      AZURE_AUTHORITY_HOST: fx.emu.authorityHost,
    });
    const waits: number[] = [];
    const ctx = {
      connector,
      prisma,
      secrets: box,
      config: appConfig,
      signal: signal(),
      onThrottle: (ms: number) => waits.push(ms),
    } as unknown as SourceContext;
    const off = fx.emu.addFault({
      routes: ['children'],
      status: 429,
      retryAfterSec: 0.05,
      count: 1,
    });
    const source = await sharePointSource()(
      config({
        authType: 'user_auth',
        tokenCache: grant.tokenCache,
        authorizedAccountId: grant.accountId,
      }),
      ctx,
    );
    try {
      const names: string[] = [];
      for await (const e of source.list('')) names.push(e.name);
      expect(names).toEqual(['readme.txt']);
      expect(source.capabilities.versions).toBe(true);
      expect(source.capabilities.metadata).toBe(false);
    } finally {
      off();
      await source.close();
    }
    expect(
      updates.some((u) => u.data.driveId === fx.driveId && typeof u.data.siteId === 'string'),
    ).toBe(true);
    // Every write-back is conditional on the configuration this run started with.
    for (const u of updates)
      expect(u.where).toEqual({ id: 'cnn_01TEST', tenantId: 'tnt_01TEST', configRevision: 7 });
    const cacheWrite = updates.find((u) => typeof u.data.tokenCacheEnc === 'string');
    expect(cacheWrite).toBeDefined(); // access tokens live 120 s: MSAL refreshed and the cache changed
    expect(
      box.decrypt(cacheWrite!.data.tokenCacheEnc as string, 'connector:cnn_01TEST:token_cache'),
    ).toContain('RefreshToken');
    expect(waits.length).toBeGreaterThan(0);

    // The grant is revoked: the next job fails with "re-authorize".
    fx.emu.entra.revokeUserGrants(fx.alice.id);
    const err = await sharePointSource()(
      config({
        authType: 'user_auth',
        tokenCache: grant.tokenCache,
        authorizedAccountId: grant.accountId,
      }),
      ctx,
    ).catch((e) => e);
    expect(err.code).toBe('CONNECTOR_REAUTHORIZE');
    expect(err.action).toBe('fail_job');
    expect(err.message).toMatch(/re-authorize/);
  });
});
