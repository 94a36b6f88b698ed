import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthFailedError, sleep } from '@scaidrive/core';
import type {
  ConnectorDrivers,
  SharePointConnectorConfig,
  SmbConnectorConfig,
} from '@scaidrive/api';
import { bearer, expectError, startApi, type ApiHarness } from './harness.js';
import { smbBody, spBody } from './fixtures.js';

const SECRETS = {
  password: 'Pl41n-SMB-P4ssw0rd',
  password2: 'R0tated-SMB-Secret',
  client: 'Az-Cl1ent~Secret.Value',
  cert: '-----BEGIN PRIVATE KEY-----\nMIIEv-very-secret-key-material\n-----END PRIVATE KEY-----',
  cache: 'refresh-token-0f-the-authorised-user',
  verifierMarker: 'never-seen',
};

/** Stand-ins for the SMB/SharePoint packages: they exercise the driver plumbing (config, signal, timeout). */
const seen: {
  smb?: SmbConnectorConfig;
  sp?: SharePointConnectorConfig;
  redeem?: { code: string; codeVerifier: string };
} = {};
const drivers: ConnectorDrivers = {
  smb: {
    kind: 'smb',
    async test(config, signal) {
      seen.smb = config;
      if (config.shareName === 'Hang') {
        await sleep(60_000, signal);
      }
      if (config.username === 'wrong')
        throw new AuthFailedError(`Logon failure for ${config.username}`);
      return {
        success: true,
        message: `Connected to \\\\${config.serverHost}\\${config.shareName}`,
        error: null,
        details: { dialect: '3.1.1' },
      };
    },
  },
  sharepoint: {
    kind: 'sharepoint',
    async test(config) {
      seen.sp = config;
      return { success: false, message: 'Site not found', error: 'CONNECTOR_SHARE_NOT_FOUND' };
    },
  },
  sharepointAuth: {
    async authorizationUrl(_config, req) {
      return `https://login.test/authorize?client_id=x&state=${req.state}&code_challenge=${req.codeChallenge}&redirect_uri=${encodeURIComponent(req.redirectUri)}`;
    },
    async redeemCode(config, req) {
      seen.redeem = { code: req.code, codeVerifier: req.codeVerifier };
      if (req.code === 'bad') throw new AuthFailedError('AADSTS70000: invalid grant');
      return {
        tokenCache: JSON.stringify({ rt: SECRETS.cache, client: config.azureClientId }),
        accountId: 'acc-1',
        username: 'alice@contoso.test',
      };
    },
    async searchUsers(_c, query, limit) {
      return [
        {
          id: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
          email: `${query}@contoso.test`,
          name: 'Alice',
        },
      ].slice(0, limit);
    },
    async searchGroups() {
      return [{ id: 'bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee', name: 'Marketing', email: null }];
    },
  },
};

let h: ApiHarness;
let bare: ApiHarness;
const bodies: string[] = [];
beforeAll(async () => {
  h = await startApi(
    { CONNECTOR_TEST_TIMEOUT_MS: '1000', PUBLIC_BASE_URL: 'https://connectors.example.test' },
    { drivers },
  );
  bare = await startApi({}, { drivers: {} });
});
afterAll(async () => {
  await h?.close();
  await bare?.close();
});

const auth = () => bearer(h.t1.adminToken);
async function record<T extends { text: string }>(p: Promise<T>): Promise<T> {
  const r = await p;
  bodies.push(r.text ?? '');
  return r;
}

describe('without drivers', () => {
  it('/test, /authorize and search answer 501 NOT_IMPLEMENTED, never a fake success', async () => {
    const a = bearer(bare.t1.adminToken);
    const s = await bare.http.post('/api/v1/smb-connectors').set(a).send(smbBody(bare.t1.shareId));
    const e = expectError(
      await bare.http.post(`/api/v1/smb-connectors/${s.body.id}/test`).set(a),
      501,
      'NOT_IMPLEMENTED',
    );
    expect(e.message).toMatch(/not available/);
    const p = await bare.http
      .post('/api/v1/sharepoint-connectors')
      .set(a)
      .send(spBody(bare.t1.shareId, { auth_type: 'user_auth' }));
    expectError(
      await bare.http.post(`/api/v1/sharepoint-connectors/${p.body.id}/test`).set(a),
      501,
      'NOT_IMPLEMENTED',
    );
    expectError(
      await bare.http.post(`/api/v1/sharepoint-connectors/${p.body.id}/authorize`).set(a),
      501,
      'NOT_IMPLEMENTED',
    );
    expectError(
      await bare.http
        .post(`/api/v1/sharepoint-connectors/${p.body.id}/azure/users/search`)
        .set(a)
        .send({ query: 'al' }),
      501,
      'NOT_IMPLEMENTED',
    );
  });
});

describe('drivers and secrets', () => {
  let smbId: string;
  let spId: string;

  it('creating and updating connectors returns *_set flags only', async () => {
    const s = await record(
      h.http
        .post('/api/v1/smb-connectors')
        .set(auth())
        .send(smbBody(h.t1.shareId, { password: SECRETS.password })),
    );
    expect(s.status).toBe(201);
    smbId = s.body.id;
    const p = await record(
      h.http
        .post('/api/v1/sharepoint-connectors')
        .set(auth())
        .send(
          spBody(h.t1.shareId, {
            azure_client_secret: SECRETS.client,
            azure_certificate: SECRETS.cert,
            auth_type: 'user_auth',
          }),
        ),
    );
    expect(p.body).toMatchObject({
      azure_client_secret_set: true,
      azure_certificate_set: true,
      authorized: false,
    });
    spId = p.body.id;
    const u = await record(
      h.http
        .patch(`/api/v1/smb-connectors/${smbId}`)
        .set(auth())
        .send({ password: SECRETS.password2 }),
    );
    expect(u.body.password_set).toBe(true);
    await record(h.http.get(`/api/v1/smb-connectors/${smbId}`).set(auth()));
    await record(h.http.get('/api/v1/sharepoint-connectors').set(auth()));
  });

  it('/test hands the driver the decrypted config and answers {success, message, error}', async () => {
    const r = await record(h.http.post(`/api/v1/smb-connectors/${smbId}/test`).set(auth()));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      success: true,
      error: null,
      message: expect.stringContaining('127.0.0.1'),
      details: { dialect: '3.1.1' },
    });
    expect(seen.smb).toMatchObject({
      kind: 'smb',
      password: SECRETS.password2,
      username: 'scaidrive-svc',
      basePath: '2026',
    });
    const sp = await record(h.http.post(`/api/v1/sharepoint-connectors/${spId}/test`).set(auth()));
    expect(sp.body).toMatchObject({ success: false, error: 'CONNECTOR_SHARE_NOT_FOUND' });
    expect(seen.sp).toMatchObject({
      azureClientSecret: SECRETS.client,
      azureCertificate: SECRETS.cert,
    });
  });

  it('/test reports driver errors and is bounded in time', async () => {
    // Another account needs its password in the same request (the stored one is not sent for it).
    const wrong = await h.http
      .patch(`/api/v1/smb-connectors/${smbId}`)
      .set(auth())
      .send({ username: 'wrong', password: SECRETS.password2 });
    expect(wrong.status).toBe(200);
    const fail = await record(h.http.post(`/api/v1/smb-connectors/${smbId}/test`).set(auth()));
    expect(fail.body).toMatchObject({
      success: false,
      error: 'CONNECTOR_AUTH_FAILED',
      message: 'Logon failure for wrong',
    });
    await h.http
      .patch(`/api/v1/smb-connectors/${smbId}`)
      .set(auth())
      .send({ username: 'scaidrive-svc', password: SECRETS.password2, share_name: 'Hang' });
    const t0 = Date.now();
    const slow = await record(h.http.post(`/api/v1/smb-connectors/${smbId}/test`).set(auth()));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(slow.body).toMatchObject({ success: false, error: 'TIMEOUT' });
  });

  it('SharePoint authorize → callback stores the token cache encrypted; state is single-use', async () => {
    const a = await record(
      h.http.post(`/api/v1/sharepoint-connectors/${spId}/authorize`).set(auth()),
    );
    expect(a.status).toBe(200);
    expect(a.body.authorization_url).toContain(`state=${a.body.state}`);
    expect(a.body.authorization_url).toContain(
      encodeURIComponent(
        'https://connectors.example.test/api/v1/sharepoint-connectors/oauth/callback',
      ),
    );
    const cb = await record(
      h.http.get(
        `/api/v1/sharepoint-connectors/oauth/callback?state=${a.body.state}&code=good-code&session_state=x`,
      ),
    );
    expect(cb.status).toBe(200);
    expect(cb.body).toEqual({
      connector_id: spId,
      authorized: true,
      account: 'alice@contoso.test',
    });
    expect(seen.redeem!.code).toBe('good-code');
    expect(seen.redeem!.codeVerifier.length).toBeGreaterThan(40);
    SECRETS.verifierMarker = seen.redeem!.codeVerifier;
    const replay = await record(
      h.http.get(
        `/api/v1/sharepoint-connectors/oauth/callback?state=${a.body.state}&code=good-code`,
      ),
    );
    expectError(replay, 400, 'VALIDATION_ERROR');
    expectError(
      await h.http.get(
        '/api/v1/sharepoint-connectors/oauth/callback?state=0123456789abcdef0123&code=x',
      ),
      400,
      'VALIDATION_ERROR',
    );
    const got = await record(h.http.get(`/api/v1/sharepoint-connectors/${spId}`).set(auth()));
    expect(got.body.authorized).toBe(true);
    const a2 = await h.http.post(`/api/v1/sharepoint-connectors/${spId}/authorize`).set(auth());
    expectError(
      await h.http.get(
        `/api/v1/sharepoint-connectors/oauth/callback?state=${a2.body.state}&code=bad`,
      ),
      401,
      'CONNECTOR_AUTH_FAILED',
    );
  });

  it('authorize on an app_auth connector is 409; search returns users and groups', async () => {
    const appOnly = await h.http
      .post('/api/v1/sharepoint-connectors')
      .set(auth())
      .send(spBody(h.t1.shareId));
    expectError(
      await h.http.post(`/api/v1/sharepoint-connectors/${appOnly.body.id}/authorize`).set(auth()),
      409,
      'CONFLICT',
    );
    const users = await record(
      h.http
        .post(`/api/v1/sharepoint-connectors/${spId}/azure/users/search`)
        .set(auth())
        .send({ query: 'alice' }),
    );
    expect(users.body).toEqual({
      users: [
        { id: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', email: 'alice@contoso.test', name: 'Alice' },
      ],
    });
    const groups = await record(
      h.http
        .post(`/api/v1/sharepoint-connectors/${spId}/azure/groups/search`)
        .set(auth())
        .send({ query: 'mar' }),
    );
    expect(groups.body.groups[0].name).toBe('Marketing');
    expectError(
      await h.http
        .post(`/api/v1/sharepoint-connectors/${spId}/azure/users/search`)
        .set(auth())
        .send({ query: '' }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(
      await h.http
        .post(`/api/v1/smb-connectors/${smbId}/azure/users/search`)
        .set(auth())
        .send({ query: 'x' }),
      404,
      'NOT_FOUND',
    );
  });

  it('no secret appears in any response, any log line, or the database in plain text', async () => {
    const plain = [
      SECRETS.password,
      SECRETS.password2,
      SECRETS.client,
      SECRETS.cert,
      SECRETS.cache,
      SECRETS.verifierMarker,
      'very-secret-key-material',
    ];
    const responses = bodies.join('\n');
    const logs = h.logs.text();
    expect(logs.length).toBeGreaterThan(1000);
    const tables = await h.db.prisma.$queryRawUnsafe<{ t: string }[]>(
      `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t FROM information_schema.tables
        WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'`,
    );
    let dump = '';
    for (const { t } of tables) {
      const rows = await h.db.prisma.$queryRawUnsafe<{ j: string }[]>(
        `SELECT row_to_json(x)::text AS j FROM ${t} x`,
      );
      dump += rows.map((r) => r.j).join('\n');
    }
    expect(dump).toContain('v1.t1.'); // encrypted envelopes are there
    for (const s of plain) {
      expect(responses).not.toContain(s);
      expect(logs).not.toContain(s);
      expect(dump).not.toContain(s);
    }
    const row = await h.db.prisma.connector.findUnique({ where: { id: spId } });
    expect(row!.tokenCacheEnc).toMatch(/^v1\./);
  });
});
