import pLimit, { type LimitFunction } from 'p-limit';
import { ErrorCode, ItemError } from '@scaidrive/core';
import {
  doCopy,
  doDelete,
  doFolderToFile,
  doMetadata,
  doMkdir,
  doReconcile,
  doReplaceWithFolder,
  doTypeConflict,
  type FolderRegistry,
} from './actions.js';
import { recordItemFailure, treeOf, withRetry, type RunContext } from './context.js';
import { otherSide, type SideName } from './fingerprint.js';
import { planActionOf, type Op } from './plan.js';
import type { Entry, EntryKind } from './ports.js';

type DeleteOp = Extract<Op, { type: 'delete' }>;

const FOLDER_MEMO_LIMIT = 20_000;

function kindOf(op: Op): EntryKind {
  switch (op.type) {
    case 'mkdir':
    case 'replace_with_folder':
    case 'type_conflict':
      return 'folder';
    case 'delete':
      return op.kind;
    case 'metadata':
      return op.item.base?.kind ?? 'file';
    default:
      return 'file';
  }
}

/** The folder an op creates, if any (children wait for it). */
function createdFolder(op: Op): SideName | null {
  if (op.type === 'mkdir') return op.side;
  if (op.type === 'replace_with_folder') return op.side;
  if (op.type === 'type_conflict') return op.fileSide;
  return null;
}

/** The side an op writes into a possibly not-yet-existing folder of. */
function writesInto(op: Op): SideName | null {
  if (op.type === 'copy') return op.ensureParent ? otherSide(op.from) : null;
  if (op.type === 'mkdir' || op.type === 'replace_with_folder') return op.side;
  return null;
}

/**
 * Runs the plan: operations with bounded concurrency (`transferConcurrency`), an operation that
 * writes into a folder another operation creates waits for it (folders before their contents),
 * deletes are collected and run after everything else, deepest first. Submitting blocks when too
 * many operations are pending, so the walk never runs far ahead of the transfers.
 */
export class Executor implements FolderRegistry {
  readonly deletes: DeleteOp[] = [];
  private readonly deferred: Op[] = [];
  private readonly limit: LimitFunction;
  private readonly maxPending: number;
  private readonly running = new Set<Promise<void>>();
  private readonly waiters: (() => void)[] = [];
  private readonly folders = new Map<string, Promise<Entry>>();

  constructor(private readonly ctx: RunContext) {
    this.limit = pLimit(ctx.options.transferConcurrency);
    this.maxPending = ctx.options.transferConcurrency * 4 + 64;
  }

  /** Plans an op (event) and starts it, or keeps it for the delete phase. */
  async submit(op: Op): Promise<void> {
    // ACL/metadata checks of unchanged items are not plan entries; a write they make is reported.
    if (op.type !== 'metadata') this.ctx.acct.planned(planActionOf(op), op.item.path, kindOf(op));
    if (op.type === 'delete') {
      this.deletes.push(op);
      return;
    }
    while (this.running.size >= this.maxPending && !this.ctx.signal.aborted)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    await this.ctx.writer.ready();
    this.start(op);
  }

  /** Plans an op that runs after the deletes (a file that replaces a deleted folder). */
  defer(op: Op): void {
    this.ctx.acct.planned(planActionOf(op), op.item.path, kindOf(op));
    this.deferred.push(op);
  }

  /** Waits until every started op finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async runDeletes(): Promise<void> {
    const byDepth = new Map<number, DeleteOp[]>();
    for (const d of this.deletes) {
      let list = byDepth.get(d.item.depth);
      if (!list) byDepth.set(d.item.depth, (list = []));
      list.push(d);
    }
    const depths = [...byDepth.keys()].sort((a, b) => b - a);
    for (const depth of depths) {
      if (this.ctx.signal.aborted) return;
      const group = byDepth.get(depth)!;
      // Files before folders of the same depth (a folder's children are one level deeper anyway).
      group.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'file' ? -1 : 1));
      await Promise.allSettled(group.map((op) => this.limit(() => this.run(op))));
    }
  }

  async runDeferred(): Promise<void> {
    for (const op of this.deferred) this.start(op);
    await this.drain();
  }

  ensure(side: SideName, key: string, path: string): Promise<Entry> {
    const k = `${side}:${key}`;
    let p = this.folders.get(k);
    if (!p) {
      p = withRetry(this.ctx, path || '/', () =>
        treeOf(this.ctx, side).mkdir(path, this.ctx.signal),
      );
      this.remember(k, p);
    }
    return p;
  }

  private remember(k: string, p: Promise<Entry>): void {
    p.catch(() => this.folders.delete(k));
    this.folders.set(k, p);
    if (this.folders.size > FOLDER_MEMO_LIMIT) {
      const oldest = this.folders.keys().next().value;
      if (oldest !== undefined) this.folders.delete(oldest);
    }
  }

  private start(op: Op): void {
    const into = writesInto(op);
    const dep = into ? this.folders.get(`${into}:${op.item.parentKey}`) : undefined;
    const task = (dep ? dep.then(noop, noop) : Promise.resolve()).then(() =>
      this.limit(() => this.run(op)),
    );
    const creates = createdFolder(op);
    if (creates) {
      const folder = task.then((e) => {
        if (!e)
          throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `Folder ${op.item.path} was not created`);
        return e;
      });
      this.remember(`${creates}:${op.item.key}`, folder);
    }
    const tracked: Promise<void> = task.then(noop, noop).finally(() => {
      this.running.delete(tracked);
      this.waiters.shift()?.();
    });
    this.running.add(tracked);
  }

  /** Runs one op; per-item failures are recorded, fatal ones stop the run. */
  private async run(op: Op): Promise<Entry | null> {
    const ctx = this.ctx;
    if (ctx.signal.aborted) return null;
    try {
      switch (op.type) {
        case 'mkdir':
          return await doMkdir(ctx, op);
        case 'copy':
          await doCopy(ctx, this, op);
          return null;
        case 'reconcile':
          await doReconcile(ctx, this, op.item);
          return null;
        case 'replace_with_folder':
          return await doReplaceWithFolder(ctx, op);
        case 'type_conflict':
          return await doTypeConflict(ctx, op);
        case 'delete':
          await doDelete(ctx, op);
          return null;
        case 'metadata':
          await doMetadata(ctx, op.item);
          return null;
        case 'folder_to_file':
          await doFolderToFile(ctx, this, op);
          return null;
      }
    } catch (err) {
      recordItemFailure(ctx, op.item, kindOf(op), err);
      return null;
    }
  }
}

function noop(): void {}
