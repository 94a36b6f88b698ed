import {
  AppError,
  CancelledError,
  ErrorCode,
  ValidationError,
  classifyError,
  nameKey,
  parentPath,
  baseName,
} from '@scaidrive/core';
import { doReconcile, doTypeConflict } from './actions.js';
import { planWalk, type FeedPlan } from './change-feed.js';
import type { RunContext } from './context.js';
import { Executor } from './executor.js';
import { createPathFilter } from './filters.js';
import { March } from './march.js';
import { resolveOptions, type ConflictStrategy, type SyncOptions } from './options.js';
import type { Item, SyncEvent, SyncProgress, SyncSummary } from './plan.js';
import type { Entry, FileStateRecord, FileTree, StateStore } from './ports.js';
import { RunAccounting } from './progress.js';
import { StateWriter } from './state-writer.js';

export interface RunSyncParams {
  source: FileTree;
  target: FileTree;
  state: StateStore;
  options: SyncOptions;
  /** Aborting stops the run promptly; committed work is kept (status `cancelled`). */
  signal?: AbortSignal;
  /** Counters, at most every `progressIntervalMs` and once at the end. */
  onProgress?: (progress: SyncProgress) => void;
  /** Plan and outcome events (the worker logs them; the engine does not log). */
  onEvent?: (event: SyncEvent) => void;
}

interface Run {
  ctx: RunContext;
  acct: RunAccounting;
  writer: StateWriter;
  internal: AbortController;
  getFatal(): unknown;
  dispose(): void;
}

function startRun(params: RunSyncParams, options = resolveOptions(params.options)): Run {
  const internal = new AbortController();
  const onAbort = (): void => internal.abort(params.signal?.reason);
  if (params.signal?.aborted) internal.abort(params.signal.reason);
  else params.signal?.addEventListener('abort', onAbort, { once: true });
  let fatal: unknown = null;
  const acct = new RunAccounting(options.progressIntervalMs, params.onProgress, params.onEvent);
  const fail = (err: unknown): void => {
    if (fatal !== null || internal.signal.aborted) {
      fatal ??= err;
      return;
    }
    fatal = err;
    internal.abort(err);
  };
  const writer = new StateWriter(params.state, options.batchSize, options.commitIntervalMs, fail);
  const ctx: RunContext = {
    source: params.source,
    target: params.target,
    state: params.state,
    options,
    filter: createPathFilter({
      ...options.filters,
      syncHidden: options.syncHidden,
      syncSystem: options.syncSystem,
    }),
    signal: internal.signal,
    acct,
    writer,
    fail,
    get fatal() {
      return fatal;
    },
  };
  return {
    ctx,
    acct,
    writer,
    internal,
    getFatal: () => fatal,
    dispose: () => {
      writer.close();
      params.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function validate(options: SyncOptions): void {
  const directions = ['both', 'source_to_target', 'target_to_source'];
  const strategies = ['LAST_WRITER_WINS', 'KEEP_BOTH', 'SERVER_WINS', 'CLIENT_WINS', 'MANUAL'];
  const issues = [];
  if (!directions.includes(options.direction))
    issues.push({ field: 'direction', reason: `must be one of ${directions.join(', ')}` });
  if (!strategies.includes(options.conflictResolution))
    issues.push({ field: 'conflictResolution', reason: `must be one of ${strategies.join(', ')}` });
  if (issues.length) throw new ValidationError('Invalid sync options', issues);
}

/** Counts the deletes of the plan against the safety threshold (DESIGN.md §6). */
function checkDeleteSafety(
  ctx: RunContext,
  exec: Executor,
  managedFiles: number,
): SyncSummary['deleteSafety'] {
  const wouldDelete = exec.deletes.filter((d) => d.kind === 'file').length;
  const { minFiles, ratio } = ctx.options.deleteSafety;
  const limit = Math.max(minFiles, Math.floor(managedFiles * ratio));
  if (wouldDelete <= limit || ctx.options.confirmDeletes) return undefined;
  const numbers = { wouldDelete, managedFiles, limit };
  throw new AppError(
    ErrorCode.DELETE_SAFETY,
    `This run would delete ${wouldDelete} of the ${managedFiles} files this connector manages ` +
      `(the limit is ${limit}: max(${minFiles} files, ${Math.round(ratio * 100)}%)). Nothing was ` +
      'deleted. Check that both sides are complete; to delete anyway, run a full sync with ' +
      'confirm_deletes.',
    { action: 'fail_job', details: numbers },
  );
}

/**
 * One sync run: walk and diff both trees against the base, run the plan (copies and folders
 * first, deletes after a safety check, deepest first), commit file states in batches. Never throws
 * for run outcomes — a failed or cancelled run is a summary with `status` and `error`.
 */
export async function runSync(params: RunSyncParams): Promise<SyncSummary> {
  validate(params.options);
  const startedAtMs = Date.now();
  const run = startRun(params);
  const { ctx, acct, writer } = run;
  let plan: FeedPlan | null = null;
  let exec: Executor | null = null;
  let deleteSafety: SyncSummary['deleteSafety'];
  try {
    const managedFiles = await ctx.state.count(['synced', 'conflict', 'error', 'pending'], 'file');
    plan = await planWalk(ctx);
    const start: SyncEvent = { type: 'start', mode: plan.incremental ? 'incremental' : 'full' };
    if (plan.reason) start.reason = plan.reason;
    acct.emit(start);
    acct.emit({ type: 'phase', phase: 'walk' });
    exec = new Executor(ctx);
    await new March(ctx, exec, plan).run();
    await exec.drain();
    throwIfStopped(run);
    await writer.flush();
    try {
      checkDeleteSafety(ctx, exec, managedFiles);
    } catch (err) {
      deleteSafety = (err as AppError).details as SyncSummary['deleteSafety'];
      throw err;
    }
    acct.emit({ type: 'phase', phase: 'deletes' });
    await exec.runDeletes();
    throwIfStopped(run);
    acct.emit({ type: 'phase', phase: 'deferred' });
    await exec.runDeferred();
    throwIfStopped(run);
    acct.emit({ type: 'phase', phase: 'commit' });
    await writer.flush();
    throwIfStopped(run);
  } catch (err) {
    // A stop the caller asked for is a cancellation, whatever it surfaced as; anything else fails.
    if (run.getFatal() === null && !params.signal?.aborted) ctx.fail(err);
  } finally {
    // Let started operations settle, then commit what finished.
    if (exec) await exec.drain().catch(() => undefined);
    await writer.flush().catch((err: unknown) => ctx.fail(err));
    run.dispose();
  }
  return summarize(run, params, plan, startedAtMs, deleteSafety);
}

function throwIfStopped(run: Run): void {
  const fatal = run.getFatal();
  if (fatal) throw fatal;
  if (run.internal.signal.aborted) throw new CancelledError();
}

function summarize(
  run: Run,
  params: RunSyncParams,
  plan: FeedPlan | null,
  startedAtMs: number,
  deleteSafety: SyncSummary['deleteSafety'],
): SyncSummary {
  const { acct } = run;
  const fatal = run.getFatal();
  const cancelled = fatal === null && run.internal.signal.aborted;
  const status: SyncSummary['status'] = fatal ? 'failed' : cancelled ? 'cancelled' : 'completed';
  acct.tick(true);
  const p = acct.progress;
  const finishedAtMs = Date.now();
  const summary: SyncSummary = {
    status,
    mode: plan?.incremental ? 'incremental' : 'full',
    startedAtMs,
    finishedAtMs,
    durationMs: finishedAtMs - startedAtMs,
    progress: { ...p },
    plan: { ...acct.plan },
    errors: acct.errors,
    warnings: acct.warnings,
    unmappedPrincipals: acct.unmappedPrincipals(),
    unmappedPrincipalCount: acct.unmappedPrincipalCount(),
    cursors: status === 'completed' && plan ? plan.cursors : {},
    message: '',
  };
  if (plan?.reason) summary.modeReason = plan.reason;
  if (plan?.feedsUsed.length) summary.feedsUsed = plan.feedsUsed;
  if (deleteSafety) summary.deleteSafety = deleteSafety;
  if (fatal) {
    const c = classifyError(fatal);
    const message = fatal instanceof AppError ? fatal.message : c.message;
    summary.error = { code: c.code, message, action: c.action };
    if (fatal instanceof AppError && fatal.details !== undefined)
      summary.error.details = fatal.details;
    summary.message = message;
  } else if (cancelled) {
    summary.message = `Stopped (${String(params.signal?.reason ?? 'cancelled')}); finished work is committed`;
  } else {
    summary.message = progressMessage(p);
  }
  return summary;
}

/** The one-line outcome of a completed run (also of a job whose counters span several runs). */
export function progressMessage(p: {
  filesSynced: number;
  deletes: number;
  conflicts: number;
  errorCount: number;
}): string {
  const parts = [`${p.filesSynced} files synced`, `${p.deletes} deleted`];
  if (p.conflicts) parts.push(`${p.conflicts} conflicts`);
  if (p.errorCount) parts.push(`${p.errorCount} errors`);
  return parts.join(', ');
}

/** The fatal error of a failed summary as an `AppError` (for a worker that throws it). */
export function summaryError(summary: SyncSummary): AppError | null {
  if (!summary.error) return null;
  return new AppError(summary.error.code, summary.error.message, {
    action: summary.error.action as AppError['action'],
    details: summary.error.details,
  });
}

export type ConflictResolution = 'keep_source' | 'keep_target' | 'keep_both';

export interface ResolveConflictResult {
  status: 'resolved' | 'not_found' | 'not_in_conflict' | 'failed';
  path?: string;
  error?: { code: string; message: string };
}

async function findEntry(tree: FileTree, path: string, signal: AbortSignal): Promise<Entry | null> {
  const direct = await tree.stat(path, signal);
  if (direct) return direct;
  const key = nameKey(baseName(path));
  try {
    for await (const e of tree.list(parentPath(path), signal))
      if (nameKey(e.name) === key) return e;
  } catch {
    return null;
  }
  return null;
}

/**
 * An operator's answer to a MANUAL conflict (`keep_source`, `keep_target`, `keep_both`). The loser's
 * content is never discarded: it stays as a ScaiDrive version, or as a conflict copy on a side that
 * keeps no history (and always with `keep_both`).
 */
export async function resolveConflict(
  params: Omit<RunSyncParams, 'onProgress'>,
  pathKeyOfItem: string,
  resolution: ConflictResolution,
): Promise<ResolveConflictResult> {
  const run = startRun(params, resolveOptions({ ...params.options, direction: 'both' }));
  const { ctx, writer } = run;
  try {
    const row: FileStateRecord | null = await ctx.state.get(pathKeyOfItem);
    if (!row) return { status: 'not_found' };
    if (row.status !== 'conflict') return { status: 'not_in_conflict', path: row.path };
    const [s, t] = await Promise.all([
      findEntry(ctx.source, row.path, ctx.signal),
      findEntry(ctx.target, row.path, ctx.signal),
    ]);
    const item: Item = {
      key: row.pathKey,
      parentKey: row.parentKey,
      path: row.path,
      sourcePath: s?.path ?? row.path,
      targetPath: t?.path ?? row.path,
      source: s,
      target: t,
      base: row,
      depth: row.path.split('/').length,
    };
    const exec = new Executor(ctx);
    const strategy: ConflictStrategy =
      resolution === 'keep_source'
        ? 'CLIENT_WINS'
        : resolution === 'keep_target'
          ? 'SERVER_WINS'
          : 'KEEP_BOTH';
    if (s?.kind === 'file' && t?.kind === 'file') {
      await doReconcile(ctx, exec, item, strategy);
    } else if (s && t && s.kind !== t.kind) {
      // File against folder: whatever the answer, the folder keeps the name and the file is kept
      // as a conflict copy (nothing is discarded); the next run fills the folder.
      await doTypeConflict(ctx, {
        type: 'type_conflict',
        item,
        fileSide: s.kind === 'file' ? 'source' : 'target',
      });
    } else {
      // One side is gone since the conflict was detected: the next run decides with the table.
      writer.put({
        ...row,
        status: 'pending',
        conflict: null,
        lastError: null,
        lastErrorCode: null,
      });
    }
    await writer.flush();
    const fatal = run.getFatal();
    if (fatal) throw fatal;
    const after = await ctx.state.get(pathKeyOfItem);
    if (after?.status === 'error')
      return {
        status: 'failed',
        path: row.path,
        error: { code: after.lastErrorCode ?? 'INTERNAL', message: after.lastError ?? '' },
      };
    return { status: 'resolved', path: row.path };
  } catch (err) {
    const c = classifyError(err);
    return {
      status: 'failed',
      error: { code: c.code, message: err instanceof AppError ? err.message : c.message },
    };
  } finally {
    run.dispose();
  }
}
