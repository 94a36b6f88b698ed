import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one worker process (served at `/metrics`). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: 'scaidrive_connector_sync_jobs_total',
    help: 'Sync jobs finished by this worker, by outcome and connector kind',
    labelNames: ['outcome', 'kind'] as const,
    registers: [this.registry],
  });
  readonly jobsRunning = new Gauge({
    name: 'scaidrive_connector_sync_jobs_running',
    help: 'Sync jobs running in this worker',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'scaidrive_connector_sync_job_duration_seconds',
    help: 'Duration of sync runs',
    labelNames: ['outcome', 'kind'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600],
    registers: [this.registry],
  });
  readonly filesSynced = new Counter({
    name: 'scaidrive_connector_files_synced_total',
    help: 'Files copied in either direction',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly bytesSynced = new Counter({
    name: 'scaidrive_connector_bytes_synced_total',
    help: 'Bytes copied in either direction',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly fileErrors = new Counter({
    name: 'scaidrive_connector_file_errors_total',
    help: 'Per-file errors, by stable error code',
    labelNames: ['kind', 'code'] as const,
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: 'scaidrive_connector_conflicts_total',
    help: 'Conflicts detected',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly throttleWaitSeconds = new Counter({
    name: 'scaidrive_connector_throttle_wait_seconds_total',
    help: 'Time spent waiting on source throttling (Retry-After)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'scaidrive_queue_depth',
    help: 'Jobs queued or active per queue (fleet-wide)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly scheduled = new Counter({
    name: 'scaidrive_connector_scheduled_total',
    help: 'Scheduled syncs enqueued by this worker',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'scaidrive_worker_' });
  }
}
