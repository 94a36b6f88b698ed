import pLimit, { type LimitFunction } from 'p-limit';
import {
  AppError,
  ErrorCode,
  ItemError,
  classifyError,
  compareCodePoints,
  joinPath,
  nameKey,
  parentPath,
} from '@scaidrive/core';
import { conflictRecord, type ConflictInfo } from './actions.js';
import {
  applyCollision,
  entryOn,
  errorRecord,
  isFatal,
  newRecord,
  pathOn,
  recordItemFailure,
  treeOf,
  type RunContext,
} from './context.js';
import {
  changesOf,
  decideFile,
  decideTypeMismatch,
  validBase,
  type DecideContext,
  type TypeDecision,
} from './decide.js';
import type { Executor } from './executor.js';
import { otherSide, recordsEqual, sameFile, sideStateOf, type SideName } from './fingerprint.js';
import { aclEnabled } from './acl.js';
import { metadataEnabled } from './metadata.js';
import { originOf } from './options.js';
import type { Item } from './plan.js';
import type { Entry, EntryKind, FileStateRecord } from './ports.js';

/** A folder being walked. */
interface Folder {
  key: string;
  path: string;
  sourcePath: string;
  targetPath: string;
  /** The folder existed on that side when its parent was listed (else: nothing to list there). */
  present: Record<SideName, boolean>;
  depth: number;
  /** Incremental runs: walk everything below (a new, moved or type-changed folder). */
  full: boolean;
  /** The folder as an item of its parent (null for the root). */
  item: Item | null;
}

/** Whether anything will be in a folder on each side once the plan has run. */
interface Occupancy {
  source: boolean;
  target: boolean;
}

/** A sub-folder walk, started once the parent folder's slot is free. */
type Later = () => Promise<Occupancy>;

const NONE: Occupancy = Object.freeze({ source: false, target: false });
const BOTH: Occupancy = Object.freeze({ source: true, target: true });
const SOURCE_ONLY: Occupancy = Object.freeze({ source: true, target: false });
const TARGET_ONLY: Occupancy = Object.freeze({ source: false, target: true });

/** Shared constants: this runs for every path of every run. */
function occ(source: boolean, target: boolean): Occupancy {
  return source ? (target ? BOTH : SOURCE_ONLY) : target ? TARGET_ONLY : NONE;
}

function onlyOn(side: SideName, v = true): Occupancy {
  return side === 'source' ? occ(v, false) : occ(false, v);
}

interface Keyed {
  k: string;
  e: Entry;
}

function sortEntries(list: Entry[]): Keyed[] {
  return list
    .map((e) => ({ k: nameKey(e.name), e }))
    .sort((a, b) => compareCodePoints(a.k, b.k) || compareCodePoints(a.e.name, b.e.name));
}

function lastSegment(pathKey: string): string {
  const i = pathKey.lastIndexOf('/');
  return i === -1 ? pathKey : pathKey.slice(i + 1);
}

export interface WalkMode {
  incremental: boolean;
  /** Incremental: folders (path keys) whose listing may have changed. */
  dirty: Set<string>;
  /**
   * Per side: null = list that side for real; a set = that side's listings come from the base
   * (its change feed reported nothing there), except for the folders in the set.
   */
  synthesize: Record<SideName, Set<string> | null>;
}

/**
 * The walk and the diff: both trees and the base are read one folder at a time, merged by name
 * key (rclone's march), and every path is decided on the spot (DESIGN.md §6). Memory is one
 * folder listing per concurrent listing plus the folder frames on the way down — not the tree.
 */
export class March {
  private readonly listLimit: LimitFunction;
  private readonly dctx: DecideContext;
  private readonly origin: SideName | null;

  constructor(
    private readonly ctx: RunContext,
    private readonly exec: Executor,
    private readonly mode: WalkMode,
  ) {
    this.listLimit = pLimit(ctx.options.listConcurrency);
    this.origin = originOf(ctx.options.direction);
    this.dctx = {
      direction: ctx.options.direction,
      keepsHistory: {
        source: ctx.source.capabilities.keepsHistory === true,
        target: ctx.target.capabilities.keepsHistory === true,
      },
    };
  }

  async run(): Promise<void> {
    const root: Folder = {
      key: '',
      path: '',
      sourcePath: '',
      targetPath: '',
      present: { source: true, target: true },
      depth: 0,
      full: !this.mode.incremental,
      item: null,
    };
    await this.walk(root);
  }

  // ───────────────────────────── listing ─────────────────────────────

  private async listSide(side: SideName, path: string): Promise<Entry[]> {
    const out: Entry[] = [];
    for await (const e of treeOf(this.ctx, side).list(path, this.ctx.signal)) {
      // A name no tree can hold (a faulty or hostile server) would make keys and paths point
      // elsewhere — the row or file of another item. The folder fails instead (and is skipped,
      // never read as "everything in it was deleted").
      const problem = impossibleName(e.name);
      if (problem)
        throw new ItemError(
          ErrorCode.NAME_INVALID,
          `The ${side} listed an entry ${JSON.stringify(e.name)} in "${path || '/'}" that ${problem}; the folder is skipped`,
          { details: { side, folder: path, name: e.name } },
        );
      out.push(e);
    }
    return out;
  }

  /** Lists both sides and the base of a folder, or null when the folder cannot be walked. */
  private async read(
    folder: Folder,
  ): Promise<{ s: Entry[]; t: Entry[]; b: FileStateRecord[] } | null> {
    const ctx = this.ctx;
    if (ctx.signal.aborted) return null;
    const listOne = async (side: SideName): Promise<Entry[] | null> => {
      if (!folder.present[side]) return [];
      const path = side === 'source' ? folder.sourcePath : folder.targetPath;
      if (this.fromBase(folder, side)) return entriesFromBase(await baseP, side, path);
      try {
        return await this.listSide(side, path);
      } catch (err) {
        if (folder.item === null) return this.rootListingFailed(side, err, await baseP);
        if (isFatal(classifyError(err))) throw err;
        // Never "everything in it was deleted": the folder is an error and is skipped.
        recordItemFailure(ctx, folder.item, 'folder', err);
        return null;
      }
    };
    // Both sides and the base at once: the listing is the cost of an unchanged run.
    const baseP = ctx.state.children(folder.key);
    const [s, t, b] = await Promise.all([listOne('source'), listOne('target'), baseP]);
    if (s === null || t === null) return null;
    if (folder.item === null) this.guardEmptyRoot({ source: s, target: t }, b);
    ctx.acct.count('foldersScanned');
    return { s, t, b };
  }

  /**
   * The side's change feed reported nothing in this folder and the folder was synced before: its
   * listing is what the base recorded.
   */
  private fromBase(folder: Folder, side: SideName): boolean {
    const quiet = this.mode.synthesize[side];
    if (!quiet || quiet.has(folder.key)) return false;
    if (folder.item === null) return true;
    const b = validBase(folder.item.base);
    return b !== null && b.kind === 'folder' && b.status === 'synced';
  }

  private async rootListingFailed(
    side: SideName,
    err: unknown,
    base: FileStateRecord[],
  ): Promise<Entry[]> {
    const c = classifyError(err);
    if (isFatal(c)) throw err;
    const tree = treeOf(this.ctx, side);
    const canCreate = this.origin !== side;
    if (c.code === ErrorCode.ITEM_NOT_FOUND && base.length === 0 && canCreate) {
      await tree.mkdir('', this.ctx.signal);
      this.ctx.acct.warn(`created the missing ${side} root folder`);
      return [];
    }
    throw new AppError(
      ErrorCode.LISTING_FAILED,
      `Listing the ${side} (${tree.label}) root failed: ${c.message}. Nothing was changed.`,
      { cause: err, action: 'fail_job' },
    );
  }

  /** An empty listing where the base is not is an error, never "everything was deleted". */
  private guardEmptyRoot(lists: Record<SideName, Entry[]>, base: FileStateRecord[]): void {
    if (this.ctx.options.confirmDeletes) return;
    // In a one-way run only the origin's listing can cause deletes.
    const guarded: SideName[] = this.origin ? [this.origin] : ['source', 'target'];
    for (const side of guarded) {
      if (lists[side].length > 0) continue;
      const known = base.filter((r) => r[side] !== null && r.status !== 'excluded').length;
      if (known === 0) continue;
      throw new AppError(
        ErrorCode.LISTING_FAILED,
        `The ${side} (${treeOf(this.ctx, side).label}) listing came back empty although ${known} ` +
          'synced items are known there; nothing was changed. If the content really was removed, ' +
          'run a full sync with confirm_deletes.',
        { action: 'fail_job', details: { side, known } },
      );
    }
  }

  // ───────────────────────────── walk ─────────────────────────────

  /**
   * Walks a folder: its listing and the decisions for its items happen inside one of
   * `listConcurrency` slots — a folder keeps its slot while the executor pushes back — so the walk
   * never runs ahead of the transfers; its sub-folders are walked after the slot is released.
   */
  private async walk(folder: Folder): Promise<Occupancy> {
    if (this.ctx.signal.aborted) return BOTH;
    const later: Later[] = [];
    const own = await this.listLimit(() => this.decideFolder(folder, later));
    if (own === null) return BOTH;
    const result = { ...own };
    for (const r of await Promise.all(later.map((f) => f()))) {
      result.source ||= r.source;
      result.target ||= r.target;
    }
    return result;
  }

  private async decideFolder(folder: Folder, later: Later[]): Promise<Occupancy | null> {
    const ctx = this.ctx;
    if (ctx.signal.aborted) return null;
    const listed = await this.read(folder);
    if (!listed) return null;
    const src = sortEntries(listed.s);
    const tgt = sortEntries(listed.t);
    const base = listed.b
      .map((r) => ({ k: lastSegment(r.pathKey), r }))
      .sort((a, b) => compareCodePoints(a.k, b.k));
    const result: Occupancy = { source: false, target: false };
    let i = 0;
    let j = 0;
    let m = 0;
    while (i < src.length || j < tgt.length || m < base.length) {
      if (ctx.signal.aborted) return null;
      let k: string | null = null;
      for (const c of [src[i]?.k, tgt[j]?.k, base[m]?.k])
        if (c !== undefined && (k === null || compareCodePoints(c, k) < 0)) k = c;
      const key = k!;
      const sDupes: Entry[] = [];
      const tDupes: Entry[] = [];
      const s = src[i]?.k === key ? src[i++]!.e : null;
      while (src[i]?.k === key) sDupes.push(src[i++]!.e);
      const t = tgt[j]?.k === key ? tgt[j++]!.e : null;
      while (tgt[j]?.k === key) tDupes.push(tgt[j++]!.e);
      let b: FileStateRecord | null = null;
      while (base[m]?.k === key) b = base[m++]!.r;
      const item = this.makeItem(folder, key, s, t, b);
      this.reportCollisions(item, sDupes, tDupes);
      const r = await this.visit(folder, item, later);
      result.source ||= r.source;
      result.target ||= r.target;
    }
    return result;
  }

  private makeItem(
    folder: Folder,
    key: string,
    s: Entry | null,
    t: Entry | null,
    b: FileStateRecord | null,
  ): Item {
    const name = s?.name ?? t?.name ?? (b ? lastName(b.path) : key);
    // Names never contain "/": plain concatenation (this runs for every path of every run).
    const under = (dir: string): string => (dir ? `${dir}/${name}` : name);
    return {
      key: folder.key ? `${folder.key}/${key}` : key,
      parentKey: folder.key,
      path: under(folder.path),
      sourcePath: s?.path ?? under(folder.sourcePath),
      targetPath: t?.path ?? under(folder.targetPath),
      source: s,
      target: t,
      base: b,
      depth: folder.depth + 1,
    };
  }

  private reportCollisions(item: Item, sDupes: Entry[], tDupes: Entry[]): void {
    const all = [
      ...sDupes.map((e) => ({ side: 'source', e })),
      ...tDupes.map((e) => ({ side: 'target', e })),
    ];
    if (all.length === 0) return;
    const kept = (side: string): string =>
      (side === 'source' ? item.source?.name : item.target?.name) ?? '';
    const msgs = all.map(
      ({ side, e }) =>
        `"${e.name}" on the ${side} differs from "${kept(side)}" only ${howNamesDiffer(e.name, kept(side))} and is not synced`,
    );
    item.collision = msgs.join('; ');
    all.forEach(({ e }, i) => {
      const path = joinPath(parentPath(item.path), e.name);
      this.ctx.acct.planned('error', path, e.kind, 'case collision');
      this.ctx.acct.itemError(path, ErrorCode.CASE_COLLISION, msgs[i]!);
    });
  }

  private kindOf(item: Item): EntryKind {
    return item.source?.kind ?? item.target?.kind ?? item.base!.kind;
  }

  /** Decides one path; folders to walk are pushed to `subfolders`. */
  private async visit(folder: Folder, item: Item, subfolders: Later[]): Promise<Occupancy> {
    const ctx = this.ctx;
    const { source: s, target: t, base: b } = item;
    const kind = this.kindOf(item);
    const here = occ(s !== null, t !== null);
    if (kind === 'file' || (s?.kind ?? t?.kind) === 'file') ctx.acct.count('filesScanned');

    const reason = ctx.filter.excluded(item.path, kind, [s, t]);
    if (reason) {
      ctx.acct.count('excluded');
      if (!s && !t) {
        if (b) this.forget(item);
        return NONE;
      }
      const r: FileStateRecord = {
        ...(b ?? errorRecord(item, kind, '', '')),
        path: item.path,
        parentKey: item.parentKey,
        kind: b?.kind ?? kind,
        status: 'excluded',
        lastError: reason,
        lastErrorCode: null,
        conflict: null,
      };
      this.putIfChanged(item, r, 'record');
      return here;
    }

    if (s && t && s.kind !== t.kind) return this.typeMismatch(folder, item, subfolders);
    if (kind === 'folder') return this.folderItem(folder, item, subfolders);
    return this.fileItem(folder, item);
  }

  // ───────────────────────────── files ─────────────────────────────

  private async fileItem(folder: Folder, item: Item): Promise<Occupancy> {
    const { source: s, target: t, base: b } = item;
    if (b?.kind === 'folder' && !(s?.kind === 'folder' || t?.kind === 'folder'))
      await this.forgetDescendants(item.key);
    if (this.manualConflictPending(item)) return BOTH;
    const d = decideFile(changesOf(s, t, b), this.dctx);
    switch (d.do) {
      case 'nothing': {
        if (this.settled(item) && !this.wantsMetadata()) return BOTH; // the common case: no copy
        const rec = applyCollision(item, {
          ...b!,
          path: item.path,
          parentKey: item.parentKey,
          kind: 'file',
          status: 'synced',
          lastError: null,
          lastErrorCode: null,
          conflict: null,
        });
        this.putIfChanged(item, rec, 'record');
        if (this.wantsMetadata())
          await this.exec.submit({ type: 'metadata', item: { ...item, base: rec } });
        return BOTH;
      }
      case 'forget':
        if (b) this.forget(item);
        return NONE;
      case 'untracked':
        if (b) this.forget(item);
        return occ(s !== null, t !== null);
      case 'copy': {
        const to = otherSide(d.from);
        if (this.nameRejected(item, to, 'file')) return occ(s !== null, t !== null);
        await this.exec.submit({
          type: 'copy',
          item,
          from: d.from,
          preserveDest: d.preserveDest,
          ensureParent: !folder.present[to],
        });
        return BOTH;
      }
      case 'delete':
        await this.exec.submit({
          type: 'delete',
          item,
          side: d.on,
          kind: 'file',
          preserve: d.preserve,
        });
        return onlyOn(d.on, d.preserve);
      case 'reconcile':
        await this.exec.submit({ type: 'reconcile', item });
        return BOTH;
    }
  }

  /** The row already says "synced, no error" for this path (nothing to write). */
  private settled(item: Item): boolean {
    const b = item.base!;
    return (
      b.status === 'synced' &&
      !item.collision &&
      b.path === item.path &&
      b.parentKey === item.parentKey &&
      b.kind === 'file' &&
      (b.lastError ?? null) === null &&
      (b.lastErrorCode ?? null) === null &&
      (b.conflict ?? null) === null
    );
  }

  /** An unresolved MANUAL conflict whose sides have not moved since: nothing to do. */
  private manualConflictPending(item: Item): boolean {
    const b = item.base;
    if (b?.status !== 'conflict' || this.ctx.options.conflictResolution !== 'MANUAL') return false;
    if (this.origin !== null) return false;
    const info = b.conflict as ConflictInfo | null;
    if (!info) return false;
    const same = (e: Entry | null, c: ConflictInfo['source']): boolean => {
      if (!e || !c) return e === null && c === null;
      if (e.kind !== c.kind) return false;
      return e.kind === 'folder' ? e.id === c.id : sameFile(e, c);
    };
    if (!same(item.source, info.source) || !same(item.target, info.target)) return false;
    this.ctx.acct.count('conflicts');
    return true;
  }

  // ───────────────────────────── folders ─────────────────────────────

  private child(
    folder: Folder,
    item: Item,
    present: Record<SideName, boolean>,
    full: boolean,
  ): Folder {
    return {
      key: item.key,
      path: item.path,
      sourcePath: item.sourcePath,
      targetPath: item.targetPath,
      present,
      depth: folder.depth + 1,
      full: folder.full || full,
      item,
    };
  }

  private async folderItem(folder: Folder, item: Item, subfolders: Later[]): Promise<Occupancy> {
    const { source: s, target: t, base: b } = item;
    const vb = validBase(b);
    const baseIsFolder = vb?.kind === 'folder';

    if (s && t) {
      if (this.manualConflictPending(item)) return BOTH;
      const rec = newRecord(item, 'folder', sideStateOf(s), sideStateOf(t), this.ctx.options.now());
      const keep = b ? { ...rec, lastSyncedAtMs: b.lastSyncedAtMs ?? null } : rec;
      this.putIfChanged(item, keep, baseIsFolder ? 'record' : 'adopt');
      if (this.wantsAcl())
        await this.exec.submit({ type: 'metadata', item: { ...item, base: keep } });
      const structural = !baseIsFolder;
      if (folder.full || structural || this.mode.dirty.has(item.key))
        subfolders.push(() =>
          this.walk(this.child(folder, item, { source: true, target: true }, structural)),
        );
      return BOTH;
    }
    if (!s && !t) {
      this.forget(item);
      await this.forgetDescendants(item.key);
      return NONE;
    }
    const x: SideName = s ? 'source' : 'target';
    const y = otherSide(x);
    const present = onlyOn(x);

    const createOnY = async (): Promise<Occupancy> => {
      if (this.nameRejected(item, y, 'folder')) return onlyOn(x);
      await this.exec.submit({ type: 'mkdir', item, side: y, record: true });
      subfolders.push(() => this.walk(this.child(folder, item, present, true)));
      return BOTH;
    };

    if (!baseIsFolder) {
      // New on x (or x changed a file into a folder while y deleted the file).
      if (this.origin === null || this.origin === x) return createOnY();
      if (b) this.forget(item);
      return onlyOn(x); // one-way destination-only folder: left alone
    }
    // The folder was synced and y no longer has it.
    if (this.origin === x) return createOnY(); // re-create on the destination
    const walked: Later = () =>
      this.walk(this.child(folder, item, present, true)).then(async (inner) => {
        if (inner[x]) {
          if (this.origin === null) {
            // Something in it changed on x: the change wins and the folder comes back on y.
            if (this.nameRejected(item, y, 'folder')) return onlyOn(x);
            await this.exec.submit({ type: 'mkdir', item, side: y, record: true });
            return BOTH;
          }
          this.forget(item); // one-way destination keeps unsynced content: left alone
          return onlyOn(x);
        }
        await this.exec.submit({ type: 'delete', item, side: x, kind: 'folder', preserve: false });
        return NONE;
      });
    subfolders.push(walked);
    return NONE;
  }

  // ───────────────────────────── file vs folder ─────────────────────────────

  private async typeMismatch(folder: Folder, item: Item, subfolders: Later[]): Promise<Occupancy> {
    const ctx = this.ctx;
    const s = item.source!;
    const t = item.target!;
    if (this.manualConflictPending(item)) return BOTH;
    let d: TypeDecision = decideTypeMismatch(s, t, item.base, this.dctx);
    if (d.do === 'folder_to_file' && d.needsCleanCheck) {
      const clean = await this.subtreeClean(d.folderSide, item);
      if (!clean) d = { do: 'conflict', fileSide: otherSide(d.folderSide) };
    }
    switch (d.do) {
      case 'replace_with_folder': {
        const f = d.fileSide;
        await this.exec.submit({
          type: 'replace_with_folder',
          item,
          side: f,
          preserve: d.preserve,
        });
        subfolders.push(() => this.walk(this.child(folder, item, onlyOn(otherSide(f)), true)));
        return BOTH;
      }
      case 'conflict': {
        if (ctx.options.conflictResolution === 'MANUAL') {
          ctx.acct.count('conflicts');
          const rec = conflictRecord(
            ctx,
            item,
            'file',
            'A file on one side and a folder on the other; waiting for an operator',
          );
          this.putIfChanged(item, rec, 'conflict');
          return BOTH;
        }
        await this.exec.submit({ type: 'type_conflict', item, fileSide: d.fileSide });
        subfolders.push(() =>
          this.walk(this.child(folder, item, onlyOn(otherSide(d.fileSide)), true)),
        );
        return BOTH;
      }
      case 'folder_to_file': {
        const F = d.folderSide;
        const f = otherSide(F);
        const walked: Later = () =>
          this.walk(this.child(folder, item, onlyOn(F), true)).then(async (inner) => {
            if (inner[F] && this.origin === null) {
              // Bidirectional: the folder was clean, so only excluded items or a race keep it.
              const msg =
                `The ${f} has a file where the ${F} has a folder that still holds unsynced items; ` +
                'move one of them';
              ctx.acct.planned('error', item.path, 'file', 'type conflict');
              ctx.acct.itemError(item.path, ErrorCode.NAME_CONFLICT, msg);
              this.putIfChanged(
                item,
                errorRecord(item, 'file', ErrorCode.NAME_CONFLICT, msg),
                null,
              );
              return BOTH;
            }
            if (!inner[F])
              await this.exec.submit({
                type: 'delete',
                item,
                side: F,
                kind: 'folder',
                preserve: false,
              });
            this.exec.defer({ type: 'folder_to_file', item, fileSide: f, moveAside: inner[F] });
            return BOTH;
          });
        subfolders.push(walked);
        return NONE;
      }
    }
  }

  /** True when nothing below the folder on `side` changed since the base. */
  private async subtreeClean(side: SideName, item: Item): Promise<boolean> {
    const ctx = this.ctx;
    const rows = await ctx.state.children(item.key);
    let entries: Entry[];
    try {
      entries = await this.listSide(side, pathOn(item, side));
    } catch {
      return false;
    }
    const byKey = new Map(rows.map((r) => [lastSegment(r.pathKey), r]));
    const seen = new Set<string>();
    for (const e of entries) {
      const k = nameKey(e.name);
      const childPath = joinPath(item.path, e.name);
      if (ctx.filter.excluded(childPath, e.kind, [e])) continue;
      seen.add(k);
      const r = validBase(byKey.get(k) ?? null);
      if (!r || r.kind !== e.kind) return false;
      if (e.kind === 'file' && !sameFile(e, r[side]!)) return false;
      if (e.kind === 'folder') {
        const childItem: Item = {
          ...item,
          key: `${item.key}/${k}`,
          path: childPath,
          sourcePath: joinPath(item.sourcePath, e.name),
          targetPath: joinPath(item.targetPath, e.name),
        };
        if (!(await this.subtreeClean(side, childItem))) return false;
      }
    }
    for (const [k, r] of byKey)
      if (validBase(r) && r.status !== 'excluded' && !seen.has(k)) return false;
    return true;
  }

  // ───────────────────────────── helpers ─────────────────────────────

  private wantsAcl(): boolean {
    return aclEnabled(this.ctx);
  }

  private wantsMetadata(): boolean {
    return aclEnabled(this.ctx) || metadataEnabled(this.ctx);
  }

  /** The other side cannot hold the name: a per-item error, never a silent skip. */
  private nameRejected(item: Item, to: SideName, kind: EntryKind): boolean {
    const from = entryOn(item, otherSide(to));
    const name = from?.name ?? lastName(item.path);
    const problem = treeOf(this.ctx, to).capabilities.nameProblem(
      name,
      parentPath(pathOn(item, to)),
    );
    if (!problem) return false;
    const msg = `"${name}" cannot be created on the ${to} (${treeOf(this.ctx, to).label}): ${problem}`;
    this.ctx.acct.planned('error', item.path, kind, 'invalid name');
    this.ctx.acct.itemError(item.path, ErrorCode.NAME_INVALID, msg);
    this.putIfChanged(item, errorRecord(item, kind, ErrorCode.NAME_INVALID, msg), null);
    return true;
  }

  private putIfChanged(
    item: Item,
    rec: FileStateRecord,
    action: 'record' | 'adopt' | 'conflict' | null,
  ): void {
    if (recordsEqual(item.base, rec)) return;
    this.ctx.writer.put(rec);
    if (action) this.ctx.acct.planned(action, item.path, rec.kind);
  }

  private forget(item: Item): void {
    if (!item.base) return;
    this.ctx.writer.remove(item.key);
    this.ctx.acct.planned('record', item.path, item.base.kind, 'forget');
  }

  private async forgetDescendants(key: string): Promise<void> {
    for await (const batch of this.ctx.state.descendants(key, this.ctx.options.batchSize))
      for (const r of batch) this.ctx.writer.remove(r.pathKey);
  }
}

/** A side's listing as the base recorded it (its feed reported no change there). */
function entriesFromBase(rows: FileStateRecord[], side: SideName, folderPath: string): Entry[] {
  const out: Entry[] = [];
  for (const r of rows) {
    const st = validBase(r)?.[side];
    if (!st || r.status === 'excluded') continue;
    const name = lastName(r.path);
    const e: Entry = {
      name,
      path: folderPath ? `${folderPath}/${name}` : name,
      kind: r.kind,
      size: st.size,
      mtimeMs: st.mtimeMs,
    };
    if (st.id !== undefined) e.id = st.id;
    if (st.version !== undefined) e.version = st.version;
    if (st.hash !== undefined) e.hash = st.hash;
    out.push(e);
  }
  return out;
}

function lastName(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? path : path.slice(i + 1);
}

/** How two names with the same key differ, for people: NFC and NFD look the same on screen. */
function howNamesDiffer(a: string, b: string): string {
  if (a.normalize('NFC') === b.normalize('NFC'))
    return 'in Unicode normalisation (NFC/NFD: they look the same)';
  if (a.toLowerCase() === b.toLowerCase()) return 'in case';
  return 'in case and Unicode normalisation';
}

/** Why a listed name cannot be a single path component, or null. */
function impossibleName(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return 'is not a name';
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\0')) return 'contains NUL';
  return null;
}
