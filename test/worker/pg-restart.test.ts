import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createPrismaClient,
  freePort,
  migrate,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type PrismaClient,
} from '@scaidrive/db';
import {
  createShare,
  createTenant,
  createUser,
  migrationsDir,
  writeSampleTree,
} from '@scaidrive/testkit';
import { Fleet, waitUntil } from './fleet-helpers.js';

/**
 * PostgreSQL restarted under a running worker: readiness goes false while it is down, the worker
 * recovers on its own, and syncs work again. Uses a private embedded PostgreSQL (the machine's shared
 * server must not be restarted under other tests).
 */
let dir: string;
let port: number;
let pgServer: EmbeddedPostgres;
let prisma: PrismaClient;
let fleet: Fleet;

beforeAll(async () => {
  const tmpMode = (await stat(tmpdir())).mode & 0o7777;
  dir = await mkdtemp(path.join(tmpdir(), 'pg-restart-'));
  port = await freePort();
  pgServer = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port,
    database: 'scaidrive',
  });
  await migrate({ connectionString: pgServer.connectionString, migrationsDir });
  // Starting as root must only add the traverse bit to parents, never narrow a mode like /tmp's 1777.
  expect((await stat(tmpdir())).mode & 0o7777).toBe(tmpMode);
  prisma = createPrismaClient({ connectionString: pgServer.connectionString, poolSize: 2 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await prisma?.$disconnect();
  await pgServer?.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function readyz(healthPort: number): Promise<number> {
  try {
    return (
      await fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal: AbortSignal.timeout(5000) })
    ).status;
  } catch {
    return 0;
  }
}

describe('PostgreSQL restart under a running worker', () => {
  it('readiness drops while the database is down and the worker recovers without a restart', async () => {
    const tenantId = (await createTenant(prisma)).id;
    const user = await createUser(prisma, tenantId);
    const shareId = (await createShare(prisma, tenantId, user.id)).id;
    const src = path.join(dir, 'src');
    await mkdir(src);
    await writeSampleTree(src, { folders: 2, files: 20, size: 1024 });

    fleet = new Fleet(prisma, pgServer.connectionString);
    await fleet.init();
    const worker = await fleet.startWorker();
    const started = worker.logs.find((l) => l.message === 'worker started')!;
    const healthPort = Number(started.health_port);
    expect(await readyz(healthPort)).toBe(200);

    await fleet.boss.stop({ graceful: false });
    await prisma.$disconnect();
    await pgServer.stop();
    await waitUntil(async () => (await readyz(healthPort)) === 503, 30_000, 'readyz 503');
    expect(worker.proc.exitCode).toBeNull();

    pgServer = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      port,
      database: 'scaidrive',
    });
    await waitUntil(async () => (await readyz(healthPort)) === 200, 90_000, 'readyz 200 again');
    expect(worker.proc.exitCode).toBeNull();

    prisma = createPrismaClient({ connectionString: pgServer.connectionString, poolSize: 2 });
    fleet = Object.assign(new Fleet(prisma, pgServer.connectionString), { workers: fleet.workers });
    await fleet.init();
    const c = await fleet.localConnector(tenantId, shareId, src);
    const jobId = await fleet.requestSync(c);
    const [job] = await fleet.waitForJobs([jobId], ['completed'], 120_000);
    expect(job!.filesSynced).toBe(20);
    expect(job!.workerId).toBeTruthy();
  }, 300_000);
});
