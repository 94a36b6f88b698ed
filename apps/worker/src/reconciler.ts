import type { Logger } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { BOSS_SCHEMA, lockConnector, QUEUE_CONNECTOR_SYNC } from '@scaidrive/jobs';

/**
 * Repairs job rows whose queue job ended without the handler recording it (a worker killed on its
 * last attempt, a job cancelled in the queue): the row becomes `failed` and the connector leaves
 * `queued`/`syncing`, so nothing stays stuck.
 */
export class Reconciler {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {}

  async run(graceSeconds = 60): Promise<string[]> {
    const stuck = await this.prisma.$queryRawUnsafe<
      { id: string; connector_id: string; tenant_id: string; state: string | null }[]
    >(
      `SELECT j.id, j.connector_id, j.tenant_id, q.state::text AS state
         FROM sync_jobs j
         LEFT JOIN ${BOSS_SCHEMA}.job q ON q.name = $1 AND q.id::text = j.queue_job_id
        WHERE j.status IN ('queued', 'running')
          AND j.queue_job_id IS NOT NULL
          AND j.created_at < now() - make_interval(secs => $2)
          AND (q.id IS NULL OR q.state::text IN ('completed', 'failed', 'cancelled'))`,
      QUEUE_CONNECTOR_SYNC,
      graceSeconds,
    );
    for (const s of stuck) {
      const message =
        s.state === 'cancelled'
          ? 'Cancelled'
          : s.state === 'failed'
            ? 'The worker running this sync stopped responding and no retries are left'
            : 'The queued sync disappeared from the queue';
      const status = s.state === 'cancelled' ? 'cancelled' : 'failed';
      await this.prisma.$transaction([
        lockConnector(this.prisma, { id: s.connector_id, tenantId: s.tenant_id }),
        this.prisma.syncJob.updateMany({
          where: { id: s.id, status: { in: ['queued', 'running'] } },
          data: { status, finishedAt: new Date(), message },
        }),
        // next_sync_at moves on as after any finished run: a connector whose runs keep dying
        // (e.g. killed for memory) must not be re-enqueued in the same tick, again and again.
        this.prisma.$executeRaw`
          UPDATE connectors
             SET status = ${status === 'failed' ? 'error' : 'idle'},
                 status_message = ${status === 'failed' ? message : null},
                 next_sync_at = CASE WHEN sync_interval_minutes > 0
                                     THEN now() + make_interval(mins => sync_interval_minutes)
                                     ELSE NULL END,
                 updated_at = now()
           WHERE id = ${s.connector_id} AND tenant_id = ${s.tenant_id}
             AND status IN ('queued', 'syncing')`,
      ]);
      this.logger.warn('reconciled a stuck sync job', {
        job_id: s.id,
        connector_id: s.connector_id,
        queue_state: s.state,
      });
    }
    return stuck.map((s) => s.id);
  }
}
