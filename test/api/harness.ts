import request from 'supertest';
import { generateSecretKeySpec, loadConfig, type Config } from '@scaidrive/core';
import {
  captureLogger,
  createShare,
  createTenant,
  createTestDatabase,
  createUser,
  type TestDatabase,
} from '@scaidrive/testkit';
import { composeApi, type ApiRuntime, type ComposeOptions } from '@scaidrive/api';

export interface TenantFixture {
  tenantId: string;
  /** tenant_admin user + a token acting as them. */
  adminId: string;
  adminToken: string;
  shareId: string;
}

export interface ApiHarness {
  db: TestDatabase;
  config: Config;
  runtime: ApiRuntime;
  logs: ReturnType<typeof captureLogger>;
  http: ReturnType<typeof request>;
  /** A second tenant's fixture is created with `tenant()`. */
  t1: TenantFixture;
  tenant(name?: string): Promise<TenantFixture>;
  token(
    tenantId: string,
    userId: string,
    opts?: { scopes?: string[]; expiresAt?: Date },
  ): Promise<string>;
  close(): Promise<void>;
}

/** The API wired as main.ts wires it, on a fresh database with real pg-boss; responses validated. */
export async function startApi(
  env: Record<string, string> = {},
  options: Partial<ComposeOptions> = {},
): Promise<ApiHarness> {
  const db = await createTestDatabase();
  const logs = captureLogger('debug');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    SECRET_KEYS: generateSecretKeySpec('t1'),
    DATABASE_POOL_SIZE: '4',
    SHUTDOWN_TIMEOUT_SECONDS: '5',
    ...env,
  });
  const runtime = await composeApi({
    config,
    logger: logs.logger,
    databaseUrl: db.url,
    secretKeys: config.secretKeys!,
    prisma: db.prisma,
    validateResponses: true,
    ...options,
  });
  const token: ApiHarness['token'] = async (tenantId, userId, opts = {}) => {
    const issued = await runtime.serviceTokens.issue({
      tenantId,
      userId,
      name: 'test',
      ...(opts.scopes ? { scopes: opts.scopes } : {}),
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
    });
    return issued.token;
  };
  const tenant = async (name = 'Tenant'): Promise<TenantFixture> => {
    const t = await createTenant(db.prisma, name);
    const admin = await createUser(db.prisma, t.id, { role: 'tenant_admin' });
    const share = await createShare(db.prisma, t.id, admin.id, `${name} share`);
    return {
      tenantId: t.id,
      adminId: admin.id,
      adminToken: await token(t.id, admin.id),
      shareId: share.id,
    };
  };
  const t1 = await tenant('T1');
  return {
    db,
    config,
    runtime,
    logs,
    http: request(runtime.app),
    t1,
    tenant,
    token,
    async close() {
      await runtime.shutdown();
      await db.drop();
    },
  };
}

export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** Asserts the error envelope and returns it. */
export function expectError(
  res: { status: number; body: any; headers: Record<string, string> },
  status: number,
  code: string,
): any {
  if (res.status !== status || res.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (res.body.status !== 'error' || typeof res.body.meta?.request_id !== 'string')
    throw new Error(`not an error envelope: ${JSON.stringify(res.body)}`);
  if (res.headers['x-request-id'] !== res.body.meta.request_id)
    throw new Error('X-Request-Id header does not match meta.request_id');
  return res.body.error;
}
