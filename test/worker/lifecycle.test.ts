import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AppError,
  AuthFailedError,
  UnreachableError,
  CancelledError,
  loadConfig,
  newId,
} from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import {
  createBoss,
  DEFAULT_QUEUE_SETTINGS,
  enqueueSync,
  ensureQueues,
  QUEUE_CONNECTOR_SYNC,
  QUEUE_CONNECTOR_SYNC_DLQ,
  QUEUE_DRIVE_GC,
  QUEUE_SCHEDULER_TICK,
  type PgBoss,
} from '@scaidrive/jobs';
import {
  Reconciler,
  SyncJobHandler,
  Worker,
  WorkerMetrics,
  withRunSummary,
  ZERO_PROGRESS,
  type SyncRunner,
  type SyncRunRequest,
} from '@scaidrive/worker';
import {
  captureLogger,
  createShare,
  createTenant,
  createTestDatabase,
  createUser,
  type TestDatabase,
} from '@scaidrive/testkit';

/**
 * The worker's job lifecycle against real PostgreSQL and pg-boss. The engine is the injected
 * `SyncRunner` port here (end-to-end runs with the real engine live in test/e2e).
 */
let db: TestDatabase;
let prisma: PrismaClient;
let tenantId: string;
let shareId: string;
const bosses: PgBoss[] = [];
const workers: Worker[] = [];
const ports = new Map<Worker, number>();

const config = loadConfig({
  WORKER_CONCURRENCY: '2',
  JOB_RETRY_LIMIT: '2',
  JOB_RETRY_DELAY_SECONDS: '1',
  SHUTDOWN_TIMEOUT_SECONDS: '10',
  SCHEDULER_ENABLED: 'false',
  HOST: '127.0.0.1',
});

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  tenantId = (await createTenant(prisma)).id;
  const user = await createUser(prisma, tenantId);
  shareId = (await createShare(prisma, tenantId, user.id)).id;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(
    bosses.splice(0).map((b) => b.stop({ graceful: false }).catch(() => undefined)),
  );
});
afterAll(async () => {
  await db.drop();
});

async function boss(): Promise<PgBoss> {
  const b = createBoss({ connectionString: db.url, role: 'worker' });
  b.on('error', () => undefined);
  await b.start();
  bosses.push(b);
  return b;
}

async function startWorker(
  runSync: SyncRunner,
  overrides: Partial<typeof config> = {},
  deps: Partial<ConstructorParameters<typeof Worker>[0]> = {},
): Promise<Worker> {
  const b = await boss();
  const w = new Worker({
    config: { ...config, ...overrides },
    prisma,
    boss: b,
    logger: captureLogger('error').logger,
    runSync,
    ...deps,
  });
  ports.set(w, await w.start({ healthPort: 0 }));
  workers.push(w);
  return w;
}

async function connector(
  data: Partial<{ syncIntervalMinutes: number; nextSyncAt: Date | null; status: string }> = {},
) {
  return prisma.connector.create({
    data: {
      id: newId('cnn'),
      tenantId,
      kind: 'local',
      name: 'c',
      targetShareId: shareId,
      targetPath: '/x',
      syncDirection: 'bidirectional',
      syncIntervalMinutes: data.syncIntervalMinutes ?? 15,
      nextSyncAt: data.nextSyncAt === undefined ? new Date(Date.now() - 1000) : data.nextSyncAt,
      status: data.status ?? 'idle',
    },
  });
}

/** What the API does on POST …/sync. */
async function requestSync(b: PgBoss, connectorId: string): Promise<string> {
  const enqueued = await prisma.$transaction((tx) =>
    enqueueSync(tx, b, {
      tenantId,
      connectorId,
      fullSync: false,
      confirmDeletes: false,
      trigger: 'manual',
    }),
  );
  expect(enqueued).not.toBeNull();
  return enqueued!.jobId;
}

async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const done = (progress = {}): ReturnType<SyncRunner> =>
  Promise.resolve({
    progress: {
      filesScanned: 10,
      filesSynced: 4,
      bytesTransferred: 4096,
      errorCount: 1,
      conflicts: 0,
      deletes: 2,
      ...progress,
    },
    message: null,
    summary: { ok: true },
    interrupted: false,
  });

function untilAborted(req: SyncRunRequest): ReturnType<SyncRunner> {
  return new Promise((resolve) => {
    req.signal.addEventListener('abort', () =>
      resolve({
        progress: {
          filesScanned: 1,
          filesSynced: 1,
          bytesTransferred: 1,
          errorCount: 0,
          conflicts: 0,
          deletes: 0,
        },
        message: null,
        summary: null,
        interrupted: true,
      }),
    );
  });
}

describe('scheduler', () => {
  it('enqueues due connectors once, never disabled or manual-only ones', async () => {
    const due = await connector();
    const never = await connector({ nextSyncAt: null });
    const later = await connector({ nextSyncAt: new Date(Date.now() + 3600_000) });
    const disabled = await connector({ status: 'disabled' });
    const manual = await connector({ syncIntervalMinutes: 0 });
    const [b1, b2] = [await boss(), await boss()];
    await ensureQueues(b1, { ...DEFAULT_QUEUE_SETTINGS, retryLimit: 2, retryDelaySeconds: 1 });
    const w1 = new Worker({
      config,
      prisma,
      boss: b1,
      logger: captureLogger('error').logger,
      runSync: done,
    });
    const w2 = new Worker({
      config,
      prisma,
      boss: b2,
      logger: captureLogger('error').logger,
      runSync: done,
    });
    // Two workers tick at the same moment: each due connector is enqueued exactly once.
    const [r1, r2] = await Promise.all([w1.scheduler.tick(), w2.scheduler.tick()]);
    const enqueued = [...r1.enqueued, ...r2.enqueued].sort();
    expect(enqueued).toEqual([due.id, never.id].sort());
    const jobs = await prisma.syncJob.findMany({
      where: { connectorId: { in: [due.id, never.id, later.id, disabled.id, manual.id] } },
    });
    expect(jobs.map((j) => j.connectorId).sort()).toEqual([due.id, never.id].sort());
    expect(
      jobs.every((j) => j.trigger === 'schedule' && j.status === 'queued' && j.queueJobId),
    ).toBe(true);
    // Still due, but a sync is already queued: nothing new — they are not even attempted (long
    // runs would otherwise fill the tick's LIMIT with connectors that cannot be enqueued).
    const again = await w1.scheduler.tick();
    expect(again.enqueued).toEqual([]);
    expect(again.busy).toEqual([]);
    expect((await prisma.connector.findUniqueOrThrow({ where: { id: due.id } })).status).toBe(
      'queued',
    );
  });
});

describe('sync job handler', () => {
  it('completes a run: counters, connector status, next_sync_at and totals', async () => {
    const c = await connector({ syncIntervalMinutes: 5, nextSyncAt: null });
    const w = await startWorker(() => done());
    const jobId = await requestSync(bosses[0]!, c.id);
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'completed' && j;
    });
    expect(job).toMatchObject({
      filesScanned: 10,
      filesSynced: 4,
      bytesTransferred: 4096n,
      errorCount: 1,
      deletes: 2,
      workerId: w.workerId,
    });
    expect(job.startedAt).not.toBeNull();
    const after = await prisma.connector.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.status).toBe('idle');
    expect(after.errorCount).toBe(1);
    expect(after.totalFilesSynced).toBe(4n);
    expect(after.totalBytesSynced).toBe(4096n);
    expect(after.fullSyncRequired).toBe(false);
    const expectedNext = job.finishedAt!.getTime() + 5 * 60_000;
    expect(Math.abs(after.nextSyncAt!.getTime() - expectedNext)).toBeLessThan(1000);
  });

  it('a configuration change during the run keeps the full sync it asked for', async () => {
    const c = await connector();
    await startWorker(async () => {
      // What a PATCH of base_path (or site, host, filters) does while the run is under way.
      await prisma.connector.update({
        where: { id: c.id },
        data: { fullSyncRequired: true, configRevision: { increment: 1 } },
      });
      return done();
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'completed' && j;
    });
    const after = await prisma.connector.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.status).toBe('idle');
    expect(after.lastSyncAt).not.toBeNull();
    expect(after.fullSyncRequired).toBe(true);
  });

  it('fails at once on a fatal error, with the reason on the connector', async () => {
    const c = await connector();
    let calls = 0;
    await startWorker(async () => {
      calls++;
      throw new AuthFailedError('The SMB server rejected the user name or password');
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    await waitFor(
      async () =>
        (await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).status === 'failed',
    );
    const after = await prisma.connector.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.status).toBe('error');
    expect(after.statusMessage).toBe('The SMB server rejected the user name or password');
    // The job keeps the error's code (no engine summary: the run failed before walking).
    expect((await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).summary).toEqual({
      status: 'failed',
      error: {
        code: 'CONNECTOR_AUTH_FAILED',
        action: 'fail_job',
        message: 'The SMB server rejected the user name or password',
      },
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(calls).toBe(1);
  });

  it('a failure message with a foreign name that is not well-formed still fails the job row', async () => {
    const c = await connector();
    await startWorker(async () => {
      throw new AuthFailedError('cannot open bad\uD800name.txt');
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'failed' && j;
    });
    expect((job.summary as { error: { message: string } }).error.message).toBe(
      'cannot open bad\uFFFDname.txt',
    );
  });

  it('a failed run keeps the summary it attached to its error (error samples, delete safety)', async () => {
    const c = await connector();
    const runSummary = {
      status: 'failed',
      mode: 'full',
      errors: [{ path: 'x.txt', code: 'ACCESS_DENIED', message: 'denied' }],
      deleteSafety: { wouldDelete: 9, managedFiles: 10, limit: 5 },
      error: { code: 'DELETE_SAFETY', message: 'engine words', action: 'fail_job', details: 1 },
    };
    await startWorker(async () => {
      throw withRunSummary(
        new AppError('DELETE_SAFETY', 'Would delete 9 of 10 files', { action: 'fail_job' }),
        runSummary,
      );
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'failed' && j;
    });
    expect(job.summary).toEqual({
      ...runSummary,
      error: {
        code: 'DELETE_SAFETY',
        action: 'fail_job',
        message: 'Would delete 9 of 10 files',
        details: 1,
      },
    });
  });

  it('counts the files and bytes a run moved in the metrics even when it then fails', async () => {
    const c = await connector();
    const w = await startWorker(async (req) => {
      req.onProgress({ ...ZERO_PROGRESS, filesSynced: 5, bytesTransferred: 5000, conflicts: 1 });
      throw new AuthFailedError('The password expired halfway');
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    await waitFor(
      async () =>
        (await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).status === 'failed',
    );
    const metrics = await (await fetch(`http://127.0.0.1:${ports.get(w)!}/metrics`)).text();
    expect(metrics).toContain('scaidrive_connector_files_synced_total{kind="local"} 5');
    expect(metrics).toContain('scaidrive_connector_bytes_synced_total{kind="local"} 5000');
    expect(metrics).toContain('scaidrive_connector_conflicts_total{kind="local"} 1');
  });

  it('retries transient failures with backoff, then succeeds', async () => {
    const c = await connector();
    let calls = 0;
    const times: number[] = [];
    await startWorker(async () => {
      times.push(Date.now());
      if (++calls < 3) throw new UnreachableError('connect ECONNREFUSED 10.0.0.1:445');
      return done();
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'completed' && j;
    }, 40_000);
    expect(calls).toBe(3);
    expect(job.attempt).toBe(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(500);
  });

  it('gives up after the last retry: job failed, connector error', async () => {
    const c = await connector();
    let calls = 0;
    await startWorker(async () => {
      calls++;
      throw new UnreachableError('host unreachable');
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'failed' && j;
    }, 60_000);
    expect(calls).toBe(3);
    expect(job.message).toMatch(/host unreachable \(gave up after 3 attempts\)/);
    expect(job.summary).toMatchObject({
      error: { code: 'CONNECTOR_UNREACHABLE', action: 'retry', message: job.message },
    });
    // The exhausted queue job went to the dead-letter queue, where operators look for it.
    const dead = await waitFor(async () => {
      const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND data->>'job_id' = $2`,
        QUEUE_CONNECTOR_SYNC_DLQ,
        jobId,
      );
      return rows[0]!.n > 0 && rows[0]!.n;
    });
    expect(dead).toBe(1);
    expect((await prisma.connector.findUniqueOrThrow({ where: { id: c.id } })).status).toBe(
      'error',
    );
  });

  it('cancels a running job within seconds when an operator asks', async () => {
    const c = await connector();
    let started = false;
    await startWorker((req) => {
      started = true;
      return untilAborted(req);
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    await waitFor(async () => started);
    const asked = Date.now();
    await prisma.syncJob.update({ where: { id: jobId }, data: { cancelRequestedAt: new Date() } });
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'cancelled' && j;
    });
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(job.filesSynced).toBe(1);
    expect((await prisma.connector.findUniqueOrThrow({ where: { id: c.id } })).status).toBe('idle');
  });

  it('treats an engine CancelledError after cancel as cancelled, not failed', async () => {
    const c = await connector();
    await startWorker(
      (req) =>
        new Promise((_, reject) =>
          req.signal.addEventListener('abort', () => reject(new CancelledError())),
        ),
    );
    const jobId = await requestSync(bosses[0]!, c.id);
    await waitFor(
      async () =>
        (await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).status === 'running',
    );
    await prisma.syncJob.update({ where: { id: jobId }, data: { cancelRequestedAt: new Date() } });
    await waitFor(
      async () =>
        (await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })).status === 'cancelled',
    );
  });

  it('on shutdown, checkpoints and continues the same job on another worker', async () => {
    const c = await connector();
    const seen: number[] = [];
    const first = await startWorker((req) => {
      seen.push(req.payload.continuation);
      return untilAborted(req);
    });
    const jobId = await requestSync(bosses[0]!, c.id);
    await waitFor(async () => seen.length === 1);
    const stopped = Date.now();
    await first.stop();
    expect(Date.now() - stopped).toBeLessThan(10_000);
    const mid = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(mid.status).toBe('queued');
    expect(mid.message).toMatch(/shutting down/);
    await startWorker((req) => {
      seen.push(req.payload.continuation);
      return done({ filesSynced: 2 });
    });
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'completed' && j;
    });
    expect(seen).toEqual([0, 1]);
    // Counters of both runs add up on the one job.
    expect(job.filesSynced).toBe(3);
  });
});

/**
 * A sync requested and fetched as a worker fetches it (active, so no later test's worker takes it),
 * with a bare handler to run it by hand.
 */
async function fetchedSync(runSync: SyncRunner) {
  const c = await connector();
  const b = await boss();
  await ensureQueues(b, DEFAULT_QUEUE_SETTINGS);
  const jobId = await requestSync(b, c.id);
  const [queued] = await b.fetch(QUEUE_CONNECTOR_SYNC);
  const row = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
  expect(queued?.id).toBe(row.queueJobId);
  const handler = new SyncJobHandler(
    prisma,
    b,
    runSync,
    captureLogger('error').logger,
    new WorkerMetrics(),
    { workerId: 'w-test', maxRuntimeMs: 60_000, progressFlushMs: 1000, cancelPollMs: 60_000 },
  );
  return { c, b, jobId, queued: queued!, handler };
}

describe('queue claim lost mid-run', () => {
  it('leaves the job and connector rows to the worker that has the job now', async () => {
    // The run ends the way runs end when aborted: by throwing the cancellation.
    const { c, jobId, queued, handler } = await fetchedSync(
      (req) =>
        new Promise((_, reject) =>
          req.signal.addEventListener('abort', () => reject(new CancelledError()), { once: true }),
        ),
    );
    const claim = new AbortController();
    const outcome = handler.handle({
      id: queued.id,
      data: queued.data,
      retryCount: 0,
      retryLimit: 2,
      signal: claim.signal,
    });
    await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'running';
    });
    // pg-boss took the job back (expired heartbeat): another worker runs it now.
    claim.abort();
    expect(await outcome).toBe('failed');
    const job = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(job.status).toBe('running'); // not "failed" behind the other worker's back
    const after = await prisma.connector.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.status).toBe('syncing');
  });
});

describe('a job fetched just before shutdown', () => {
  it('hands over to a continuation at once instead of running into the shutdown timeout', async () => {
    const ran: boolean[] = [];
    const { b, jobId, queued, handler } = await fetchedSync(async (req) => {
      ran.push(req.signal.aborted);
      return { ...(await done()), interrupted: req.signal.aborted };
    });
    handler.shutdown();
    const outcome = await handler.handle({
      id: queued.id,
      data: queued.data,
      retryCount: 0,
      retryLimit: 2,
      signal: new AbortController().signal,
    });
    expect(outcome).toBe('completed');
    expect(ran).toEqual([true]); // the run saw the stop from its first step
    const job = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(job.status).toBe('queued');
    expect(job.queueJobId).not.toBe(queued.id); // the continuation
    expect(job.message).toMatch(/shutting down; continuing/);
    await b.deleteJob(QUEUE_CONNECTOR_SYNC, job.queueJobId!); // not for later tests' workers
  });
});

describe('queue settings', () => {
  it('workers apply theirs to the existing queue; the API only creates what is missing', async () => {
    const b = await boss();
    await ensureQueues(b, {
      ...DEFAULT_QUEUE_SETTINGS,
      retryDelaySeconds: 7,
      heartbeatSeconds: 45,
    });
    const q1 = await b.getQueue(QUEUE_CONNECTOR_SYNC);
    expect([q1?.retryDelay, q1?.heartbeatSeconds]).toEqual([7, 45]);
    // An API restart with other values in its environment leaves them as the workers set them.
    await ensureQueues(
      b,
      { ...DEFAULT_QUEUE_SETTINGS, retryDelaySeconds: 99, heartbeatSeconds: 99 },
      { applySettings: false },
    );
    const q2 = await b.getQueue(QUEUE_CONNECTOR_SYNC);
    expect([q2?.retryDelay, q2?.heartbeatSeconds]).toEqual([7, 45]);
    await ensureQueues(b, DEFAULT_QUEUE_SETTINGS); // as the other tests expect it
  });
});

describe('reconciler', () => {
  it('fails a job whose queue job is gone and moves next_sync_at on (no re-enqueue loop)', async () => {
    const c = await connector({ syncIntervalMinutes: 15 });
    await prisma.connector.update({ where: { id: c.id }, data: { status: 'syncing' } });
    const b = await boss();
    await ensureQueues(b, DEFAULT_QUEUE_SETTINGS);
    const jobId = await requestSync(b, c.id);
    // The worker running it died and its queue job vanished (or expired out of retries).
    const { queueJobId } = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
    await b.deleteJob(QUEUE_CONNECTOR_SYNC, queueJobId!);
    await prisma.syncJob.update({
      where: { id: jobId },
      data: {
        status: 'running',
        createdAt: new Date(Date.now() - 600_000),
      },
    });
    const before = Date.now();
    expect(await new Reconciler(prisma, captureLogger('error').logger).run(60)).toContain(jobId);
    const job = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(job.status).toBe('failed');
    const after = await prisma.connector.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.status).toBe('error');
    expect(after.nextSyncAt!.getTime()).toBeGreaterThanOrEqual(before + 15 * 60_000 - 5_000);
  });
});

describe('long runs', () => {
  it('a run that reaches its runtime budget checkpoints and continues in a follow-up job', async () => {
    const c = await connector();
    const seen: { continuation: number; reason: unknown }[] = [];
    await startWorker(
      (req) => {
        if (req.payload.continuation === 0) {
          return untilAborted(req).then((r) => {
            seen.push({ continuation: 0, reason: req.signal.reason });
            return r;
          });
        }
        seen.push({ continuation: req.payload.continuation, reason: null });
        return done({ filesSynced: 5 });
      },
      // Below the configurable minimum (60 s) to keep the test short.
      { JOB_MAX_RUNTIME_SECONDS: 1 },
    );
    const jobId = await requestSync(bosses[0]!, c.id);
    const job = await waitFor(async () => {
      const j = await prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      return j.status === 'completed' && j;
    });
    expect(seen).toEqual([
      { continuation: 0, reason: 'budget' },
      { continuation: 1, reason: null },
    ]);
    expect(job.filesSynced).toBe(6);
    // The message counts what the row counts (both runs), not the last run alone.
    expect(job.message).toMatch(/^6 files synced, \d+ deleted.* \(in 2 runs\)$/);
    // One job row for the operator; two queue jobs behind it.
    expect(await prisma.syncJob.count({ where: { connectorId: c.id } })).toBe(1);
  });
});

describe('maintenance', () => {
  it('schedules share-store maintenance fleet-wide and runs it on one worker', async () => {
    const calls: AbortSignal[] = [];
    const w = await startWorker(
      done,
      { SCHEDULER_ENABLED: true },
      {
        maintain: async (signal) => {
          calls.push(signal);
          return { trashItemsPurged: 1, chunksDeleted: 3, bytesFreed: 300 };
        },
      },
    );
    const schedules = await bosses[0]!.getSchedules();
    expect(schedules.map((s) => [s.name, s.cron])).toEqual(
      expect.arrayContaining([
        [QUEUE_DRIVE_GC, '*/15 * * * *'],
        [QUEUE_SCHEDULER_TICK, '* * * * *'],
      ]),
    );
    await bosses[0]!.send(QUEUE_DRIVE_GC, null);
    await waitFor(async () => calls.length === 1);
    expect(calls[0]).toBeInstanceOf(AbortSignal);
    expect(w.workerId).toBeTruthy();
  });
});

describe('start-up', () => {
  /** A worker (not started) whose consumer registrations are counted in `work`. */
  async function unstartedWorker(startQueue: () => Promise<void>) {
    const b = await boss();
    const work = jest.spyOn(b, 'work');
    const w = new Worker({
      config,
      prisma,
      boss: b,
      logger: captureLogger('error').logger,
      runSync: async () => ({ status: 'completed' }) as never,
      startQueue,
    });
    return { w, work };
  }

  it('a stop during start-up registers no consumer and ends the start', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inStart = new Promise<void>((r) => (entered = r));
    // The queue connects slowly: the stop arrives while start-up is still in it.
    const { w, work } = await unstartedWorker(async () => {
      entered();
      await gate;
    });
    const started = w.start({ healthPort: 0 });
    await inStart;
    const stopped = w.stop();
    release();
    await expect(started).rejects.toMatchObject({ name: 'AbortError' });
    await stopped;
    expect(work).not.toHaveBeenCalled();
  });

  it('a start after a stop starts nothing (no health server, no queue, no consumer)', async () => {
    let queueStarts = 0;
    const { w, work } = await unstartedWorker(async () => void queueStarts++);
    await w.stop();
    await expect(w.start({ healthPort: 0 })).rejects.toMatchObject({ name: 'AbortError' });
    expect(queueStarts).toBe(0);
    expect(work).not.toHaveBeenCalled();
  });
});

describe('health server', () => {
  it('serves healthz, readyz and metrics; readyz turns false on shutdown', async () => {
    const w = await startWorker(() => done());
    const port = ports.get(w)!;
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', queue: 'ok' },
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('scaidrive_connector_sync_jobs_running');
    expect(metrics).toContain('scaidrive_queue_depth');
    w.health.markShuttingDown();
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });
});
