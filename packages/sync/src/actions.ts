import { AppError, ErrorCode, ItemError, joinPath, parentPath } from '@scaidrive/core';
import { aclEnabled, syncAcl } from './acl.js';
import { entryOn, newRecord, pathOn, treeOf, withRetry, type RunContext } from './context.js';
import { conflictName } from './conflict-names.js';
import {
  makeConflictCopy,
  propagateConflictCopy,
  resolveWinner,
  type ConflictCopy,
} from './conflict.js';
import { validBase } from './decide.js';
import {
  otherSide,
  recordsEqual,
  sideStateOf,
  surelyDifferent,
  type SideName,
} from './fingerprint.js';
import { metadataEnabled, syncMetadata } from './metadata.js';
import { originOf, type ConflictStrategy } from './options.js';
import type { Item, Op } from './plan.js';
import type { Entry, EntryKind, FileStateRecord } from './ports.js';
import { copyFile, hashFile, sameSnapshot } from './transfer.js';
import { importVersions, versionsEnabled } from './versions.js';

/** Creates folders once per run and lets writes wait for a folder another operation creates. */
export interface FolderRegistry {
  ensure(side: SideName, key: string, path: string): Promise<Entry>;
}

export function keepsHistory(ctx: RunContext, side: SideName): boolean {
  return treeOf(ctx, side).capabilities.keepsHistory === true;
}

/** ACL and metadata of an item that exists on both sides; returns the record with new hashes. */
export async function withMetadata(
  ctx: RunContext,
  item: Item,
  kind: EntryKind,
  record: FileStateRecord,
): Promise<FileStateRecord> {
  const r = { ...record };
  if (aclEnabled(ctx)) r.aclHash = await syncAcl(ctx, item, kind, r.aclHash);
  if (kind === 'file' && metadataEnabled(ctx))
    r.metadataHash = await syncMetadata(ctx, item, r.metadataHash);
  return r;
}

function sidesOf(
  from: SideName,
  fromState: FileStateRecord['source'],
  toState: FileStateRecord['source'],
) {
  return from === 'source'
    ? { source: fromState, target: toState }
    : { source: toState, target: fromState };
}

export interface CopyOptions {
  /** Copy the conflict copy of the destination to the origin side too (bidirectional). */
  propagateConflictCopy: boolean;
  /** Already re-planned once after a failed destination precondition. */
  replanned?: boolean;
}

/** Copy op: origin → destination, keeping the destination's content first when asked. */
export async function doCopy(
  ctx: RunContext,
  folders: FolderRegistry,
  op: Extract<Op, { type: 'copy' }>,
  opts: CopyOptions = { propagateConflictCopy: false },
): Promise<void> {
  const { item, from } = op;
  const to = otherSide(from);
  const fromEntry = entryOn(item, from)!;
  const destEntry = entryOn(item, to);
  if (op.ensureParent) await folders.ensure(to, item.parentKey, parentPath(pathOn(item, to)));
  let ifMatch: string | null | undefined =
    destEntry === null ? null : destEntry.kind === 'file' ? destEntry.version : undefined;
  let cc: ConflictCopy | undefined;
  if (op.preserveDest && destEntry?.kind === 'file') {
    cc = await makeConflictCopy(
      ctx,
      item,
      to,
      destEntry,
      opts.propagateConflictCopy ? from : undefined,
    );
    if (cc.moved) ifMatch = null;
    ctx.acct.emit({
      type: 'done',
      action: 'conflict',
      path: cc.item.path,
      detail: `kept the ${to} content`,
    });
  }
  let res;
  try {
    res = await copyFile(
      ctx,
      {
        from,
        fromPath: pathOn(item, from),
        expected: fromEntry,
        to,
        toPath: pathOn(item, to),
        ifMatch,
        countBytes: true,
      },
      item.path,
    );
  } catch (err) {
    // The destination is not what the plan saw: it changed since the listing, or an earlier run
    // wrote it and stopped before committing (a side read from its change feed cannot show that).
    // Decide again with what is really there — equal content is adopted, not copied.
    if (
      !(err instanceof AppError && err.code === ErrorCode.PRECONDITION_FAILED) ||
      cc ||
      opts.replanned
    )
      throw err;
    const now = await treeOf(ctx, to).stat(pathOn(item, to), ctx.signal);
    if (now?.kind !== 'file' || (destEntry && sameSnapshot(destEntry, now))) throw err;
    const fresh: Item = { ...item, [to]: now };
    await doReconcile(ctx, folders, fresh, undefined, true);
    return;
  }
  if (from === 'source' && !destEntry && versionsEnabled(ctx)) {
    try {
      await importVersions(ctx, item);
    } catch (err) {
      // The current content is in place; history that could not be imported is reported, not fatal.
      if (ctx.signal.aborted) throw err;
      ctx.acct.warn(`version history not imported: ${(err as Error).message}`, item.path);
    }
  }
  const sides = sidesOf(
    from,
    sideStateOf(res.from, res.sha256),
    sideStateOf(res.written, res.sha256),
  );
  let rec = newRecord(item, 'file', sides.source, sides.target, ctx.options.now());
  rec = await withMetadata(ctx, item, 'file', rec);
  ctx.writer.put(rec);
  ctx.acct.count('filesSynced');
  ctx.acct.emit({
    type: 'done',
    action: from === 'source' ? 'copy_to_target' : 'copy_to_source',
    path: item.path,
    bytes: res.bytes,
  });
  if (cc && opts.propagateConflictCopy) await propagateConflictCopy(ctx, cc);
}

/** Conflict details stored on a `conflict` row. */
export interface ConflictInfo {
  source: (FileStateRecord['source'] & { kind: EntryKind }) | null;
  target: (FileStateRecord['target'] & { kind: EntryKind }) | null;
  detectedAtMs: number;
}

export function conflictRecord(
  ctx: RunContext,
  item: Item,
  kind: EntryKind,
  message: string,
  hashes: { source?: string; target?: string } = {},
): FileStateRecord {
  const vb = validBase(item.base);
  const s = item.source;
  const t = item.target;
  const info: ConflictInfo = {
    source: s ? { ...sideStateOf(s, hashes.source), kind: s.kind } : null,
    target: t ? { ...sideStateOf(t, hashes.target), kind: t.kind } : null,
    detectedAtMs: ctx.options.now(),
  };
  return {
    path: item.path,
    pathKey: item.key,
    parentKey: item.parentKey,
    kind: vb?.kind ?? kind,
    status: 'conflict',
    source: vb?.source ?? null,
    target: vb?.target ?? null,
    aclHash: item.base?.aclHash ?? null,
    metadataHash: item.base?.metadataHash ?? null,
    lastSyncedAtMs: item.base?.lastSyncedAtMs ?? null,
    lastError: message,
    lastErrorCode: ErrorCode.CONFLICT,
    conflict: info,
  };
}

/**
 * Both sides hold a file that changed (or is new) since the base: equal content is adopted,
 * otherwise the origin wins (one-way) or the conflict strategy decides (bidirectional).
 * `override` forces a strategy (operator resolution).
 */
export async function doReconcile(
  ctx: RunContext,
  folders: FolderRegistry,
  item: Item,
  override?: ConflictStrategy,
  replanned = false,
): Promise<void> {
  const s = item.source!;
  const t = item.target!;
  let sh: string | undefined;
  let th: string | undefined;
  if (!surelyDifferent(s, t)) {
    sh = await hashFile(ctx, 'source', item.sourcePath, s, item.path);
    th = await hashFile(ctx, 'target', item.targetPath, t, item.path);
    if (sh === th) {
      let rec = newRecord(item, 'file', sideStateOf(s, sh), sideStateOf(t, th), ctx.options.now());
      rec = await withMetadata(ctx, item, 'file', rec);
      ctx.writer.put(rec);
      ctx.acct.count('adopted');
      ctx.acct.emit({
        type: 'done',
        action: 'adopt',
        path: item.path,
        detail: 'same content on both sides',
      });
      return;
    }
  }
  const origin = originOf(ctx.options.direction);
  if (origin && !override) {
    const dest = otherSide(origin);
    ctx.acct.count('conflicts');
    ctx.acct.emit({ type: 'conflict', path: item.path, resolution: `${origin} (origin) wins` });
    await doCopy(
      ctx,
      folders,
      {
        type: 'copy',
        item,
        from: origin,
        preserveDest: !keepsHistory(ctx, dest),
        ensureParent: false,
      },
      { propagateConflictCopy: false, replanned },
    );
    return;
  }
  const strategy = override ?? ctx.options.conflictResolution;
  const res = resolveWinner(ctx, item, strategy);
  ctx.acct.count('conflicts');
  if (!res) {
    const rec = conflictRecord(
      ctx,
      item,
      'file',
      'Changed on both sides; waiting for an operator to resolve it',
      {
        ...(sh ? { source: sh } : {}),
        ...(th ? { target: th } : {}),
      },
    );
    if (!recordsEqual(item.base, rec)) ctx.writer.put(rec);
    ctx.acct.emit({ type: 'conflict', path: item.path, resolution: 'manual' });
    return;
  }
  ctx.acct.emit({ type: 'conflict', path: item.path, resolution: res.label });
  await doCopy(
    ctx,
    folders,
    { type: 'copy', item, from: res.winner, preserveDest: res.keepLoserCopy, ensureParent: false },
    { propagateConflictCopy: true, replanned },
  );
}

async function deleteFile(
  ctx: RunContext,
  side: SideName,
  item: Item,
  entry: Entry,
): Promise<void> {
  const tree = treeOf(ctx, side);
  await withRetry(ctx, item.path, () =>
    tree.delete(pathOn(item, side), {
      kind: 'file',
      ...(entry.version !== undefined ? { ifMatch: entry.version } : {}),
      signal: ctx.signal,
    }),
  );
}

/** Moves the file out of the way (conflict name) or deletes it. */
async function removeFile(
  ctx: RunContext,
  side: SideName,
  item: Item,
  entry: Entry,
  preserve: boolean,
  propagateTo?: SideName,
): Promise<ConflictCopy | undefined> {
  if (!preserve) {
    await deleteFile(ctx, side, item, entry);
    return undefined;
  }
  const cc = await makeConflictCopy(ctx, item, side, entry, propagateTo);
  if (!cc.moved) await deleteFile(ctx, side, item, entry);
  return cc;
}

async function mkdirOn(ctx: RunContext, side: SideName, item: Item): Promise<Entry> {
  const e = await withRetry(ctx, item.path, () =>
    treeOf(ctx, side).mkdir(pathOn(item, side), ctx.signal),
  );
  ctx.acct.count('foldersCreated');
  return e;
}

async function recordFolder(
  ctx: RunContext,
  item: Item,
  side: SideName,
  created: Entry,
): Promise<void> {
  const other = entryOn(item, otherSide(side));
  if (!other || other.kind !== 'folder') return;
  const s = side === 'source' ? created : other;
  const t = side === 'target' ? created : other;
  let rec = newRecord(item, 'folder', sideStateOf(s), sideStateOf(t), ctx.options.now());
  rec = await withMetadata(ctx, item, 'folder', rec);
  ctx.writer.put(rec);
}

export async function doMkdir(ctx: RunContext, op: Extract<Op, { type: 'mkdir' }>): Promise<Entry> {
  const e = await mkdirOn(ctx, op.side, op.item);
  if (op.record) await recordFolder(ctx, op.item, op.side, e);
  ctx.acct.emit({
    type: 'done',
    action: op.side === 'source' ? 'mkdir_source' : 'mkdir_target',
    path: op.item.path,
  });
  return e;
}

/** The file on `op.side` gives way to the other side's folder. */
export async function doReplaceWithFolder(
  ctx: RunContext,
  op: Extract<Op, { type: 'replace_with_folder' }>,
): Promise<Entry> {
  const entry = entryOn(op.item, op.side)!;
  await removeFile(ctx, op.side, op.item, entry, op.preserve);
  ctx.acct.count('deletes');
  const e = await mkdirOn(ctx, op.side, op.item);
  await recordFolder(ctx, op.item, op.side, e);
  ctx.acct.emit({ type: 'done', action: 'replace_with_folder', path: op.item.path });
  return e;
}

/** A changed file meets a changed folder: the folder keeps the name, the file a conflict name. */
export async function doTypeConflict(
  ctx: RunContext,
  op: Extract<Op, { type: 'type_conflict' }>,
): Promise<Entry> {
  const f = op.fileSide;
  const entry = entryOn(op.item, f)!;
  ctx.acct.count('conflicts');
  const cc = await removeFile(ctx, f, op.item, entry, true, otherSide(f));
  const e = await mkdirOn(ctx, f, op.item);
  await recordFolder(ctx, op.item, f, e);
  ctx.acct.emit({
    type: 'conflict',
    path: op.item.path,
    resolution: 'folder keeps the name; file kept as a conflict copy',
  });
  if (cc) await propagateConflictCopy(ctx, cc);
  return e;
}

/** Deferred delete (after all copies, deepest first). */
export async function doDelete(
  ctx: RunContext,
  op: Extract<Op, { type: 'delete' }>,
): Promise<void> {
  const { item, side } = op;
  const tree = treeOf(ctx, side);
  const path = pathOn(item, side);
  if (op.kind === 'folder') {
    try {
      for await (const child of tree.list(path, ctx.signal)) {
        ctx.acct.warn(`not deleted: the folder is not empty ("${child.name}")`, item.path);
        return;
      }
    } catch (err) {
      if (!(err instanceof ItemError && err.code === ErrorCode.ITEM_NOT_FOUND)) throw err;
    }
    await withRetry(ctx, item.path, () =>
      tree.delete(path, { kind: 'folder', signal: ctx.signal }),
    );
  } else {
    await removeFile(ctx, side, item, entryOn(item, side)!, op.preserve);
  }
  ctx.writer.remove(item.key);
  ctx.acct.count('deletes');
  ctx.acct.emit({
    type: 'done',
    action: side === 'source' ? 'delete_source' : 'delete_target',
    path: item.path,
  });
}

/** ACL/metadata of an unchanged item. */
export async function doMetadata(ctx: RunContext, item: Item): Promise<void> {
  const b = item.base!;
  const rec = await withMetadata(ctx, item, b.kind, b);
  if (recordsEqual(b, rec)) return;
  ctx.writer.put({ ...rec, lastSyncedAtMs: ctx.options.now() });
  ctx.acct.emit({
    type: 'done',
    action: 'metadata',
    path: item.path,
    detail: 'permissions or metadata',
  });
}

/**
 * Runs after the deletes: the folder side's folder (now deleted, or — in a one-way run — still
 * holding the destination's unsynced items, then moved to a conflict name) gives way to the file.
 */
export async function doFolderToFile(
  ctx: RunContext,
  folders: FolderRegistry,
  op: Extract<Op, { type: 'folder_to_file' }>,
): Promise<void> {
  const f = op.fileSide;
  const F = otherSide(f);
  const tree = treeOf(ctx, F);
  const path = pathOn(op.item, F);
  const now = await tree.stat(path, ctx.signal);
  if (now?.kind === 'folder') {
    if (!op.moveAside || !tree.capabilities.move || !tree.move)
      throw new ItemError(
        ErrorCode.NAME_CONFLICT,
        `The ${f} has a file where the ${F} has a folder that still holds unsynced items; ` +
          'move one of them',
      );
    const folder = entryOn(op.item, F)!;
    for (let n = 1; ; n++) {
      const name = conflictName(folder.name, folder.mtimeMs, tree.label, n, 'folder');
      const dest = joinPath(parentPath(path), name);
      if (n > 50)
        throw new ItemError(ErrorCode.NAME_CONFLICT, `No free conflict name for ${op.item.path}`);
      if (await tree.stat(dest, ctx.signal)) continue;
      await withRetry(ctx, op.item.path, () => tree.move!(path, dest, { signal: ctx.signal }));
      ctx.acct.count('conflicts');
      ctx.acct.emit({
        type: 'conflict',
        path: op.item.path,
        resolution: `${f} (origin) wins; the ${F} folder was kept as "${name}"`,
      });
      break;
    }
    for await (const batch of ctx.state.descendants(op.item.key, ctx.options.batchSize))
      for (const r of batch) ctx.writer.remove(r.pathKey);
  } else if (now) {
    throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${op.item.path} changed on the ${F}`);
  }
  const fileItem: Item = { ...op.item, [F]: null };
  await doCopy(ctx, folders, {
    type: 'copy',
    item: fileItem,
    from: f,
    preserveDest: false,
    ensureParent: false,
  });
}
