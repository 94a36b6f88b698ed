import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newId } from '@scaidrive/core';
import { createGroup } from '@scaidrive/testkit';
import { bearer, expectError, startApi, type ApiHarness } from './harness.js';

/** A JWKS endpoint on loopback with one RSA and one EC key (plus a key it does not publish). */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER = 'https://scaikey.test';
let jwks: Server;
let h: ApiHarness;
let otherTenant: string;

function b64(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}

function jwt(
  claims: Record<string, unknown>,
  opts: { alg?: 'RS256' | 'ES256'; key?: KeyObject; kid?: string } = {},
): string {
  const alg = opts.alg ?? 'RS256';
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', kid: opts.kid ?? (alg === 'RS256' ? 'rsa1' : 'ec1') };
  const body = { iss: ISSUER, iat: now, exp: now + 600, ...claims };
  const data = `${b64(header)}.${b64(body)}`;
  const key = opts.key ?? (alg === 'RS256' ? rsa.privateKey : ec.privateKey);
  const sig = sign(
    'sha256',
    Buffer.from(data),
    alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
  );
  return `${data}.${sig.toString('base64url')}`;
}

beforeAll(async () => {
  const keys = [
    { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', alg: 'RS256', use: 'sig' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES256', use: 'sig' },
  ];
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const port = (jwks.address() as AddressInfo).port;
  h = await startApi({
    JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    JWT_ISSUER: ISSUER,
    RATE_LIMIT_PER_MINUTE: '40',
  });
  otherTenant = (await h.tenant('Other')).tenantId;
});
afterAll(async () => {
  await h?.close();
  await new Promise((r) => jwks?.close(r));
});

const list = '/api/v1/smb-connectors';

describe('JWT bearer tokens', () => {
  it('RS256 and ES256 tokens work; unknown users are provisioned just in time', async () => {
    const sub = newId('usr');
    const g = await createGroup(h.db.prisma, h.t1.tenantId, 'Ops');
    const t = jwt({
      sub,
      tenant_id: h.t1.tenantId,
      groups: [g.id],
      scope: 'openid tenant:admin',
      email: 'new@x.test',
      name: 'New User',
    });
    const res = await h.http.get(list).set(bearer(t));
    expect(res.status).toBe(200);
    const user = await h.db.prisma.user.findUnique({ where: { id: sub } });
    expect(user).toMatchObject({
      tenantId: h.t1.tenantId,
      email: 'new@x.test',
      displayName: 'New User',
      role: 'user',
    });
    const t2 = jwt({ sub, tenant_id: h.t1.tenantId }, { alg: 'ES256' });
    expect((await h.http.get(list).set(bearer(t2))).status).toBe(200);
  });

  it('accepts the per-tenant issuer form', async () => {
    const t = jwt({
      sub: h.t1.adminId,
      tenant_id: h.t1.tenantId,
      iss: `${ISSUER}/tenants/${h.t1.tenantId}`,
    });
    expect((await h.http.get(list).set(bearer(t))).status).toBe(200);
  });

  it.each([
    [
      'expired',
      () =>
        jwt({
          sub: h.t1.adminId,
          tenant_id: h.t1.tenantId,
          exp: Math.floor(Date.now() / 1000) - 3600,
        }),
    ],
    [
      'forged (unpublished key)',
      () => jwt({ sub: h.t1.adminId, tenant_id: h.t1.tenantId }, { key: rogue.privateKey }),
    ],
    [
      'wrong issuer',
      () => jwt({ sub: h.t1.adminId, tenant_id: h.t1.tenantId, iss: 'https://evil.test' }),
    ],
    ['unknown tenant', () => jwt({ sub: newId('usr'), tenant_id: newId('tnt') })],
    ['no tenant claim', () => jwt({ sub: h.t1.adminId })],
    ['sub not a user id', () => jwt({ sub: 'alice', tenant_id: h.t1.tenantId })],
    ['user of another tenant', () => jwt({ sub: h.t1.adminId, tenant_id: otherTenant })],
    [
      'alg none',
      () =>
        `${b64({ alg: 'none' })}.${b64({ sub: h.t1.adminId, tenant_id: h.t1.tenantId, iss: ISSUER, exp: 9e9 })}.`,
    ],
    [
      'tampered payload',
      () => {
        const [hd, , sig] = jwt({ sub: h.t1.adminId, tenant_id: h.t1.tenantId }).split('.');
        return `${hd}.${b64({ sub: h.t1.adminId, tenant_id: h.t1.tenantId, iss: ISSUER, exp: 9e9, scope: '*' })}.${sig}`;
      },
    ],
  ])('%s → 401 AUTH_TOKEN_INVALID', async (_label, make) => {
    const token = make();
    const e = expectError(await h.http.get(list).set(bearer(token)), 401, 'AUTH_TOKEN_INVALID');
    expect(e.message).not.toMatch(/stack|at \w+ \(/);
  });

  it('a non-admin user whose token has only files:read is 403 on connectors', async () => {
    const t = jwt({ sub: newId('usr'), tenant_id: h.t1.tenantId, scope: 'files:read' });
    expectError(await h.http.get(list).set(bearer(t)), 403, 'FORBIDDEN');
  });
});

describe('service tokens', () => {
  it('missing, malformed, revoked and expired tokens are 401', async () => {
    expectError(await h.http.get(list), 401, 'AUTH_TOKEN_INVALID');
    expectError(
      await h.http.get(list).set('Authorization', 'Basic Zm9vOmJhcg=='),
      401,
      'AUTH_TOKEN_INVALID',
    );
    expectError(await h.http.get(list).set('Authorization', 'Bearer'), 401, 'AUTH_TOKEN_INVALID');
    const issued = await h.runtime.serviceTokens.issue({
      tenantId: h.t1.tenantId,
      userId: h.t1.adminId,
      name: 'ci',
    });
    expect((await h.http.get(list).set(bearer(issued.token))).status).toBe(200);
    const row = await h.db.prisma.serviceToken.findUnique({ where: { id: issued.id } });
    expect(row!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(issued.token);
    expect(await h.runtime.serviceTokens.revoke(h.t1.tenantId, issued.id)).toBe(true);
    expectError(await h.http.get(list).set(bearer(issued.token)), 401, 'AUTH_TOKEN_INVALID');
    const soon = await h.runtime.serviceTokens.issue({
      tenantId: h.t1.tenantId,
      userId: h.t1.adminId,
      name: 'short',
      expiresAt: new Date(Date.now() + 1500),
    });
    expect((await h.http.get(list).set(bearer(soon.token))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expectError(await h.http.get(list).set(bearer(soon.token)), 401, 'AUTH_TOKEN_INVALID');
  });
});

describe('rate limit', () => {
  it('per token: X-RateLimit-* headers, then 429 RATE_LIMITED with Retry-After; other tokens unaffected', async () => {
    const tok = await h.token(h.t1.tenantId, h.t1.adminId);
    let last;
    for (let i = 0; i < 40; i++) {
      last = await h.http.get(list).set(bearer(tok));
      expect(last.status).toBe(200);
    }
    expect(last!.headers['x-ratelimit-limit']).toBe('40');
    expect(last!.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(last!.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    const limited = await h.http.get(list).set(bearer(tok));
    const e = expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(e.retry_after).toBe(Number(limited.headers['retry-after']));
    expect(e.details).toMatchObject({ dimension: 'token', limit: 40, window_seconds: 60 });
    const other = await h.token(h.t1.tenantId, h.t1.adminId);
    expect((await h.http.get(list).set(bearer(other))).status).toBe(200);
  });
});
