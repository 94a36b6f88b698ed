import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSecretKeySpec } from '@scaidrive/core';
import { freePort, migrate, startEmbeddedPostgres, type EmbeddedPostgres } from '@scaidrive/db';
import { randomBytes } from 'node:crypto';
import {
  adminQuery,
  migrationsDir,
  spawnApp,
  withDatabase,
  type ChildApp,
} from '@scaidrive/testkit';
import { waitUntil } from './fleet-helpers.js';

/**
 * Start-up without a database: the API and the worker listen at once, answer 503 on readiness while
 * they retry with backoff, and either connect when the database appears or exit with a clear error.
 */
const children: ChildApp[] = [];
let pgServer: EmbeddedPostgres | undefined;
let dir: string | undefined;
let createdDatabase: string | undefined;

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await pgServer?.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  if (createdDatabase) {
    await adminQuery(
      process.env.SCAIDRIVE_TEST_ADMIN_URL!,
      `DROP DATABASE IF EXISTS "${createdDatabase}" WITH (FORCE)`,
    );
  }
});

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

function env(databaseUrl: string, extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SECRET_KEYS: generateSecretKeySpec('s1'),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** The app started against a port nothing listens on, once it retries and answers 503. */
async function retryingWithoutDatabase(
  app: 'api' | 'worker',
  portVar: string,
  readyPath: string,
  startupTimeoutSeconds: number,
): Promise<ChildApp> {
  const deadPort = await freePort();
  const port = await freePort();
  const child = spawnApp(
    app,
    env(`postgresql://postgres@127.0.0.1:${deadPort}/none`, {
      [portVar]: String(port),
      STARTUP_TIMEOUT_SECONDS: String(startupTimeoutSeconds),
    }),
  );
  children.push(child);
  await child.waitForLog((l) => l.message === 'database not reachable yet; retrying', 60_000);
  expect(await status(`http://127.0.0.1:${port}${readyPath}`)).toBe(503);
  return child;
}

describe('start-up without a reachable database', () => {
  it.each([
    ['api', 'PORT', '/api/v1/ready'],
    ['worker', 'WORKER_PORT', '/readyz'],
  ] as const)(
    '%s: readiness 503 while retrying, then a clear error and exit 1',
    async (app, portVar, readyPath) => {
      const child = await retryingWithoutDatabase(app, portVar, readyPath, 6);
      const exit = await child.exited;
      expect(exit.code).toBe(1);
      const text = child.logs.map((l) => JSON.stringify(l)).join('\n');
      expect(text).toMatch(/cannot reach the database|failed to start/i);
      expect(
        child.logs.filter((l) => l.message === 'database not reachable yet; retrying').length,
      ).toBeGreaterThanOrEqual(2);
    },
    90_000,
  );

  it.each([
    ['api', 'PORT', '/api/v1/ready'],
    ['worker', 'WORKER_PORT', '/readyz'],
  ] as const)(
    '%s: SIGTERM while still starting stops it cleanly (exit 0, no start-up error)',
    async (app, portVar, readyPath) => {
      const child = await retryingWithoutDatabase(app, portVar, readyPath, 120);
      const started = Date.now();
      child.kill('SIGTERM');
      const exit = await child.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      // Well inside the start-up budget: the retry loop gave way instead of running it out.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(child.logs.some((l) => l.message === 'signal received')).toBe(true);
      // (The access log's line for the 503 readiness probe above is expected.)
      expect(child.logs.filter((l) => l.level === 'error' && l.message !== 'request')).toEqual([]);
    },
    90_000,
  );

  it.each(['api', 'worker'] as const)(
    '%s: an invalid configuration exits 1 naming every bad variable (no stack trace)',
    async (app) => {
      const child = spawnApp(app, {
        ...env('postgresql://postgres@127.0.0.1:1/none', {}),
        LOG_LEVEL: 'loud',
        PORT: '99999',
        WORKER_PORT: '-1',
        SECRET_KEYS: 'not-a-key-spec',
      });
      children.push(child);
      const exit = await child.exited;
      expect(exit.code).toBe(1);
      const text = child.logs.map((l) => String(l.raw ?? JSON.stringify(l))).join('\n');
      expect(text).toMatch(/Invalid configuration/);
      for (const name of ['LOG_LEVEL', 'PORT', 'WORKER_PORT', 'SECRET_KEYS'])
        expect(text).toMatch(new RegExp(`- ${name}: `));
      expect(text).not.toMatch(/^\s+at /m);
    },
    60_000,
  );

  it('api: connects once the database comes up, without a restart', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'startup-'));
    const pgPort = await freePort();
    const port = await freePort();
    const url = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/scaidrive`;
    const child = spawnApp('api', env(url, { PORT: String(port), STARTUP_TIMEOUT_SECONDS: '120' }));
    children.push(child);
    await child.waitForLog((l) => l.message === 'database not reachable yet; retrying', 60_000);
    expect(await status(`http://127.0.0.1:${port}/api/v1/ready`)).toBe(503);
    pgServer = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      port: pgPort,
      database: 'scaidrive',
    });
    await migrate({ connectionString: pgServer.connectionString, migrationsDir });
    await waitUntil(
      async () => (await status(`http://127.0.0.1:${port}/api/v1/ready`)) === 200,
      90_000,
      'ready',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; the API's last log lines:\n${child.tail()}`);
    });
    expect(child.proc.exitCode).toBeNull();
    // Whatever the retries hit on the way (refused, starting up, database not created yet), none
    // of it was fatal (the access log's 503s from the readiness polls above are expected).
    expect(child.logs.filter((l) => l.level === 'error' && l.message !== 'request')).toEqual([]);
  }, 180_000);

  it('api: a database created after the server is up (provisioning race) is waited for, not fatal', async () => {
    const adminUrl = process.env.SCAIDRIVE_TEST_ADMIN_URL!;
    const name = `scaidrive_late_${randomBytes(5).toString('hex')}`;
    const port = await freePort();
    const child = spawnApp(
      'api',
      env(withDatabase(adminUrl, name), { PORT: String(port), STARTUP_TIMEOUT_SECONDS: '120' }),
    );
    children.push(child);
    const retry = await child.waitForLog(
      (l) => l.message === 'database not reachable yet; retrying',
      60_000,
    );
    expect(retry.reason).toBe('Database does not exist (3D000)');
    expect(await status(`http://127.0.0.1:${port}/api/v1/ready`)).toBe(503);
    createdDatabase = name;
    await adminQuery(
      adminUrl,
      `CREATE DATABASE "${name}" TEMPLATE "${process.env.SCAIDRIVE_TEST_TEMPLATE!}"`,
    );
    await waitUntil(
      async () => (await status(`http://127.0.0.1:${port}/api/v1/ready`)) === 200,
      60_000,
      'ready',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; the API's last log lines:\n${child.tail()}`);
    });
    expect(child.proc.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  }, 120_000);
});
