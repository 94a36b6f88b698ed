import {
  AppError,
  ConflictError,
  ErrorCode,
  NotFoundError,
  ValidationError,
} from '@scaidrive/core';
import type { Connector, PrismaClient, SyncJob, Tx } from '@scaidrive/db';
import {
  BOSS_SCHEMA,
  enqueueSync,
  lockConnector,
  QUEUE_CONNECTOR_SYNC,
  type PgBoss,
} from '@scaidrive/jobs';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit.js';

export interface SyncRequest {
  fullSync: boolean;
  confirmDeletes: boolean;
  /** Why (audit): `manual` from `POST …/sync`, `resolve` after a conflict resolution. */
  reason?: 'manual' | 'resolve';
}

export interface SyncAccepted {
  jobId: string;
  startedAt: Date;
  fullSync: boolean;
}

/** pg-boss job states in which a sync has not started yet. */
const WAITING_STATES = `'created','retry'`;

/**
 * Starting and stopping syncs. A sync request records the job row and sends the pg-boss job in ONE
 * transaction; the queue's `exclusive` policy (singletonKey = connector id, unique index) makes the
 * losing `send` return null, which becomes 409 CONNECTOR_SYNC_IN_PROGRESS — race-free across pods.
 *
 * Cancelling: a job still waiting in pg-boss is cancelled there and marked `cancelled` at once; a
 * running job gets `cancel_requested_at`, which the worker polls (and a `pg_notify` on
 * `scaidrive_sync_cancel` with the job id, for workers that LISTEN) — it stops at its next checkpoint.
 */
export class SyncRequestService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly boss: PgBoss,
    private readonly audit: AuditLog,
  ) {}

  async request(actor: Actor, connector: Connector, req: SyncRequest): Promise<SyncAccepted> {
    if (req.confirmDeletes && !req.fullSync)
      throw new ValidationError('confirm_deletes needs full_sync=true', [
        { field: 'query.confirm_deletes', reason: 'is only allowed together with full_sync=true' },
      ]);
    if (connector.status === 'disabled')
      throw new ConflictError(
        'The connector is disabled; enable it (PATCH {"enabled": true}) first',
      );
    const fullSync = req.fullSync || connector.fullSyncRequired;
    const now = new Date();
    now.setMilliseconds(0);
    let jobId = '';
    const queued = await this.prisma.$transaction(async (tx) => {
      const [locked] = await lockConnector(tx, connector);
      if (!locked || locked.status === 'disabled')
        throw new ConflictError('The connector was disabled or deleted meanwhile');
      const enqueued = await enqueueSync(tx, this.boss, {
        tenantId: connector.tenantId,
        connectorId: connector.id,
        fullSync,
        confirmDeletes: req.confirmDeletes,
        trigger: 'manual',
        createdBy: actor.principal.userId,
        createdAt: now,
      });
      if (!enqueued) return false;
      jobId = enqueued.jobId;
      const updated = await tx.connector.updateMany({
        where: { id: connector.id, tenantId: connector.tenantId, status: { not: 'disabled' } },
        data: { status: 'queued', statusMessage: null },
      });
      if (updated.count === 0)
        throw new ConflictError('The connector was disabled or deleted meanwhile');
      await this.audit.record(tx, actor, {
        action: 'connector.sync_requested',
        resourceType: 'connector',
        resourceId: connector.id,
        payload: {
          job_id: jobId,
          full_sync: fullSync,
          confirm_deletes: req.confirmDeletes,
          reason: req.reason ?? 'manual',
        },
      });
      return true;
    });
    if (!queued) {
      const busy = await this.activeJobId(connector);
      throw new AppError(
        ErrorCode.CONNECTOR_SYNC_IN_PROGRESS,
        busy
          ? `A sync of this connector is already queued or running (job ${busy})`
          : 'A sync of this connector is already queued or running',
        { details: { job_id: busy } },
      );
    }
    return { jobId, startedAt: now, fullSync };
  }

  /** The job currently queued or running for this connector, if any. */
  async activeJobId(connector: Connector): Promise<string | null> {
    const row = await this.prisma.syncJob.findFirst({
      where: {
        tenantId: connector.tenantId,
        connectorId: connector.id,
        status: { in: ['queued', 'running'] },
      },
      orderBy: { createdAt: 'desc' },
      select: { id: true },
    });
    if (row) return row.id;
    const q = await this.prisma.$queryRawUnsafe<{ job_id: string | null }[]>(
      `SELECT data->>'job_id' AS job_id FROM ${BOSS_SCHEMA}.job
        WHERE name = $1 AND singleton_key = $2 AND state IN ('created','retry','active')
        ORDER BY created_on DESC LIMIT 1`,
      QUEUE_CONNECTOR_SYNC,
      connector.id,
    );
    return q[0]?.job_id ?? null;
  }

  async cancel(actor: Actor, connector: Connector, jobId: string): Promise<SyncJob> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
        'SELECT id FROM sync_jobs WHERE id = $1 AND tenant_id = $2 AND connector_id = $3 FOR UPDATE',
        jobId,
        connector.tenantId,
        connector.id,
      );
      if (rows.length === 0) throw new NotFoundError('Sync job');
      const job = (await tx.syncJob.findUnique({ where: { id: jobId } }))!;
      if (job.status !== 'queued' && job.status !== 'running')
        throw new ConflictError(`The job already finished (${job.status})`, {
          details: { status: job.status },
        });
      const stoppedInQueue = await this.cancelWaitingQueueJob(tx, connector.id, job.queueJobId);
      const now = new Date();
      let updated: SyncJob;
      if (stoppedInQueue) {
        updated = await tx.syncJob.update({
          where: { id: job.id },
          data: {
            status: 'cancelled',
            finishedAt: now,
            cancelRequestedAt: job.cancelRequestedAt ?? now,
            message: 'Cancelled by an operator before it started',
          },
        });
        await tx.connector.updateMany({
          where: {
            id: connector.id,
            tenantId: connector.tenantId,
            status: { in: ['queued', 'syncing'] },
          },
          data: { status: 'idle', statusMessage: null },
        });
      } else {
        updated = await tx.syncJob.update({
          where: { id: job.id },
          data: { cancelRequestedAt: job.cancelRequestedAt ?? now },
        });
        await tx.$executeRawUnsafe(`SELECT pg_notify('scaidrive_sync_cancel', $1)`, job.id);
      }
      await this.audit.record(tx, actor, {
        action: 'sync_job.cancel_requested',
        resourceType: 'sync_job',
        resourceId: job.id,
        payload: { connector_id: connector.id, stopped_in_queue: stoppedInQueue },
      });
      return updated;
    });
  }

  /**
   * Stops whatever is queued for a connector (disable, delete) inside the caller's transaction:
   * waiting queue jobs are cancelled, running ones get cancel_requested_at. With `includeActive`
   * (delete) the running queue job is cancelled in pg-boss too: the connector is going away, so
   * its singleton slot no longer matters.
   */
  async cancelActive(
    tx: Tx,
    connector: Connector,
    message: string,
    options: { includeActive?: boolean } = {},
  ): Promise<void> {
    const states = options.includeActive ? `${WAITING_STATES},'active'` : WAITING_STATES;
    await tx.$executeRawUnsafe(
      `UPDATE ${BOSS_SCHEMA}.job SET state = 'cancelled', completed_on = now()
        WHERE name = $1 AND singleton_key = $2 AND state IN (${states})`,
      QUEUE_CONNECTOR_SYNC,
      connector.id,
    );
    const now = new Date();
    const active = await tx.syncJob.findMany({
      where: {
        tenantId: connector.tenantId,
        connectorId: connector.id,
        status: { in: ['queued', 'running'] },
      },
      select: { id: true, status: true },
    });
    for (const j of active) {
      if (j.status === 'queued')
        await tx.syncJob.update({
          where: { id: j.id },
          data: { status: 'cancelled', finishedAt: now, cancelRequestedAt: now, message },
        });
      else {
        await tx.syncJob.update({ where: { id: j.id }, data: { cancelRequestedAt: now } });
        await tx.$executeRawUnsafe(`SELECT pg_notify('scaidrive_sync_cancel', $1)`, j.id);
      }
    }
  }

  /** Cancels the queue job if it is still waiting; true when it was. */
  private async cancelWaitingQueueJob(
    tx: Tx,
    connectorId: string,
    queueJobId: string | null,
  ): Promise<boolean> {
    if (!queueJobId) return false;
    const n = await tx.$executeRawUnsafe(
      `UPDATE ${BOSS_SCHEMA}.job SET state = 'cancelled', completed_on = now()
        WHERE name = $1 AND id = $2::uuid AND singleton_key = $3 AND state IN (${WAITING_STATES})`,
      QUEUE_CONNECTOR_SYNC,
      queueJobId,
      connectorId,
    );
    return n > 0;
  }
}
