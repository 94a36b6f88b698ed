import { AppError, ErrorCode, classifyError, type Logger } from '@scaidrive/core';
import type { Connector, PrismaClient, SyncJob } from '@scaidrive/db';
import type { PgBoss } from '@scaidrive/jobs';
import {
  fromPrisma,
  lockConnector,
  QUEUE_CONNECTOR_SYNC,
  SyncJobPayload,
  syncSendOptions,
} from '@scaidrive/jobs';
import { progressMessage } from '@scaidrive/sync';
import type { WorkerMetrics } from './metrics.js';
import {
  ZERO_PROGRESS,
  runSummaryOf,
  type JobProgress,
  type StopReason,
  type SyncRunner,
} from './ports.js';

export interface QueueJob {
  id: string;
  data: unknown;
  retryCount: number;
  retryLimit: number;
  signal: AbortSignal;
}

/** What pg-boss should do with the queue job. */
export type QueueOutcome = 'completed' | 'failed';

export interface SyncJobHandlerOptions {
  workerId: string;
  /** A run longer than this checkpoints and continues in a follow-up job. */
  maxRuntimeMs: number;
  /** How often counters are written to the job row. */
  progressFlushMs: number;
  /** How often the job row is checked for a cancel request. */
  cancelPollMs: number;
}

/**
 * The `connector-sync` handler: one queue job = one run of one connector. Owns the job row and the
 * connector status; the engine run itself is the injected `SyncRunner`.
 */
export class SyncJobHandler {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly boss: PgBoss,
    private readonly runSync: SyncRunner,
    private readonly logger: Logger,
    private readonly metrics: WorkerMetrics,
    private readonly options: SyncJobHandlerOptions,
  ) {}

  get runningCount(): number {
    return this.running.size;
  }

  private stopping = false;

  /** SIGTERM: every running job checkpoints and hands over to a continuation job. */
  shutdown(): void {
    this.stopping = true;
    for (const ac of this.running.values()) ac.abort('shutdown' satisfies StopReason);
  }

  async handle(qjob: QueueJob): Promise<QueueOutcome> {
    const parsed = SyncJobPayload.safeParse(qjob.data);
    if (!parsed.success) {
      this.logger.error('discarding malformed sync job payload', { queue_job_id: qjob.id });
      return 'completed';
    }
    const payload = parsed.data;
    const log = this.logger.child({
      job_id: payload.job_id,
      connector_id: payload.connector_id,
      queue_job_id: qjob.id,
    });
    const job = await this.prisma.syncJob.findFirst({
      where: { id: payload.job_id, tenantId: payload.tenant_id },
    });
    const connector = await this.prisma.connector.findFirst({
      where: { id: payload.connector_id, tenantId: payload.tenant_id },
    });
    if (!job || !connector) {
      log.warn('connector or job no longer exists; dropping queue job');
      return 'completed';
    }
    if (job.status === 'completed' || job.status === 'failed') {
      // Finished already (a crash between finishing the row and completing the queue job, or the
      // reconciler gave up on it): its outcome stands.
      log.warn('job already finished; dropping queue job', { status: job.status });
      return 'completed';
    }
    if (job.status === 'cancelled' || job.cancelRequestedAt) {
      await this.finish(job, connector, 'cancelled', { message: 'Cancelled before it started' });
      return 'completed';
    }
    if (connector.status === 'disabled') {
      await this.finish(job, connector, 'cancelled', { message: 'Connector is disabled' });
      return 'completed';
    }

    const ac = new AbortController();
    this.running.set(job.id, ac);
    // Fetched just before the shutdown began: hand over at once rather than run into the timeout.
    if (this.stopping) ac.abort('shutdown' satisfies StopReason);
    const onQueueAbort = (): void => ac.abort('claim_lost' satisfies StopReason);
    qjob.signal.addEventListener('abort', onQueueAbort, { once: true });
    const budget = setTimeout(
      () => ac.abort('budget' satisfies StopReason),
      this.options.maxRuntimeMs,
    );
    const cancelPoll = setInterval(() => {
      void this.prisma.syncJob
        .findUnique({ where: { id: job.id }, select: { cancelRequestedAt: true } })
        .then((r) => {
          // A missing row means the connector (and its jobs) was deleted: stop as if cancelled.
          if (!r || r.cancelRequestedAt) ac.abort('cancelled' satisfies StopReason);
        })
        .catch(() => undefined);
    }, this.options.cancelPollMs);

    const started = Date.now();
    const kind = connector.kind;
    this.metrics.jobsRunning.inc({ kind });
    let progress: JobProgress = { ...ZERO_PROGRESS };
    // This run's own counters (`progress` adds those of the job's earlier runs).
    let segment: JobProgress = { ...ZERO_PROGRESS };
    let lastFlush = 0;
    let flushing: Promise<unknown> = Promise.resolve();
    const flush = (force = false): void => {
      if (!force && Date.now() - lastFlush < this.options.progressFlushMs) return;
      lastFlush = Date.now();
      const p = progress;
      flushing = flushing.then(() =>
        this.prisma.syncJob
          .update({
            where: { id: job.id },
            data: { ...progressColumns(p), heartbeatAt: new Date() },
          })
          .catch((err: unknown) => log.warn('could not flush job progress', { err })),
      );
    };

    try {
      const base = await this.markRunning(job, connector, qjob);
      if (!base) {
        // Cancelled or finished between the checks above and now: a cancel is recorded as such,
        // any other outcome stands.
        const row = await this.prisma.syncJob.findUnique({ where: { id: job.id } });
        if (row && (row.status === 'cancelled' || row.cancelRequestedAt))
          await this.finish(row, connector, 'cancelled', {
            message: 'Cancelled before it started',
          });
        this.observe('cancelled', kind, started);
        return 'completed';
      }
      log.info('sync started', {
        attempt: qjob.retryCount,
        continuation: payload.continuation,
        full_sync: payload.full_sync,
      });
      progress = progressOf(base);
      const result = await this.runSync({
        connector,
        job: base,
        payload,
        signal: ac.signal,
        onProgress: (p) => {
          segment = p;
          progress = addProgress(progressOf(base), p);
          flush();
        },
      });
      segment = result.progress;
      progress = addProgress(progressOf(base), result.progress);
      await flushing;
      const reason = ac.signal.aborted ? (ac.signal.reason as StopReason) : null;
      if (result.interrupted && reason === 'cancelled') {
        await this.finish(base, connector, 'cancelled', {
          progress,
          message: 'Cancelled by an operator',
          summary: result.summary,
        });
        this.observe('cancelled', kind, started);
        return 'completed';
      }
      if (result.interrupted && (reason === 'shutdown' || reason === 'budget')) {
        if (!(await this.continueLater(base, connector, qjob, payload, progress, reason)))
          return this.claimLost(log, kind, started);
        this.observe('continued', kind, started);
        log.info('sync checkpointed; continues in a follow-up job', { reason });
        return 'completed';
      }
      if (result.interrupted) return this.claimLost(log, kind, started);
      await this.finish(base, connector, 'completed', {
        progress,
        // A continued job's counters cover all its runs; its message must say the same.
        message:
          payload.continuation > 0
            ? `${progressMessage(progress)} (in ${payload.continuation + 1} runs)`
            : result.message,
        summary: result.summary,
      });
      this.observe('completed', kind, started);
      log.info('sync completed', { ...progressColumns(progress) });
      return 'completed';
    } catch (err) {
      await flushing;
      const c = classifyError(err);
      const reason = ac.signal.aborted ? (ac.signal.reason as StopReason) : null;
      if (reason === 'cancelled' && c.code === ErrorCode.CANCELLED) {
        await this.finish(job, connector, 'cancelled', {
          progress,
          message: 'Cancelled by an operator',
        });
        this.observe('cancelled', kind, started);
        return 'completed';
      }
      if ((reason === 'shutdown' || reason === 'budget') && c.code === ErrorCode.CANCELLED) {
        if (!(await this.continueLater(job, connector, qjob, payload, progress, reason)))
          return this.claimLost(log, kind, started);
        this.observe('continued', kind, started);
        return 'completed';
      }
      // Whatever the run threw after its claim was lost (often just the abort): the job and
      // connector rows belong to the worker that has the job now.
      if (reason === 'claim_lost') return this.claimLost(log, kind, started);
      const transient = c.action === 'retry' || c.action === 'retry_after';
      const lastAttempt = qjob.retryCount >= qjob.retryLimit;
      // A foreign file name in the message may hold an unpaired surrogate, which the database
      // layer refuses: the row that records the failure must always be writable.
      const reasonText = c.message.toWellFormed();
      if (transient && !lastAttempt) {
        log.warn('sync failed; will retry', {
          code: c.code,
          message: reasonText,
          attempt: qjob.retryCount,
        });
        await this.retryLater(job, connector, progress, c.code, reasonText, qjob);
        this.observe('retry', kind, started);
        return 'failed';
      }
      const message = transient
        ? `${reasonText} (gave up after ${qjob.retryCount + 1} attempts)`
        : reasonText;
      log.error('sync failed', {
        code: c.code,
        message,
        err: c.code === ErrorCode.INTERNAL ? err : undefined,
      });
      await this.finish(job, connector, 'failed', {
        progress,
        message,
        summary: failedSummary(runSummaryOf(err), c, message),
      });
      this.observe('failed', kind, started);
      // Exhausted transient failures go to the dead-letter queue (pg-boss does that on 'failed').
      return transient ? 'failed' : 'completed';
    } finally {
      // Work done counts whatever became of the run (completed, continued, cancelled, failed).
      this.metrics.filesSynced.inc({ kind }, segment.filesSynced);
      this.metrics.bytesSynced.inc({ kind }, segment.bytesTransferred);
      this.metrics.conflicts.inc({ kind }, segment.conflicts);
      clearTimeout(budget);
      clearInterval(cancelPoll);
      qjob.signal.removeEventListener('abort', onQueueAbort);
      this.running.delete(job.id);
      this.metrics.jobsRunning.dec({ kind });
    }
  }

  /** The queue claim was lost (another worker owns the job now): leave the rows to it. */
  private claimLost(log: Logger, kind: string, started: number): 'failed' {
    log.warn('sync stopped: queue claim lost');
    this.observe('claim_lost', kind, started);
    return 'failed';
  }

  private observe(outcome: string, kind: string, started: number): void {
    this.metrics.jobs.inc({ outcome, kind });
    this.metrics.jobDuration.observe({ outcome, kind }, (Date.now() - started) / 1000);
  }

  /** Marks the job running, unless it was finished or cancelled meanwhile (then null). */
  private async markRunning(
    job: SyncJob,
    connector: Connector,
    qjob: QueueJob,
  ): Promise<SyncJob | null> {
    const now = new Date();
    return this.prisma.$transaction(async (tx) => {
      await lockConnector(tx, connector);
      const { count } = await tx.syncJob.updateMany({
        where: { id: job.id, status: { in: ['queued', 'running'] }, cancelRequestedAt: null },
        data: {
          status: 'running',
          startedAt: job.startedAt ?? now,
          heartbeatAt: now,
          workerId: this.options.workerId,
          queueJobId: qjob.id,
          attempt: qjob.retryCount,
          trigger: qjob.retryCount > 0 && job.trigger !== 'manual' ? 'retry' : job.trigger,
        },
      });
      if (count === 0) return null;
      await tx.connector.updateMany({
        where: { id: connector.id, tenantId: connector.tenantId, status: { not: 'disabled' } },
        data: { status: 'syncing', statusMessage: null },
      });
      return tx.syncJob.findUniqueOrThrow({ where: { id: job.id } });
    });
  }

  private async finish(
    job: SyncJob,
    connector: Connector,
    status: 'completed' | 'failed' | 'cancelled',
    r: { progress?: JobProgress; message?: string | null; summary?: unknown },
  ): Promise<void> {
    const now = new Date();
    const progress = r.progress ?? progressOf(job);
    const interval = connector.syncIntervalMinutes;
    const next = interval > 0 ? new Date(now.getTime() + interval * 60_000) : null;
    const connectorStatus = status === 'failed' ? 'error' : 'idle';
    // updateMany: the rows may be gone (connector deleted mid-run); that must not fail the handler.
    await this.prisma.$transaction([
      lockConnector(this.prisma, connector),
      this.prisma.syncJob.updateMany({
        where: { id: job.id },
        data: {
          status,
          finishedAt: now,
          ...progressColumns(progress),
          message: r.message ?? null,
          ...(r.summary === undefined ? {} : { summary: r.summary as object }),
        },
      }),
      this.prisma.connector.updateMany({
        where: { id: connector.id, tenantId: connector.tenantId, status: { not: 'disabled' } },
        data: {
          status: connectorStatus,
          statusMessage:
            status === 'failed'
              ? (r.message ?? 'Sync failed')
              : status === 'completed'
                ? (r.message ?? null)
                : null,
          errorCount: progress.errorCount,
          ...(status === 'completed'
            ? {
                lastSyncAt: now,
                totalFilesSynced: { increment: progress.filesSynced },
                totalBytesSynced: { increment: BigInt(progress.bytesTransferred) },
              }
            : {}),
          nextSyncAt: next,
        },
      }),
      // A disabled connector keeps its status but still records the finished run.
      this.prisma.connector.updateMany({
        where: { id: connector.id, tenantId: connector.tenantId, status: 'disabled' },
        data: {
          errorCount: progress.errorCount,
          ...(status === 'completed' ? { lastSyncAt: now } : {}),
        },
      }),
      // The full sync a configuration change asked for is done only if this run synced that
      // configuration: a PATCH during the run bumped configRevision and keeps it requested.
      ...(status === 'completed'
        ? [
            this.prisma.connector.updateMany({
              where: {
                id: connector.id,
                tenantId: connector.tenantId,
                configRevision: connector.configRevision,
                status: { not: 'disabled' },
              },
              data: { fullSyncRequired: false },
            }),
          ]
        : []),
    ]);
  }

  private async retryLater(
    job: SyncJob,
    connector: Connector,
    progress: JobProgress,
    code: string,
    message: string,
    qjob: QueueJob,
  ): Promise<void> {
    const text = `Attempt ${qjob.retryCount + 1} of ${qjob.retryLimit + 1} failed (${code}): ${message}; retrying`;
    await this.prisma.$transaction([
      lockConnector(this.prisma, connector),
      this.prisma.syncJob.updateMany({
        where: { id: job.id },
        data: { status: 'queued', ...progressColumns(progress), message: text },
      }),
      this.prisma.connector.updateMany({
        where: { id: connector.id, tenantId: connector.tenantId, status: { not: 'disabled' } },
        data: { status: 'queued', statusMessage: text },
      }),
    ]);
  }

  /** Completes this queue job and enqueues the continuation in one transaction (same singleton key). */
  private async continueLater(
    job: SyncJob,
    connector: Connector,
    qjob: QueueJob,
    payload: SyncJobPayload,
    progress: JobProgress,
    reason: 'shutdown' | 'budget',
  ): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      await lockConnector(tx, connector);
      const db = fromPrisma(tx);
      const done = (await this.boss.complete(
        QUEUE_CONNECTOR_SYNC,
        { id: qjob.id, retryCount: qjob.retryCount },
        { outcome: 'continued', reason },
        { db },
      )) as { affected?: number };
      // The claim lapsed meanwhile (expired, retried elsewhere): the job is not ours to hand over.
      if (done.affected === 0) return false;
      const next: SyncJobPayload = { ...payload, continuation: payload.continuation + 1 };
      const id = await this.boss.send(QUEUE_CONNECTOR_SYNC, next, {
        ...syncSendOptions(connector.id),
        db,
      });
      if (!id) throw new AppError(ErrorCode.INTERNAL, 'continuation could not be enqueued');
      await tx.syncJob.update({
        where: { id: job.id },
        data: {
          status: 'queued',
          queueJobId: id,
          ...progressColumns(progress),
          message:
            reason === 'budget'
              ? 'Runtime budget reached; continuing'
              : 'Worker shutting down; continuing on another worker',
        },
      });
      await tx.connector.updateMany({
        where: { id: connector.id, tenantId: connector.tenantId, status: { not: 'disabled' } },
        data: { status: 'queued' },
      });
      return true;
    });
  }
}

/**
 * The summary a failed job keeps: the run's own (error samples, delete-safety numbers, …) when the
 * engine got that far, else just the status; either way with the error that ended it.
 */
function failedSummary(
  run: unknown,
  c: { code: string; action: string },
  message: string,
): Record<string, unknown> {
  const base =
    typeof run === 'object' && run !== null && !Array.isArray(run)
      ? (run as Record<string, unknown>)
      : { status: 'failed' };
  const engineError =
    typeof base.error === 'object' && base.error !== null
      ? (base.error as Record<string, unknown>)
      : {};
  return { ...base, error: { ...engineError, code: c.code, action: c.action, message } };
}

export function progressOf(job: SyncJob): JobProgress {
  return {
    filesScanned: job.filesScanned,
    filesSynced: job.filesSynced,
    bytesTransferred: Number(job.bytesTransferred),
    errorCount: job.errorCount,
    conflicts: job.conflicts,
    deletes: job.deletes,
  };
}

/** Continuations accumulate: a job's counters cover all of its runs. */
function addProgress(base: JobProgress, run: JobProgress): JobProgress {
  return {
    filesScanned: Math.max(base.filesScanned, run.filesScanned),
    filesSynced: base.filesSynced + run.filesSynced,
    bytesTransferred: base.bytesTransferred + run.bytesTransferred,
    errorCount: run.errorCount,
    conflicts: base.conflicts + run.conflicts,
    deletes: base.deletes + run.deletes,
  };
}

function progressColumns(p: JobProgress) {
  return {
    filesScanned: p.filesScanned,
    filesSynced: p.filesSynced,
    bytesTransferred: BigInt(p.bytesTransferred),
    errorCount: p.errorCount,
    conflicts: p.conflicts,
    deletes: p.deletes,
  };
}
