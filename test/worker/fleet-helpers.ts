import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSecretKeySpec, newId } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { createBoss, enqueueSync, type PgBoss } from '@scaidrive/jobs';
import { spawnApp, type ChildApp } from '@scaidrive/testkit';

/** A test fleet: one database, one blob directory, worker processes started from sources. */
export class Fleet {
  readonly secretKeys = generateSecretKeySpec('t1');
  readonly workers: ChildApp[] = [];
  boss!: PgBoss;
  dir!: string;

  constructor(
    readonly prisma: PrismaClient,
    readonly databaseUrl: string,
  ) {}

  async init(): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), 'fleet-'));
    this.boss = createBoss({ connectionString: this.databaseUrl, role: 'api' });
    this.boss.on('error', () => undefined);
    await this.boss.start();
  }

  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl,
      SECRET_KEYS: this.secretKeys,
      ENABLE_LOCAL_CONNECTORS: 'true',
      HOST: '127.0.0.1',
      WORKER_PORT: '0',
      DATA_DIR: this.dir,
      BLOB_DIR: path.join(this.dir, 'blobs'),
      JOB_HEARTBEAT_SECONDS: '10',
      JOB_RETRY_DELAY_SECONDS: '1',
      SCHEDULER_ENABLED: 'false',
      SHUTDOWN_TIMEOUT_SECONDS: '15',
      WORKER_CONCURRENCY: '2',
      TRANSFER_CONCURRENCY: '4',
      DATABASE_POOL_SIZE: '4',
      LOG_LEVEL: 'info',
      ...overrides,
    };
  }

  async startWorker(overrides: Record<string, string> = {}): Promise<ChildApp> {
    const w = spawnApp('worker', this.env(overrides));
    this.workers.push(w);
    await w.waitForLog((l) => l.message === 'worker started', 90_000);
    return w;
  }

  async localConnector(
    tenantId: string,
    shareId: string,
    sourceDir: string,
    data: Partial<{
      syncIntervalMinutes: number;
      nextSyncAt: Date | null;
      status: string;
      syncDirection: string;
    }> = {},
  ) {
    const id = newId('cnn');
    return this.prisma.connector.create({
      data: {
        id,
        tenantId,
        kind: 'local',
        name: `local ${id}`,
        basePath: sourceDir,
        targetShareId: shareId,
        targetPath: `/${id}`,
        syncDirection: data.syncDirection ?? 'bidirectional',
        syncHiddenFiles: true,
        syncIntervalMinutes: data.syncIntervalMinutes ?? 0,
        nextSyncAt: data.nextSyncAt ?? null,
        status: data.status ?? 'idle',
      },
    });
  }

  /** What the API does on POST …/sync: the job row and the queue job in one transaction. */
  async requestSync(
    connector: { id: string; tenantId: string },
    fullSync = false,
  ): Promise<string> {
    const enqueued = await this.prisma.$transaction((tx) =>
      enqueueSync(tx, this.boss, {
        tenantId: connector.tenantId,
        connectorId: connector.id,
        fullSync,
        confirmDeletes: false,
        trigger: 'manual',
      }),
    );
    if (!enqueued) throw new Error('a sync is already queued');
    const jobId = enqueued.jobId;
    return jobId;
  }

  async waitForJobs(jobIds: string[], statuses: string[] = ['completed'], timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const jobs = await this.prisma.syncJob.findMany({ where: { id: { in: jobIds } } });
      const bad = jobs.filter(
        (j) =>
          ['failed', 'cancelled', 'completed'].includes(j.status) && !statuses.includes(j.status),
      );
      if (bad.length)
        throw new Error(
          `jobs ended ${bad.map((j) => `${j.id}=${j.status} (${j.message})`).join(', ')}`,
        );
      if (jobs.length === jobIds.length && jobs.every((j) => statuses.includes(j.status)))
        return jobs;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out; states: ${jobs.map((j) => `${j.status}:${j.filesSynced}`).join(' ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    for (const w of this.workers) w.kill('SIGKILL');
    await Promise.all(this.workers.map((w) => w.exited));
    this.workers.length = 0;
    await this.boss.stop({ graceful: false }).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function waitUntil<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
