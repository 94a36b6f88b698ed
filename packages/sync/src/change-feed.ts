import { pathKey, splitPath } from '@scaidrive/core';
import type { RunContext } from './context.js';
import type { SideName } from './fingerprint.js';
import { CursorExpiredError, type FileTree } from './ports.js';
import type { WalkMode } from './march.js';

export interface FeedPlan extends WalkMode {
  /** Why the run walks everything (absent for incremental runs). */
  reason?: 'full_sync' | 'no_change_feed' | 'no_cursor' | 'cursor_expired';
  /** Cursors to persist when the run completes. */
  cursors: { source?: string; target?: string };
  /** Sides whose change feed this run used. */
  feedsUsed: SideName[];
}

const SIDES: SideName[] = ['source', 'target'];

function hasFeed(tree: FileTree): boolean {
  return (
    tree.capabilities.changeFeed &&
    typeof tree.changes === 'function' &&
    typeof tree.latestCursor === 'function'
  );
}

/** Adds every folder whose listing a change at `path` may have altered: all its ancestors. */
function markAncestors(dirty: Set<string>, path: string, isFolder: boolean): void {
  const parts = splitPath(path);
  const n = isFolder ? parts.length : parts.length - 1;
  for (let i = 0; i <= n; i++) dirty.add(pathKey(parts.slice(0, i).join('/')));
}

/** Reads one side's feed from `cursor`: the folders it touched, and the cursor after it. */
async function readFeed(
  ctx: RunContext,
  side: SideName,
  tree: FileTree,
  cursor: string,
): Promise<{ dirty: Set<string>; cursor: string }> {
  const dirty = new Set<string>();
  for await (const page of tree.changes!(cursor, ctx.signal)) {
    for (const ch of page.changes) {
      if (ch.type === 'upsert') {
        markAncestors(dirty, ch.entry.path, ch.entry.kind === 'folder');
        if (ch.entry.id) {
          const known = await byId(ctx, side, ch.entry.id);
          if (known && known.pathKey !== pathKey(ch.entry.path))
            markAncestors(dirty, known.path, false); // moved away from there
        }
      } else {
        if (ch.path !== undefined) markAncestors(dirty, ch.path, false);
        if (ch.id) {
          const known = await byId(ctx, side, ch.id);
          if (known) markAncestors(dirty, known.path, false);
        }
      }
    }
    cursor = page.cursor;
    if (page.done) break;
  }
  return { dirty, cursor };
}

/** Folders of rows that must be looked at again (errors, conflicts, pending). */
async function unsettled(ctx: RunContext, into: Set<string>): Promise<void> {
  for await (const batch of ctx.state.listByStatus(['error', 'conflict', 'pending'], 500))
    for (const r of batch) markAncestors(into, r.path, r.kind === 'folder');
}

/**
 * Decides how each side is read.
 * - Both sides offer a feed and have a cursor (and no full sync was asked for): **incremental** —
 *   only the folders on the way to a change of either side, or to a row in error/conflict/pending,
 *   are visited (and listed for real on both sides).
 * - One side offers a feed with a cursor: the other side is walked completely; the feed side's
 *   listings come from the base, except in folders its feed touched (and folders of unsettled rows),
 *   which are listed for real.
 * - Otherwise, or on `fullSync`, or when a cursor expired: both sides are walked and listed.
 * Cursors for the next run are taken **before** any walk, so nothing that changes meanwhile is
 * missed.
 */
export async function planWalk(ctx: RunContext): Promise<FeedPlan> {
  const trees: Record<SideName, FileTree> = { source: ctx.source, target: ctx.target };
  const feeds = SIDES.filter((s) => hasFeed(trees[s]));
  const given = ctx.options.cursors;
  const full = async (reason: FeedPlan['reason']): Promise<FeedPlan> => {
    const cursors: FeedPlan['cursors'] = {};
    for (const side of feeds) cursors[side] = await trees[side].latestCursor!(ctx.signal);
    return {
      incremental: false,
      dirty: new Set(),
      synthesize: { source: null, target: null },
      reason,
      cursors,
      feedsUsed: [],
    };
  };
  if (ctx.options.fullSync) return full('full_sync');
  const usable = feeds.filter((s) => !!given[s]);
  if (feeds.length === 0) return full('no_change_feed');
  if (usable.length === 0) return full('no_cursor');

  const read: Partial<Record<SideName, { dirty: Set<string>; cursor: string }>> = {};
  try {
    for (const side of usable) read[side] = await readFeed(ctx, side, trees[side], given[side]!);
  } catch (err) {
    if (err instanceof CursorExpiredError) return full('cursor_expired');
    throw err;
  }
  const cursors: FeedPlan['cursors'] = {};
  for (const side of usable) cursors[side] = read[side]!.cursor;

  if (usable.length === 2) {
    const dirty = new Set<string>(['']);
    for (const side of usable) for (const k of read[side]!.dirty) dirty.add(k);
    await unsettled(ctx, dirty);
    return {
      incremental: true,
      dirty,
      synthesize: { source: null, target: null },
      cursors,
      feedsUsed: usable,
    };
  }
  // One feed: walk the other side, read the feed side from the base where its feed is quiet.
  const side = usable[0]!;
  const dirty = read[side]!.dirty;
  await unsettled(ctx, dirty);
  const other: SideName = side === 'source' ? 'target' : 'source';
  if (feeds.includes(other)) cursors[other] = await trees[other].latestCursor!(ctx.signal);
  return {
    incremental: false,
    dirty: new Set(),
    synthesize: {
      source: side === 'source' ? dirty : null,
      target: side === 'target' ? dirty : null,
    },
    cursors,
    feedsUsed: [side],
  };
}

function byId(ctx: RunContext, side: SideName, id: string) {
  return side === 'source' ? ctx.state.getBySourceId(id) : ctx.state.getByTargetId(id);
}
