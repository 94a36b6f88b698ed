import path from 'node:path';
import pg from 'pg';
import { SecretBox, type Config, type Logger, type SecretKey } from '@scaidrive/core';
import { createPrismaClient, createSqlClient, type PrismaClient } from '@scaidrive/db';
import { Drive } from '@scaidrive/drive';
import { createBoss, type PgBoss } from '@scaidrive/jobs';
import { WorkerMetrics } from './metrics.js';
import { localSource } from './sources/local.js';
import { smbSource } from './sources/smb.js';
import { sharePointSource } from './sources/sharepoint.js';
import { SourceRegistry } from './sources/registry.js';
import { createEngineRunner } from './sync-runner.js';
import { Worker, type StartOptions } from './worker.js';

export interface ComposeWorkerOptions {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  secretKeys: SecretKey[];
  /** Reuse existing clients (the standalone app shares them with the API). */
  prisma?: PrismaClient;
  boss?: PgBoss;
  /** Extra or replacement source factories (tests). */
  sources?: (registry: SourceRegistry) => void;
}

export interface WorkerRuntime {
  worker: Worker;
  drive: Drive;
  prisma: PrismaClient;
  boss: PgBoss;
  /** Starts consuming; returns the health port. */
  start(options?: StartOptions): Promise<number>;
  shutdown(): Promise<void>;
}

/** The worker's composition root: every service built here with `new`, from config read once. */
export async function composeWorker(options: ComposeWorkerOptions): Promise<WorkerRuntime> {
  const { config, logger } = options;
  const ownsPrisma = !options.prisma;
  const ownsBoss = !options.boss;
  const prisma =
    options.prisma ??
    createPrismaClient({
      connectionString: options.databaseUrl,
      poolSize: config.DATABASE_POOL_SIZE,
    });
  const boss =
    options.boss ??
    createBoss({
      connectionString: options.databaseUrl,
      role: 'worker',
      poolSize: config.DATABASE_POOL_SIZE,
      superviseIntervalSeconds: Math.min(60, config.JOB_HEARTBEAT_SECONDS),
    });
  if (ownsBoss) {
    boss.on('error', (err) => logger.error('queue error', { err }));
  }
  // The hot paths — file states and the share store's writes — run on a plain pg pool: per
  // statement ~5× less CPU than Prisma's raw queries (a file synced into the store is a handful).
  const statePool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: config.DATABASE_POOL_SIZE,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  statePool.on('error', (err) => logger.warn('database pool error', { err }));
  const blobDir = config.BLOB_DIR ?? path.join(config.DATA_DIR, 'blobs');
  const drive = Drive.fromConfig(createSqlClient(statePool), { ...config, BLOB_DIR: blobDir });
  const secrets = new SecretBox(options.secretKeys);
  const metrics = new WorkerMetrics();
  const sources = new SourceRegistry();
  sources.register('smb', smbSource());
  sources.register('sharepoint', sharePointSource());
  if (config.ENABLE_LOCAL_CONNECTORS) sources.register('local', localSource);
  options.sources?.(sources);
  const runSync = createEngineRunner({
    statePool,
    prisma,
    drive,
    secrets,
    sources,
    config,
    logger,
    metrics,
  });
  const worker = new Worker({
    config,
    prisma,
    boss,
    logger,
    runSync,
    metrics,
    maintain: async (signal) => {
      const trash = await drive.expireTrash({ signal });
      const gc = await drive.collectGarbage({ signal });
      return { trashItemsPurged: trash.itemsPurged, ...gc };
    },
    ...(ownsBoss ? { startQueue: async () => void (await boss.start()) } : {}),
  });
  let stopping: Promise<void> | undefined;
  return {
    worker,
    drive,
    prisma,
    boss,
    start: (o) => worker.start(o),
    shutdown() {
      stopping ??= (async () => {
        await worker.stop();
        await statePool.end().catch(() => undefined);
        if (ownsBoss) await boss.stop({ graceful: false }).catch(() => undefined);
        if (ownsPrisma) await prisma.$disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
