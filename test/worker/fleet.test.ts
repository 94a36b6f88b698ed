import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Drive, LocalChunkStore } from '@scaidrive/drive';
import { createLocalTree } from '@scaidrive/sync';
import {
  createShare,
  createTenant,
  createTestDatabase,
  createUser,
  diffSnapshots,
  snapshotTree,
  writeSampleTree,
  type TestDatabase,
} from '@scaidrive/testkit';
import { Fleet, waitUntil } from './fleet-helpers.js';

/**
 * Real worker processes (started from sources) against one PostgreSQL database and one blob
 * directory, syncing local-directory connectors into the share store.
 */
let db: TestDatabase;
let fleet: Fleet;
let tenantId: string;
let shareId: string;
let srcRoot: string;

beforeAll(async () => {
  db = await createTestDatabase();
  tenantId = (await createTenant(db.prisma)).id;
  const user = await createUser(db.prisma, tenantId, { role: 'tenant_admin' });
  shareId = (await createShare(db.prisma, tenantId, user.id)).id;
  srcRoot = await mkdtemp(path.join(tmpdir(), 'fleet-src-'));
});
afterEach(async () => {
  await fleet?.stop();
});
afterAll(async () => {
  await db.drop();
});

async function newFleet(): Promise<Fleet> {
  fleet = new Fleet(db.prisma, db.url);
  await fleet.init();
  return fleet;
}

async function sourceDir(name: string, files: number, size = 4096, folders = 3): Promise<string> {
  const dir = path.join(srcRoot, name);
  await mkdir(dir, { recursive: true });
  await writeSampleTree(dir, { folders, files, size, seed: name });
  return dir;
}

/** Content of the connector's target folder vs its source directory. */
async function expectConverged(connector: {
  id: string;
  basePath: string | null;
  targetPath: string;
}): Promise<void> {
  const drive = new Drive({
    prisma: db.prisma,
    chunkStore: new LocalChunkStore(path.join(fleet.dir, 'blobs')),
  });
  const target = drive.shareTree({
    tenantId,
    shareId,
    rootPath: connector.targetPath,
    origin: 'test',
  });
  const [a, b] = await Promise.all([
    snapshotTree(createLocalTree(connector.basePath!)),
    snapshotTree(target),
  ]);
  expect(diffSnapshots(a, b)).toEqual([]);
  // No leftovers of interrupted writes on the source side either.
  const leftovers = (await readdir(connector.basePath!, { recursive: true })).filter((f) =>
    /\.scaidrive-|\.tmp/.test(String(f)),
  );
  expect(leftovers).toEqual([]);
}

function startedIn(logs: Record<string, unknown>[], jobId: string): boolean {
  return logs.some((l) => l.message === 'sync started' && l.job_id === jobId);
}

describe('worker fleet', () => {
  it('three workers sync twenty connectors: each exactly once, on one worker, counters adding up', async () => {
    const f = await newFleet();
    const connectors = [];
    for (let i = 0; i < 20; i++) {
      connectors.push(await f.localConnector(tenantId, shareId, await sourceDir(`c20-${i}`, 30)));
    }
    await Promise.all([f.startWorker(), f.startWorker(), f.startWorker()]);
    const jobIds = [];
    for (const c of connectors) jobIds.push(await f.requestSync(c));
    const jobs = await f.waitForJobs(jobIds, ['completed'], 180_000);
    for (const j of jobs) {
      expect(j.filesSynced).toBe(30);
      expect(j.attempt).toBe(0);
      // The job ran on exactly one worker process.
      expect(f.workers.filter((w) => startedIn(w.logs, j.id))).toHaveLength(1);
    }
    expect(new Set(jobs.map((j) => j.workerId)).size).toBeGreaterThanOrEqual(2);
    expect(
      await db.prisma.syncJob.count({
        where: { connectorId: { in: connectors.map((c) => c.id) } },
      }),
    ).toBe(20);
    const after = await db.prisma.connector.findMany({
      where: { id: { in: connectors.map((c) => c.id) } },
    });
    expect(after.every((c) => c.status === 'idle' && c.totalFilesSynced === 30n)).toBe(true);
    for (const c of connectors.slice(0, 5)) await expectConverged(c);
  }, 240_000);

  it('SIGKILL mid-run: another worker resumes the job, trees converge, nothing stuck or duplicated', async () => {
    const f = await newFleet();
    const c = await f.localConnector(tenantId, shareId, await sourceDir('kill', 2000, 8192, 20));
    const a = await f.startWorker({ TRANSFER_CONCURRENCY: '2' });
    const jobId = await f.requestSync(c);
    await waitUntil(
      async () =>
        (await db.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).filesSynced >= 50,
      90_000,
      'progress',
    );
    a.kill('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    const b = await f.startWorker();
    await b.waitForLog((l) => l.message === 'sync started' && l.job_id === jobId, 120_000);
    const resumeMs = Date.now() - killedAt;
    const [job] = await f.waitForJobs([jobId], ['completed'], 240_000);
    expect(job!.attempt).toBeGreaterThanOrEqual(1);
    expect(job!.filesSynced).toBeLessThanOrEqual(2000);
    expect((await db.prisma.connector.findUniqueOrThrow({ where: { id: c.id } })).status).toBe(
      'idle',
    );
    await expectConverged(c);
    // Exactly one live file per source file (no duplicates from the interrupted run).
    const states = await db.prisma.fileState.count({
      where: { connectorId: c.id, kind: 'file', status: 'synced' },
    });
    expect(states).toBe(2000);
    process.stdout.write(
      `[measure] SIGKILL → job resumed on another worker: ${(resumeMs / 1000).toFixed(1)} s\n`,
    );
    expect(resumeMs).toBeLessThan(90_000);
  }, 420_000);

  it('SIGTERM mid-run: the worker exits within its grace period and the job continues elsewhere', async () => {
    const f = await newFleet();
    const c = await f.localConnector(tenantId, shareId, await sourceDir('term', 1500, 8192, 15));
    const a = await f.startWorker({ TRANSFER_CONCURRENCY: '2' });
    const jobId = await f.requestSync(c);
    await waitUntil(
      async () =>
        (await db.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).filesSynced >= 50,
      90_000,
      'progress',
    );
    const t0 = Date.now();
    a.kill('SIGTERM');
    const exit = await a.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const mid = await db.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(mid.status).toBe('queued');
    await f.startWorker();
    const [job] = await f.waitForJobs([jobId], ['completed'], 240_000);
    expect(job!.filesSynced).toBeLessThanOrEqual(1500);
    await expectConverged(c);
  }, 420_000);

  it('fair sharing: small connectors finish while a big one runs', async () => {
    const f = await newFleet();
    const big = await f.localConnector(tenantId, shareId, await sourceDir('big', 3000, 8192, 30));
    const small = [];
    for (let i = 0; i < 6; i++)
      small.push(await f.localConnector(tenantId, shareId, await sourceDir(`small-${i}`, 10)));
    await f.startWorker({ WORKER_CONCURRENCY: '2', TRANSFER_CONCURRENCY: '2' });
    const bigJob = await f.requestSync(big);
    await waitUntil(
      async () =>
        (await db.prisma.syncJob.findUniqueOrThrow({ where: { id: bigJob } })).status === 'running',
      60_000,
      'big job running',
    );
    const smallJobs = [];
    for (const c of small) smallJobs.push(await f.requestSync(c));
    const done = await f.waitForJobs(smallJobs, ['completed'], 180_000);
    const bigNow = await db.prisma.syncJob.findUniqueOrThrow({ where: { id: bigJob } });
    expect(bigNow.status).toBe('running');
    expect(done.every((j) => j.filesSynced === 10)).toBe(true);
  }, 300_000);

  it('scheduler across the fleet: due connectors sync on time, never twice at once; disabled never', async () => {
    const f = await newFleet();
    const due = await f.localConnector(tenantId, shareId, await sourceDir('sched', 5), {
      syncIntervalMinutes: 5,
      nextSyncAt: new Date(Date.now() - 1000),
    });
    const disabled = await f.localConnector(tenantId, shareId, await sourceDir('sched-off', 5), {
      syncIntervalMinutes: 5,
      nextSyncAt: new Date(Date.now() - 1000),
      status: 'disabled',
    });
    const env = { SCHEDULER_ENABLED: 'true', SCHEDULER_TICK_SECONDS: '1' };
    await Promise.all([f.startWorker(env), f.startWorker(env), f.startWorker(env)]);
    // Three rounds: after each run, pretend the 5 minutes have passed (a fake clock for next_sync_at).
    for (let round = 1; round <= 3; round++) {
      const jobs = await waitUntil(
        async () => {
          const js = await db.prisma.syncJob.findMany({
            where: { connectorId: due.id },
            orderBy: { createdAt: 'asc' },
          });
          return js.length === round && js[round - 1]!.status === 'completed' && js;
        },
        60_000,
        `round ${round}`,
      );
      const c = await db.prisma.connector.findUniqueOrThrow({ where: { id: due.id } });
      const finished = jobs[round - 1]!.finishedAt!.getTime();
      expect(Math.abs(c.nextSyncAt!.getTime() - (finished + 5 * 60_000))).toBeLessThan(2000);
      await db.prisma.connector.update({
        where: { id: due.id },
        data: { nextSyncAt: new Date(Date.now() - 1000) },
      });
    }
    const jobs = await waitUntil(
      async () => {
        const js = await db.prisma.syncJob.findMany({
          where: { connectorId: due.id },
          orderBy: { createdAt: 'asc' },
        });
        return js.length >= 4 && js.every((j) => j.status === 'completed') && js;
      },
      60_000,
      'round 4',
    );
    // Never two runs of the connector at once.
    for (let i = 1; i < jobs.length; i++)
      expect(jobs[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(
        jobs[i - 1]!.finishedAt!.getTime(),
      );
    expect(await db.prisma.syncJob.count({ where: { connectorId: disabled.id } })).toBe(0);
  }, 300_000);
});
