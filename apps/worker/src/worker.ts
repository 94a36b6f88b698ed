import { hostname } from 'node:os';
import { retryWithBackoff, startupRetry, type Config, type Logger } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import {
  ensureQueues,
  type PgBoss,
  QUEUE_CONNECTOR_SYNC,
  QUEUE_DEPTH_SQL,
  QUEUE_SCHEDULER_TICK,
  QUEUE_DRIVE_GC,
  queueSettingsFromConfig,
  type JobWithMetadata,
} from '@scaidrive/jobs';
import { HealthServer } from './health-server.js';
import { WorkerMetrics } from './metrics.js';
import type { SyncRunner } from './ports.js';
import { Reconciler } from './reconciler.js';
import { Scheduler } from './scheduler.js';
import { SyncJobHandler } from './sync-job-handler.js';

export interface MaintenanceResult {
  trashItemsPurged: number;
  chunksDeleted: number;
  /** Bytes of chunk content deleted from the chunk store. */
  bytesFreed: number;
}

export interface WorkerDeps {
  config: Config;
  prisma: PrismaClient;
  boss: PgBoss;
  logger: Logger;
  runSync: SyncRunner;
  /** Starts the queue client (when this worker owns it); retried with backoff at start-up. */
  startQueue?: () => Promise<void>;
  /**
   * Periodic share-store maintenance (trash expiry, then garbage collection of the chunks nothing
   * references); run by one worker at a time, every 15 minutes.
   */
  maintain?: (signal: AbortSignal) => Promise<MaintenanceResult>;
  metrics?: WorkerMetrics;
  workerId?: string;
}

export interface StartOptions {
  /** Port of the health/metrics server (0 = ephemeral); defaults to WORKER_PORT. */
  healthPort?: number;
  /** Aborts the start-up retries (a shutdown signal arrived while starting). */
  signal?: AbortSignal;
}

/** One worker process: consumes `connector-sync`, takes part in scheduling, serves health/metrics. */
export class Worker {
  readonly metrics: WorkerMetrics;
  readonly handler: SyncJobHandler;
  readonly scheduler: Scheduler;
  readonly reconciler: Reconciler;
  readonly health: HealthServer;
  readonly workerId: string;
  private depthTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private starting: Promise<number> | undefined;
  private readonly abortStart = new AbortController();
  /** Set once the queue handlers are registered: until then `/readyz` answers 503. */
  private consuming = false;

  constructor(private readonly deps: WorkerDeps) {
    this.metrics = deps.metrics ?? new WorkerMetrics();
    this.workerId = deps.workerId ?? `${hostname()}:${process.pid}`;
    this.handler = new SyncJobHandler(
      deps.prisma,
      deps.boss,
      deps.runSync,
      deps.logger,
      this.metrics,
      {
        workerId: this.workerId,
        maxRuntimeMs: deps.config.JOB_MAX_RUNTIME_SECONDS * 1000,
        progressFlushMs: 2000,
        cancelPollMs: 2000,
      },
    );
    this.scheduler = new Scheduler(deps.prisma, deps.boss, deps.logger, this.metrics);
    this.reconciler = new Reconciler(deps.prisma, deps.logger);
    this.health = new HealthServer(this.metrics.registry, [
      { name: 'database', check: async () => void (await deps.prisma.$queryRaw`SELECT 1`) },
      {
        name: 'queue',
        check: async () => {
          // A database made from a template already holds the schema; ready means consuming.
          if (!this.consuming) throw new Error('not consuming yet');
          if (!(await deps.boss.isInstalled())) throw new Error('queue schema missing');
        },
      },
    ]);
  }

  /**
   * Starts consuming. Returns the health server's port (0 in config = ephemeral). A `stop()` (or
   * `options.signal`) during start-up ends the retries; `stop()` waits for a start in progress, so
   * no consumer is registered behind its back.
   */
  start(options: StartOptions = {}): Promise<number> {
    this.starting ??= this.startConsuming(options).catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async startConsuming(options: StartOptions): Promise<number> {
    const { config, boss, logger } = this.deps;
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.abortStart.signal])
      : this.abortStart.signal;
    // Stopped (or stopping) already: start nothing that would then need stopping.
    signal.throwIfAborted();
    // Health first: while the database is unreachable `/readyz` answers 503 and start-up retries.
    const port = await this.health.listen(options.healthPort ?? config.WORKER_PORT, config.HOST);
    await retryWithBackoff(
      async () => {
        await this.deps.startQueue?.();
        await ensureQueues(boss, queueSettingsFromConfig(config));
      },
      startupRetry(config, logger, signal),
    ).catch(async (err: unknown) => {
      await this.health.close();
      throw err;
    });
    // Stopped while the queue connected: register nothing (stop() stops the queue).
    if (signal.aborted) {
      await this.health.close();
      signal.throwIfAborted();
    }
    await boss.work(
      QUEUE_CONNECTOR_SYNC,
      {
        localConcurrency: config.WORKER_CONCURRENCY,
        batchSize: 1,
        pollingIntervalSeconds: 2,
        includeMetadata: true,
        perJobResults: true,
      } as const,
      async (jobs: JobWithMetadata<unknown>[]) =>
        Promise.all(
          jobs.map(async (job) => ({
            id: job.id,
            status: await this.handler.handle({
              id: job.id,
              data: job.data,
              retryCount: job.retryCount,
              retryLimit: job.retryLimit,
              signal: job.signal,
            }),
          })),
        ),
    );
    if (config.SCHEDULER_ENABLED) {
      await boss.schedule(QUEUE_SCHEDULER_TICK, '* * * * *', null, { tz: 'UTC' });
      await boss.work(QUEUE_SCHEDULER_TICK, { pollingIntervalSeconds: 5 }, () => this.tick());
      const maintain = this.deps.maintain;
      if (maintain) {
        await boss.schedule(QUEUE_DRIVE_GC, '*/15 * * * *', null, { tz: 'UTC' });
        await boss.work(QUEUE_DRIVE_GC, { pollingIntervalSeconds: 5 }, async ([job]) => {
          const r = await maintain(job!.signal);
          if (r.trashItemsPurged || r.chunksDeleted)
            logger.info('share-store maintenance', {
              trash_items_purged: r.trashItemsPurged,
              chunks_deleted: r.chunksDeleted,
              bytes_freed: r.bytesFreed,
            });
        });
      }
      if (config.SCHEDULER_TICK_SECONDS < 60) {
        this.tickTimer = setInterval(() => void this.tick(), config.SCHEDULER_TICK_SECONDS * 1000);
        this.tickTimer.unref();
      }
    }
    this.depthTimer = setInterval(() => void this.refreshQueueDepth(), 15_000);
    this.depthTimer.unref();
    await this.refreshQueueDepth();
    this.consuming = true;
    logger.info('worker started', {
      worker_id: this.workerId,
      health_port: port,
      concurrency: config.WORKER_CONCURRENCY,
      transfer_concurrency: config.TRANSFER_CONCURRENCY,
      scheduler: config.SCHEDULER_ENABLED,
    });
    return port;
  }

  /**
   * Graceful stop: readiness goes false, no new jobs are fetched, running jobs checkpoint and hand
   * over to continuation jobs, then pg-boss stops (jobs still running at the timeout go back to retry).
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { boss, logger, config } = this.deps;
      this.health.markShuttingDown();
      this.abortStart.abort();
      // A start in progress gives way at its next step; one stuck in a connect attempt is not
      // waited for beyond a few seconds (the queue is stopped below either way).
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([
        this.starting?.catch(() => undefined),
        new Promise(
          (r) => (waited = setTimeout(r, Math.min(5000, config.SHUTDOWN_TIMEOUT_SECONDS * 250))),
        ),
      ]);
      clearTimeout(waited);
      logger.info('worker stopping', { running_jobs: this.handler.runningCount });
      if (this.depthTimer) clearInterval(this.depthTimer);
      if (this.tickTimer) clearInterval(this.tickTimer);
      await boss.offWork(QUEUE_SCHEDULER_TICK).catch(() => undefined);
      await boss.offWork(QUEUE_DRIVE_GC).catch(() => undefined);
      const drained = boss.offWork(QUEUE_CONNECTOR_SYNC, { wait: true }).catch(() => undefined);
      this.handler.shutdown();
      let budget: NodeJS.Timeout | undefined;
      await Promise.race([
        drained,
        new Promise((r) => (budget = setTimeout(r, config.SHUTDOWN_TIMEOUT_SECONDS * 1000 - 2000))),
      ]);
      // A drained worker must not wait for the budget timer to let the process exit.
      clearTimeout(budget);
      await boss.stop({ graceful: true, timeout: 2000 });
      await this.health.close();
      logger.info('worker stopped');
    })();
    return this.stopping;
  }

  /** Reconcile stuck jobs, then enqueue due connectors. Safe to run on every worker at once. */
  async tick(): Promise<void> {
    try {
      await this.reconciler.run();
      await this.scheduler.tick();
    } catch (err) {
      this.deps.logger.warn('scheduler tick failed', { err });
    }
  }

  private async refreshQueueDepth(): Promise<void> {
    try {
      const rows = await this.deps.prisma.$queryRawUnsafe<{ count: bigint }[]>(QUEUE_DEPTH_SQL);
      this.metrics.queueDepth.set(
        { queue: QUEUE_CONNECTOR_SYNC, state: 'ready_or_active' },
        Number(rows[0]?.count ?? 0),
      );
    } catch {
      // Readiness reports database problems; the gauge keeps its last value.
    }
  }
}
