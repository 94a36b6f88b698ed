import type { Connector, SyncJob } from '@scaidrive/db';
import type { SyncJobPayload } from '@scaidrive/jobs';

/** Counters of one run, flushed to the sync_jobs row while it runs. */
export interface JobProgress {
  filesScanned: number;
  filesSynced: number;
  bytesTransferred: number;
  errorCount: number;
  conflicts: number;
  deletes: number;
}

export const ZERO_PROGRESS: JobProgress = {
  filesScanned: 0,
  filesSynced: 0,
  bytesTransferred: 0,
  errorCount: 0,
  conflicts: 0,
  deletes: 0,
};

/** Why a run stopped before finishing on its own. */
export type StopReason = 'cancelled' | 'shutdown' | 'budget' | 'claim_lost';

export interface SyncRunRequest {
  connector: Connector;
  job: SyncJob;
  payload: SyncJobPayload;
  /** Aborts with a `StopReason` as its reason. */
  signal: AbortSignal;
  onProgress(progress: JobProgress): void;
}

export interface SyncRunResult {
  progress: JobProgress;
  /** One line for operators (job `message`, connector `status_message`). */
  message: string | null;
  /** Structured end-of-run summary (stored on the job). */
  summary: unknown;
  /** True when the run stopped early at a checkpoint (signal) and must continue in a follow-up job. */
  interrupted: boolean;
}

const failedRunSummaries = new WeakMap<object, unknown>();

/** Attaches a failed run's summary to the error it throws, so the job row can keep it. */
export function withRunSummary<E extends object>(err: E, summary: unknown): E {
  failedRunSummaries.set(err, summary);
  return err;
}

/** The summary a failed run attached to its error (`withRunSummary`), if any. */
export function runSummaryOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? failedRunSummaries.get(err) : undefined;
}

/**
 * Runs one sync of one connector: builds its source, the share-store target and the state store,
 * runs the engine. Throws classified `AppError`s for fatal and transient failures.
 */
export type SyncRunner = (request: SyncRunRequest) => Promise<SyncRunResult>;
