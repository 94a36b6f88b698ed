import type { Logger } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { BOSS_SCHEMA, QUEUE_CONNECTOR_SYNC } from '@scaidrive/jobs';

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
        this.prisma.syncJob.updateMany({
          where: { id: s.id, status: { in: ['queued', 'running'] } },
          data: { status, finishedAt: new Date(), message },
        }),
        this.prisma.connector.updateMany({
          where: {
            id: s.connector_id,
            tenantId: s.tenant_id,
            status: { in: ['queued', 'syncing'] },
          },
          data: {
            status: status === 'failed' ? 'error' : 'idle',
            statusMessage: status === 'failed' ? message : null,
          },
        }),
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
