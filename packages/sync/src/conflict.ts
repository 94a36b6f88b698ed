import { ErrorCode, ItemError, joinPath, nameKey, parentPath } from '@scaidrive/core';
import { conflictName } from './conflict-names.js';
import { entryOn, newRecord, pathOn, treeOf, withRetry, type RunContext } from './context.js';
import { otherSide, sideStateOf, type SideName } from './fingerprint.js';
import type { ConflictStrategy } from './options.js';
import type { Item } from './plan.js';
import type { Entry } from './ports.js';
import { copyFile, hashFile } from './transfer.js';

export interface ConflictCopy {
  /** The conflict copy as an item of the same folder. */
  item: Item;
  side: SideName;
  entry: Entry;
  /** The original was moved (so the original path is now free). */
  moved: boolean;
  sha256: string | undefined;
}

const MAX_NAME_ATTEMPTS = 50;

/**
 * Keeps the content of `entry` (the file of `item` on `side`) under a conflict name in the same
 * folder on the same side — by an atomic move when the side can, else by a copy. When
 * `alsoFreeOn` is given the name must be free on that side too (the copy will be synced there).
 * A conflict copy with the same content left by an interrupted earlier run is reused.
 */
export async function makeConflictCopy(
  ctx: RunContext,
  item: Item,
  side: SideName,
  entry: Entry,
  alsoFreeOn?: SideName,
): Promise<ConflictCopy> {
  const tree = treeOf(ctx, side);
  const parentOnSide = parentPath(pathOn(item, side));
  const parentOnOther = alsoFreeOn ? parentPath(pathOn(item, alsoFreeOn)) : '';
  const otherTree = alsoFreeOn ? treeOf(ctx, alsoFreeOn) : null;
  let ownHash: string | undefined;
  for (let n = 1; n <= MAX_NAME_ATTEMPTS; n++) {
    const name = conflictName(entry.name, entry.mtimeMs, tree.label, n);
    const problem =
      tree.capabilities.nameProblem(name, parentOnSide) ??
      otherTree?.capabilities.nameProblem(name, parentOnOther) ??
      null;
    if (problem)
      throw new ItemError(ErrorCode.NAME_INVALID, `No conflict name for ${item.path}: ${problem}`);
    const path = joinPath(parentOnSide, name);
    const cItem: Item = {
      key: item.parentKey ? `${item.parentKey}/${nameKey(name)}` : nameKey(name),
      parentKey: item.parentKey,
      path: joinPath(parentPath(item.path), name),
      sourcePath: side === 'source' ? path : joinPath(parentOnOther, name),
      targetPath: side === 'target' ? path : joinPath(parentOnOther, name),
      source: null,
      target: null,
      base: null,
      depth: item.depth,
    };
    const existing = await tree.stat(path, ctx.signal);
    if (existing) {
      if (existing.kind === 'file' && existing.size === entry.size) {
        ownHash ??= await hashFile(ctx, side, pathOn(item, side), entry, item.path);
        const theirs = await hashFile(ctx, side, path, existing, cItem.path);
        if (theirs === ownHash)
          return { item: cItem, side, entry: existing, moved: false, sha256: ownHash };
      }
      continue;
    }
    if (otherTree && (await otherTree.stat(pathOn(cItem, alsoFreeOn!), ctx.signal))) continue;
    if (tree.capabilities.move && tree.move) {
      const moved = await withRetry(ctx, item.path, () =>
        tree.move!(pathOn(item, side), path, {
          ...(entry.version !== undefined ? { ifMatch: entry.version } : {}),
          signal: ctx.signal,
        }),
      );
      return { item: cItem, side, entry: moved, moved: true, sha256: ownHash };
    }
    const res = await copyFile(
      ctx,
      {
        from: side,
        fromPath: pathOn(item, side),
        expected: entry,
        to: side,
        toPath: path,
        ifMatch: null,
      },
      item.path,
    );
    return { item: cItem, side, entry: res.written, moved: false, sha256: res.sha256 };
  }
  throw new ItemError(ErrorCode.NAME_CONFLICT, `No free conflict name for ${item.path}`);
}

/**
 * Copies a conflict copy (made on `cc.side`) to the other side and records it as synced — "synced
 * like any file".
 */
export async function propagateConflictCopy(ctx: RunContext, cc: ConflictCopy): Promise<number> {
  const to = otherSide(cc.side);
  const there = await treeOf(ctx, to).stat(pathOn(cc.item, to), ctx.signal);
  if (there) {
    // An interrupted earlier run got this far: adopt it when it is the same content.
    const mine =
      cc.sha256 ?? (await hashFile(ctx, cc.side, pathOn(cc.item, cc.side), cc.entry, cc.item.path));
    const theirs =
      there.kind === 'file' && there.size === cc.entry.size
        ? await hashFile(ctx, to, pathOn(cc.item, to), there, cc.item.path)
        : null;
    if (theirs !== mine)
      throw new ItemError(
        ErrorCode.NAME_CONFLICT,
        `${cc.item.path} exists on the ${to} side with other content`,
      );
    const a = sideStateOf(cc.entry, mine);
    const b = sideStateOf(there, theirs);
    ctx.writer.put(
      newRecord(
        cc.item,
        'file',
        cc.side === 'source' ? a : b,
        cc.side === 'source' ? b : a,
        ctx.options.now(),
      ),
    );
    return 0;
  }
  const res = await copyFile(
    ctx,
    {
      from: cc.side,
      fromPath: pathOn(cc.item, cc.side),
      expected: cc.entry,
      to,
      toPath: pathOn(cc.item, to),
      ifMatch: null,
      countBytes: true,
    },
    cc.item.path,
  );
  const fromState = sideStateOf(res.from, res.sha256);
  const toState = sideStateOf(res.written, res.sha256);
  ctx.writer.put(
    newRecord(
      cc.item,
      'file',
      cc.side === 'source' ? fromState : toState,
      cc.side === 'source' ? toState : fromState,
      ctx.options.now(),
    ),
  );
  ctx.acct.count('filesSynced');
  ctx.acct.emit({
    type: 'done',
    action: cc.side === 'source' ? 'copy_to_target' : 'copy_to_source',
    path: cc.item.path,
    bytes: res.bytes,
    detail: 'conflict copy',
  });
  return res.bytes;
}

export interface Resolution {
  winner: SideName;
  /** Keep the loser's content under a conflict name (KEEP_BOTH, or the loser keeps no history). */
  keepLoserCopy: boolean;
  label: string;
}

/** Who wins a content conflict of a bidirectional run (null = MANUAL: nothing moves). */
export function resolveWinner(
  ctx: RunContext,
  item: Item,
  strategy: ConflictStrategy,
): Resolution | null {
  const s = entryOn(item, 'source')!;
  const t = entryOn(item, 'target')!;
  const newer: SideName | null =
    s.mtimeMs > t.mtimeMs ? 'source' : t.mtimeMs > s.mtimeMs ? 'target' : null;
  const keeps = (side: SideName): boolean => treeOf(ctx, side).capabilities.keepsHistory === true;
  switch (strategy) {
    case 'MANUAL':
      return null;
    case 'CLIENT_WINS':
      return { winner: 'source', keepLoserCopy: !keeps('target'), label: 'source wins' };
    case 'SERVER_WINS':
      return { winner: 'target', keepLoserCopy: !keeps('source'), label: 'target wins' };
    case 'LAST_WRITER_WINS':
      if (newer)
        return {
          winner: newer,
          keepLoserCopy: !keeps(otherSide(newer)),
          label: `newer ${newer} wins`,
        };
      return { winner: 'target', keepLoserCopy: true, label: 'same time: keep both' };
    case 'KEEP_BOTH':
      return { winner: newer ?? 'target', keepLoserCopy: true, label: 'keep both' };
  }
}
