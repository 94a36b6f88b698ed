import { AppError, ErrorCode, backoffMs, sleep } from '@scaidrive/core';
import type { FileStateRecord, StateStore } from './ports.js';

/** The state store failed: the run cannot commit what it did, so it stops. */
export class StateCommitError extends AppError {
  constructor(cause: unknown) {
    super(ErrorCode.SERVICE_UNAVAILABLE, 'The file-state store is unavailable; the run stopped', {
      cause,
      action: 'retry',
    });
  }
}

type Pending = { record: FileStateRecord } | { remove: true };

/**
 * Buffers file-state changes and commits them in batches (`batchSize` rows, or after
 * `intervalMs`): an item's state is written only after the item's work finished, so a run that is
 * killed at any point resumes from what was committed. Changes to one key coalesce.
 */
export class StateWriter {
  private buffer = new Map<string, Pending>();
  private chain: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failed: unknown = null;
  private batchesInFlight = 0;
  upserts = 0;
  removes = 0;

  constructor(
    private readonly store: StateStore,
    private readonly batchSize: number,
    private readonly intervalMs: number,
    private readonly onFatal: (err: unknown) => void,
  ) {}

  put(record: FileStateRecord): void {
    this.buffer.set(record.pathKey, { record });
    this.schedule();
  }

  remove(pathKey: string): void {
    this.buffer.set(pathKey, { remove: true });
    this.schedule();
  }

  get pendingCount(): number {
    return this.buffer.size;
  }

  /** Commits everything buffered so far (and waits for earlier commits). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buffer.size > 0) {
      const batch = this.buffer;
      this.buffer = new Map();
      this.batchesInFlight++;
      this.chain = this.chain
        .then(() => this.commit(batch))
        .finally(() => void this.batchesInFlight--);
    }
    return this.chain;
  }

  /**
   * Resolves when at most one batch is waiting for the store: callers that produce rows await it,
   * so a slow database slows the run down instead of piling up batches in memory.
   */
  async ready(): Promise<void> {
    while (this.batchesInFlight > 1 && !this.failed) await this.chain.catch(() => undefined);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.failed) return;
    if (this.buffer.size >= this.batchSize) {
      void this.flush().catch(() => undefined);
      return;
    }
    if (!this.timer)
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush().catch(() => undefined);
      }, this.intervalMs);
  }

  private async commit(batch: Map<string, Pending>): Promise<void> {
    if (this.failed) throw this.failed;
    const upserts: FileStateRecord[] = [];
    const removes: string[] = [];
    for (const [key, p] of batch) {
      if ('record' in p) upserts.push(p.record);
      else removes.push(key);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        if (upserts.length) await this.store.upsert(upserts);
        if (removes.length) await this.store.remove(removes);
        this.upserts += upserts.length;
        this.removes += removes.length;
        return;
      } catch (err) {
        if (attempt >= 2) {
          this.failed = new StateCommitError(err);
          this.onFatal(this.failed);
          throw this.failed;
        }
        await sleep(backoffMs(attempt + 1, 100, 2000));
      }
    }
  }
}
