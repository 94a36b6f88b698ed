import {
  AppError,
  CancelledError,
  ErrorCode,
  backoffMs,
  classifyError,
  sleep,
  type Classification,
} from '@scaidrive/core';
import type { PathFilter } from './filters.js';
import type { SideName } from './fingerprint.js';
import type { ResolvedOptions } from './options.js';
import type { Item } from './plan.js';
import type {
  EntryKind,
  FileStateRecord,
  FileStateStatus,
  FileTree,
  SideState,
  StateStore,
} from './ports.js';
import type { RunAccounting } from './progress.js';
import type { StateWriter } from './state-writer.js';

/** Everything one run shares. */
export interface RunContext {
  source: FileTree;
  target: FileTree;
  state: StateStore;
  options: ResolvedOptions;
  filter: PathFilter;
  /** Aborts on the caller's signal and on a fatal error. */
  signal: AbortSignal;
  acct: RunAccounting;
  writer: StateWriter;
  /** Stops the run with a fatal error (the first one wins). */
  fail(err: unknown): void;
  readonly fatal: unknown;
}

export function treeOf(ctx: RunContext, side: SideName): FileTree {
  return side === 'source' ? ctx.source : ctx.target;
}

export function pathOn(item: Item, side: SideName): string {
  return side === 'source' ? item.sourcePath : item.targetPath;
}

export function entryOn(item: Item, side: SideName) {
  return side === 'source' ? item.source : item.target;
}

/** Errors that stop the whole run (DESIGN.md §6: source unreachable, auth rejected, safety). */
const FATAL_CODES = new Set<string>([
  ErrorCode.CONNECTOR_UNREACHABLE,
  ErrorCode.CONNECTOR_AUTH_FAILED,
  ErrorCode.CONNECTOR_REAUTHORIZE,
  ErrorCode.CONNECTOR_THROTTLED,
  ErrorCode.SERVICE_UNAVAILABLE,
  ErrorCode.CANCELLED,
  ErrorCode.DELETE_SAFETY,
  ErrorCode.LISTING_FAILED,
]);

export function isFatal(c: Classification): boolean {
  return FATAL_CODES.has(c.code);
}

export function checkAborted(ctx: RunContext): void {
  if (ctx.signal.aborted) throw ctx.fatal ?? new CancelledError();
}

/**
 * Runs `fn` again for retryable failures (exponential backoff with jitter, `retry_after`
 * honoured up to `maxRetryAfterMs`). Gives up after `maxAttempts` and rethrows the last error.
 */
export async function withRetry<T>(
  ctx: RunContext,
  path: string,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const c = classifyError(err);
      const retryable = c.action === 'retry' || c.action === 'retry_after';
      if (!retryable || attempt + 1 >= ctx.options.maxAttempts) throw err;
      let waitMs =
        c.action === 'retry_after'
          ? (c.retryAfterMs ?? 1000)
          : backoffMs(attempt + 1, ctx.options.retryBaseMs);
      if (waitMs > ctx.options.maxRetryAfterMs) throw err;
      waitMs = Math.max(0, waitMs);
      ctx.acct.emit({ type: 'retry', path, code: c.code, attempt: attempt + 1, waitMs });
      await sleep(waitMs, ctx.signal);
    }
  }
}

export function newRecord(
  item: Item,
  kind: EntryKind,
  source: SideState | null,
  target: SideState | null,
  now: number,
): FileStateRecord {
  const r: FileStateRecord = {
    path: item.path,
    pathKey: item.key,
    parentKey: item.parentKey,
    kind,
    status: 'synced',
    source,
    target,
    aclHash: item.base?.aclHash ?? null,
    metadataHash: item.base?.metadataHash ?? null,
    lastSyncedAtMs: now,
    lastError: null,
    lastErrorCode: null,
    conflict: null,
  };
  return applyCollision(item, r);
}

/** A case collision stays visible on the row of the name that was synced. */
export function applyCollision(item: Item, r: FileStateRecord): FileStateRecord {
  if (!item.collision || r.status === 'conflict') return r;
  return {
    ...r,
    status: 'error',
    lastErrorCode: ErrorCode.CASE_COLLISION,
    lastError: item.collision,
  };
}

/** The row of an item that failed: the base fingerprints stay, the error is recorded. */
export function errorRecord(
  item: Item,
  kind: EntryKind,
  code: string,
  message: string,
  status: FileStateStatus = 'error',
): FileStateRecord {
  const b = item.base;
  return {
    path: item.path,
    pathKey: item.key,
    parentKey: item.parentKey,
    kind: b?.kind ?? kind,
    status,
    source: b?.source ?? null,
    target: b?.target ?? null,
    aclHash: b?.aclHash ?? null,
    metadataHash: b?.metadataHash ?? null,
    lastSyncedAtMs: b?.lastSyncedAtMs ?? null,
    lastError: message,
    lastErrorCode: code,
    conflict: null,
  };
}

/** Records a per-item failure (row + counters + event). Fatal errors stop the run instead. */
export function recordItemFailure(
  ctx: RunContext,
  item: Item,
  kind: EntryKind,
  err: unknown,
): void {
  // A stopping run (cancelled, or failed for another reason) leaves the item's row as it was: its
  // failure is a consequence of the stop, and the next run decides the item again.
  if (ctx.signal.aborted) return;
  const c = classifyError(err);
  if (isFatal(c)) {
    ctx.fail(err);
    return;
  }
  const message = err instanceof AppError ? err.message : c.message;
  ctx.acct.itemError(item.path, c.code, message);
  ctx.writer.put(errorRecord(item, kind, c.code, message));
}
