import { z } from 'zod';

/**
 * The queue catalogue shared by the API (which sends) and the workers (which consume). Queue
 * options live here only, because `createQueue` on an existing queue silently keeps its old policy.
 */
export const QUEUE_CONNECTOR_SYNC = 'connector-sync';
export const QUEUE_CONNECTOR_SYNC_DLQ = 'connector-sync-dlq';
/** Cron tick: enqueue connectors whose `next_sync_at` has passed. */
export const QUEUE_SCHEDULER_TICK = 'connector-scheduler-tick';
/** Cron: garbage-collect unreferenced content chunks of the share store (one worker at a time). */
export const QUEUE_DRIVE_GC = 'drive-gc';

/** pg-boss keeps its tables in this schema. */
export const BOSS_SCHEMA = 'pgboss';

export const SyncJobPayload = z.strictObject({
  /** Our sync_jobs row (`job_…`); continuations keep the same id. */
  job_id: z.string().regex(/^job_[0-9A-HJKMNP-TV-Z]{26}$/),
  tenant_id: z.string().regex(/^tnt_[0-9A-HJKMNP-TV-Z]{26}$/),
  connector_id: z.string().regex(/^cnn_[0-9A-HJKMNP-TV-Z]{26}$/),
  full_sync: z.boolean(),
  trigger: z.enum(['manual', 'schedule', 'retry']),
  /** Operator confirmed deletes above the safety threshold. */
  confirm_deletes: z.boolean().default(false),
  /** 0 for the first run of a job, n for its n-th continuation after a runtime budget checkpoint. */
  continuation: z.number().int().min(0).default(0),
});
export type SyncJobPayload = z.infer<typeof SyncJobPayload>;

export interface QueueSettings {
  retryLimit: number;
  /** Seconds before the first retry; doubled (with jitter) on each further one. */
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
  /** pg-boss caps expiry at 24 h: runs longer than that checkpoint and continue (see worker). */
  expireInSeconds: number;
  heartbeatSeconds: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  retryLimit: 5,
  retryDelaySeconds: 30,
  retryDelayMaxSeconds: 30 * 60,
  expireInSeconds: 23 * 3600,
  heartbeatSeconds: 30,
};

/** The queue settings the configuration asks for; API and workers must agree on them. */
export function queueSettingsFromConfig(config: {
  JOB_RETRY_LIMIT: number;
  JOB_RETRY_DELAY_SECONDS: number;
  JOB_HEARTBEAT_SECONDS: number;
}): QueueSettings {
  return {
    ...DEFAULT_QUEUE_SETTINGS,
    retryLimit: config.JOB_RETRY_LIMIT,
    retryDelaySeconds: config.JOB_RETRY_DELAY_SECONDS,
    heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
  };
}

/** Options for `boss.createQueue(QUEUE_CONNECTOR_SYNC, …)`. */
export function connectorSyncQueueOptions(settings: QueueSettings = DEFAULT_QUEUE_SETTINGS) {
  return {
    // One queued-or-active job per singletonKey (= connector id) across the fleet, enforced by a
    // unique index: the losing `send` returns null, which the API turns into 409.
    policy: 'exclusive' as const,
    retryLimit: settings.retryLimit,
    retryDelay: settings.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: settings.retryDelayMaxSeconds,
    expireInSeconds: settings.expireInSeconds,
    heartbeatSeconds: settings.heartbeatSeconds,
    deadLetter: QUEUE_CONNECTOR_SYNC_DLQ,
    retentionSeconds: 14 * 24 * 3600,
    deleteAfterSeconds: 7 * 24 * 3600,
  };
}

export function deadLetterQueueOptions() {
  return {
    policy: 'standard' as const,
    retentionSeconds: 30 * 24 * 3600,
    deleteAfterSeconds: 30 * 24 * 3600,
  };
}

/** Send options for one sync request: the connector id is the singleton key. */
export function syncSendOptions(connectorId: string) {
  return { singletonKey: connectorId };
}

/**
 * Queue depth for autoscaling (KEDA postgresql scaler) — jobs running plus jobs ready to run.
 * deploy/ renders this exact text; a test checks they match.
 */
export const QUEUE_DEPTH_SQL =
  `SELECT count(*) FROM ${BOSS_SCHEMA}.job WHERE name = '${QUEUE_CONNECTOR_SYNC}' AND ` +
  `(state = 'active' OR (state IN ('created','retry') AND start_after <= now() AND NOT blocked))`;
