import type { Logger } from '@scaidrive/core';
import type { PrismaClient } from '@scaidrive/db';
import { enqueueSync, type PgBoss } from '@scaidrive/jobs';
import type { WorkerMetrics } from './metrics.js';

/**
 * Enqueues every connector whose `next_sync_at` has passed (NULL = never synced: due now), unless
 * it is disabled or manual-only. Runs on whichever worker takes the minute's cron job; the row lock
 * (SKIP LOCKED) plus the queue's `exclusive` policy make a duplicate enqueue impossible.
 */
export class Scheduler {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly boss: PgBoss,
    private readonly logger: Logger,
    private readonly metrics: WorkerMetrics,
  ) {}

  async tick(limit = 500): Promise<{ enqueued: string[]; busy: string[] }> {
    // Connectors with a sync already queued or running are left out here, not only at enqueue:
    // long runs keep a past next_sync_at and would otherwise fill the LIMIT every tick.
    const due = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT c.id FROM connectors c
       WHERE c.status <> 'disabled' AND c.sync_interval_minutes > 0
         AND (c.next_sync_at IS NULL OR c.next_sync_at <= now())
         AND NOT EXISTS (SELECT 1 FROM sync_jobs j
                          WHERE j.tenant_id = c.tenant_id AND j.connector_id = c.id
                            AND j.status IN ('queued', 'running'))
       ORDER BY c.next_sync_at NULLS FIRST
       LIMIT ${limit}`;
    const enqueued: string[] = [];
    const busy: string[] = [];
    for (const { id } of due) {
      try {
        const r = await this.enqueue(id);
        if (r === 'enqueued') enqueued.push(id);
        else if (r === 'busy') busy.push(id);
      } catch (err) {
        this.logger.warn('could not enqueue scheduled sync', { connector_id: id, err });
      }
    }
    if (enqueued.length) {
      this.metrics.scheduled.inc(enqueued.length);
      this.logger.info('scheduled syncs enqueued', { count: enqueued.length });
    }
    return { enqueued, busy };
  }

  private async enqueue(connectorId: string): Promise<'enqueued' | 'busy' | 'skipped'> {
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<
        { id: string; tenant_id: string; full_sync_required: boolean }[]
      >`
        SELECT id, tenant_id, full_sync_required FROM connectors
         WHERE id = ${connectorId} AND status <> 'disabled' AND sync_interval_minutes > 0
           AND (next_sync_at IS NULL OR next_sync_at <= now())
         FOR UPDATE SKIP LOCKED`;
      const c = rows[0];
      if (!c) return 'skipped';
      const enqueued = await enqueueSync(tx, this.boss, {
        tenantId: c.tenant_id,
        connectorId: c.id,
        fullSync: c.full_sync_required,
        confirmDeletes: false,
        trigger: 'schedule',
      });
      // null: a sync of this connector is already queued or running; it sets next_sync_at when done.
      if (!enqueued) return 'busy';
      await tx.connector.update({ where: { id: c.id }, data: { status: 'queued' } });
      return 'enqueued';
    });
  }
}
