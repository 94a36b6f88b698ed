import { createHash } from 'node:crypto';
import { withRetry, type RunContext } from './context.js';
import type { Item } from './plan.js';

/** Metadata (e.g. SharePoint list-item fields) flows source → target when asked and possible. */
export function metadataEnabled(ctx: RunContext): boolean {
  return (
    ctx.options.syncMetadata &&
    ctx.options.direction !== 'target_to_source' &&
    ctx.source.capabilities.metadata &&
    typeof ctx.source.readMetadata === 'function' &&
    ctx.target.capabilities.metadata &&
    typeof ctx.target.writeMetadata === 'function'
  );
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = canonical((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/** Copies the item's metadata when its hash changed; returns the hash to record. */
export async function syncMetadata(
  ctx: RunContext,
  item: Item,
  currentHash: string | null | undefined,
): Promise<string | null> {
  const md = await withRetry(ctx, item.path, () =>
    ctx.source.readMetadata!(item.sourcePath, ctx.signal),
  );
  if (!md) return currentHash ?? null;
  const hash = `sha256:${createHash('sha256')
    .update(JSON.stringify(canonical(md)))
    .digest('hex')}`;
  if (hash === currentHash) return hash;
  await withRetry(ctx, item.path, () => ctx.target.writeMetadata!(item.targetPath, md, ctx.signal));
  return hash;
}
