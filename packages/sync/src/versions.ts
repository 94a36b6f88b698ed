import { compareCodePoints } from '@scaidrive/core';
import { withRetry, type RunContext } from './context.js';
import type { Item } from './plan.js';

/** Version history flows source → target when asked and both sides can. */
export function versionsEnabled(ctx: RunContext): boolean {
  return (
    ctx.options.syncVersions &&
    ctx.options.direction !== 'target_to_source' &&
    ctx.source.capabilities.versions &&
    typeof ctx.source.listVersions === 'function' &&
    typeof ctx.source.readVersion === 'function' &&
    ctx.target.capabilities.importVersions &&
    typeof ctx.target.addVersion === 'function'
  );
}

/**
 * Imports the source's older versions of a file that was just created on the target, oldest
 * first. `addVersion` is idempotent per origin (`<label>:<versionId>`), so a resumed run repeats
 * this safely. Returns the number of versions handed to the target.
 */
export async function importVersions(ctx: RunContext, item: Item): Promise<number> {
  const versions = await withRetry(ctx, item.path, () =>
    ctx.source.listVersions!(item.sourcePath, ctx.signal),
  );
  const older = versions
    .filter((v) => !v.current)
    .sort((a, b) => a.mtimeMs - b.mtimeMs || compareCodePoints(a.id, b.id));
  for (const v of older) {
    await withRetry(ctx, item.path, async () => {
      const r = await ctx.source.readVersion!(item.sourcePath, v.id, ctx.signal);
      await ctx.target.addVersion!(item.targetPath, r.stream, {
        size: v.size,
        mtimeMs: v.mtimeMs,
        origin: `${ctx.source.label}:${v.id}`,
        signal: ctx.signal,
      });
    });
  }
  return older.length;
}
