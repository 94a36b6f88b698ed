import { PgBoss, fromPrisma } from 'pg-boss';
import {
  BOSS_SCHEMA,
  QUEUE_CONNECTOR_SYNC,
  QUEUE_CONNECTOR_SYNC_DLQ,
  QUEUE_SCHEDULER_TICK,
  QUEUE_DRIVE_GC,
  connectorSyncQueueOptions,
  deadLetterQueueOptions,
  type QueueSettings,
  DEFAULT_QUEUE_SETTINGS,
} from './catalogue.js';

export { PgBoss, fromPrisma };
export type { Job, JobWithMetadata } from 'pg-boss';

export interface BossOptions {
  connectionString: string;
  /** Workers supervise (maintenance, monitoring) and run cron; API pods only send. */
  role: 'api' | 'worker';
  poolSize?: number;
  /**
   * How often a worker's supervisor looks for jobs whose heartbeat stopped (a killed worker). A
   * killed worker's job is released after about heartbeat + this. Default: the heartbeat, at most 60 s.
   */
  superviseIntervalSeconds?: number;
}

export function createBoss(options: BossOptions): PgBoss {
  const worker = options.role === 'worker';
  return new PgBoss({
    connectionString: options.connectionString,
    schema: BOSS_SCHEMA,
    max: options.poolSize ?? 5,
    supervise: worker,
    schedule: worker,
    migrate: true,
    ...(worker
      ? {
          superviseIntervalSeconds: options.superviseIntervalSeconds ?? 30,
          monitorIntervalSeconds: options.superviseIntervalSeconds ?? 30,
        }
      : {}),
  });
}

/**
 * Creates the queues of the catalogue where missing. Idempotent. With `applySettings` (the
 * workers, which own the retry/heartbeat settings) an existing sync queue also takes `settings`;
 * the API only creates what is missing, so its restart does not overwrite the workers' values.
 */
export async function ensureQueues(
  boss: PgBoss,
  settings: QueueSettings = DEFAULT_QUEUE_SETTINGS,
  options: { applySettings?: boolean } = {},
): Promise<void> {
  await boss.createQueue(QUEUE_CONNECTOR_SYNC_DLQ, deadLetterQueueOptions());
  const sync = connectorSyncQueueOptions(settings);
  await boss.createQueue(QUEUE_CONNECTOR_SYNC, sync);
  // createQueue keeps an existing queue's options: apply changed settings explicitly.
  if (options.applySettings ?? true)
    await boss.updateQueue(QUEUE_CONNECTOR_SYNC, {
      retryLimit: sync.retryLimit,
      retryDelay: sync.retryDelay,
      retryBackoff: sync.retryBackoff,
      retryDelayMax: sync.retryDelayMax,
      heartbeatSeconds: sync.heartbeatSeconds,
      expireInSeconds: sync.expireInSeconds,
      retentionSeconds: sync.retentionSeconds,
      deleteAfterSeconds: sync.deleteAfterSeconds,
    });
  await boss.createQueue(QUEUE_SCHEDULER_TICK, {
    policy: 'singleton',
    retryLimit: 0,
    expireInSeconds: 300,
  });
  await boss.createQueue(QUEUE_DRIVE_GC, {
    policy: 'singleton',
    retryLimit: 0,
    expireInSeconds: 3600,
  });
}
