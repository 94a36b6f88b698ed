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

/**
 * Decides between an incremental run (both sides offer a change feed and have a cursor, and no
 * full sync was asked for) and a full walk. Incremental: the folders to visit are the ancestors of
 * every change on either side plus of every row in `error`, `conflict` or `pending`. Full: each
 * feed's cursor is taken *before* the walk so nothing that changes during the walk is missed.
 */
export async function planWalk(ctx: RunContext): Promise<FeedPlan> {
  const trees: Record<SideName, FileTree> = { source: ctx.source, target: ctx.target };
  const feeds = SIDES.filter((s) => hasFeed(trees[s]));
  const full = async (reason: FeedPlan['reason']): Promise<FeedPlan> => {
    const cursors: FeedPlan['cursors'] = {};
    for (const side of feeds) cursors[side] = await trees[side].latestCursor!(ctx.signal);
    return { incremental: false, dirty: new Set(), reason, cursors };
  };
  if (ctx.options.fullSync) return full('full_sync');
  if (feeds.length < 2) return full('no_change_feed');
  const given = ctx.options.cursors;
  if (!given.source || !given.target) return full('no_cursor');

  const dirty = new Set<string>(['']);
  const cursors: FeedPlan['cursors'] = {};
  try {
    for (const side of SIDES) {
      let cursor = given[side]!;
      for await (const page of trees[side].changes!(cursor, ctx.signal)) {
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
      cursors[side] = cursor;
    }
  } catch (err) {
    if (err instanceof CursorExpiredError) return full('cursor_expired');
    throw err;
  }
  for await (const batch of ctx.state.listByStatus(['error', 'conflict', 'pending'], 500))
    for (const r of batch) markAncestors(dirty, r.path, r.kind === 'folder');
  return { incremental: true, dirty, cursors };
}

function byId(ctx: RunContext, side: SideName, id: string) {
  return side === 'source' ? ctx.state.getBySourceId(id) : ctx.state.getByTargetId(id);
}
