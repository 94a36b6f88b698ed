import { createHash } from 'node:crypto';
import { withRetry, type RunContext } from './context.js';
import type { Item } from './plan.js';
import type { EntryKind, TargetAce } from './ports.js';

/** ACLs flow source → target when the run asks for them and both sides can. */
export function aclEnabled(ctx: RunContext): boolean {
  return (
    ctx.options.syncPermissions &&
    ctx.options.mapAcl !== undefined &&
    ctx.options.direction !== 'target_to_source' &&
    ctx.source.capabilities.readAcl &&
    typeof ctx.source.readAcl === 'function' &&
    ctx.target.capabilities.writeAcl &&
    typeof ctx.target.writeAcl === 'function'
  );
}

function canonicalAces(entries: TargetAce[]): TargetAce[] {
  return entries
    .map((e) => ({ ...e, permissions: [...e.permissions].sort() }))
    .sort((a, b) =>
      `${a.principalType}:${a.principalId}:${a.aceType}:${a.inheritToChildren}`.localeCompare(
        `${b.principalType}:${b.principalId}:${b.aceType}:${b.inheritToChildren}`,
      ),
    );
}

/**
 * Mirrors the item's source ACL (mapped through the worker's identity mappings) onto the target.
 * Writes only when the mapped ACL's hash differs from `currentHash`. Returns the hash to record.
 */
export async function syncAcl(
  ctx: RunContext,
  item: Item,
  kind: EntryKind,
  currentHash: string | null | undefined,
): Promise<string | null> {
  const snapshot = await withRetry(ctx, item.path, () =>
    ctx.source.readAcl!(item.sourcePath, ctx.signal),
  );
  if (!snapshot) return currentHash ?? null;
  const mapped = await ctx.options.mapAcl!(snapshot, { path: item.path, kind });
  ctx.acct.addUnmapped(mapped.unmapped);
  const acl = {
    inheritFromParent: snapshot.inheritFromParent,
    entries: canonicalAces(mapped.entries),
  };
  const hash = `sha256:${createHash('sha256').update(JSON.stringify(acl)).digest('hex')}`;
  if (hash === currentHash) return hash;
  await withRetry(ctx, item.path, () => ctx.target.writeAcl!(item.targetPath, acl));
  return hash;
}
