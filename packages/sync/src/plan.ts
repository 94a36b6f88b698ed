import type { SideName } from './fingerprint.js';
import type { Entry, EntryKind, FileStateRecord, RelPath, SourcePrincipal } from './ports.js';

/** One path as the diff sees it: both sides now, and the base. */
export interface Item {
  /** `pathKey` of the item. */
  key: string;
  parentKey: string;
  /** Display path (the source's spelling when the source has it). */
  path: RelPath;
  /** Where the item is, or would be created, on each side. */
  sourcePath: RelPath;
  targetPath: RelPath;
  source: Entry | null;
  target: Entry | null;
  base: FileStateRecord | null;
  /** Set when another source (or target) name in the folder differs from this one only in case. */
  collision?: string;
  /** Folder depth (root children are 1). */
  depth: number;
}

export type PlanAction =
  | 'copy_to_target'
  | 'copy_to_source'
  | 'delete_target'
  | 'delete_source'
  | 'mkdir_target'
  | 'mkdir_source'
  | 'replace_with_folder'
  | 'reconcile'
  | 'type_conflict'
  | 'folder_to_file'
  | 'conflict'
  | 'adopt'
  | 'error'
  | 'record'
  | 'metadata';

/** A unit of work for the executor. */
export type Op =
  /** Create the folder on `side` (and record the folder when it exists on both). */
  | { type: 'mkdir'; item: Item; side: SideName; record: boolean }
  /** Copy a file from `from` to the other side. */
  | {
      type: 'copy';
      item: Item;
      from: SideName;
      /** Keep a conflict copy of the destination's current content first. */
      preserveDest: boolean;
      /** The destination folder may not exist yet: create it first. */
      ensureParent: boolean;
    }
  /** `side` holds a file where the other side has a folder: replace the file by a folder. */
  | { type: 'replace_with_folder'; item: Item; side: SideName; preserve: boolean }
  /** Files on both sides, both changed or new: compare content, then adopt or resolve. */
  | { type: 'reconcile'; item: Item }
  /** File on `fileSide`, changed folder on the other: the file moves to a conflict name. */
  | { type: 'type_conflict'; item: Item; fileSide: SideName }
  /** Delete on `side` (run after every copy, deepest first). `preserve`: keep a conflict copy. */
  | { type: 'delete'; item: Item; side: SideName; kind: EntryKind; preserve: boolean }
  /**
   * After the deletes: the folder on the other side of `fileSide` gives way to the file. When it
   * still holds items (a one-way destination's unsynced content) it is moved to a conflict name.
   */
  | { type: 'folder_to_file'; item: Item; fileSide: SideName; moveAside: boolean }
  /** ACL / metadata only (item unchanged). */
  | { type: 'metadata'; item: Item };

export function planActionOf(op: Op): PlanAction {
  switch (op.type) {
    case 'mkdir':
      return op.side === 'source' ? 'mkdir_source' : 'mkdir_target';
    case 'copy':
      return op.from === 'source' ? 'copy_to_target' : 'copy_to_source';
    case 'delete':
      return op.side === 'source' ? 'delete_source' : 'delete_target';
    default:
      return op.type;
  }
}

export type SyncPhase = 'walk' | 'deletes' | 'deferred' | 'commit';

export type SyncEvent =
  | { type: 'start'; mode: 'full' | 'incremental'; reason?: string }
  | { type: 'phase'; phase: SyncPhase }
  | { type: 'plan'; action: PlanAction; path: RelPath; kind: EntryKind; detail?: string }
  | { type: 'done'; action: PlanAction; path: RelPath; bytes?: number; detail?: string }
  | { type: 'item_error'; path: RelPath; code: string; message: string }
  | { type: 'retry'; path: RelPath; code: string; attempt: number; waitMs: number }
  | { type: 'conflict'; path: RelPath; resolution: string; detail?: string }
  | { type: 'warning'; path?: RelPath; message: string };

/** Counters of one run (the worker flushes them to the job row). */
export interface SyncProgress {
  filesScanned: number;
  filesSynced: number;
  bytesTransferred: number;
  errorCount: number;
  conflicts: number;
  deletes: number;
  foldersScanned: number;
  foldersCreated: number;
  adopted: number;
  excluded: number;
}

export interface ItemErrorSample {
  path: RelPath;
  code: string;
  message: string;
}

export interface SyncSummary {
  status: 'completed' | 'failed' | 'cancelled';
  mode: 'full' | 'incremental';
  /** Why a full walk was chosen (`full_sync`, `no_cursor`, `no_change_feed`, `cursor_expired`). */
  modeReason?: string;
  /** Sides whose change feed the run used (the other side, if any, was walked). */
  feedsUsed?: ('source' | 'target')[];
  startedAtMs: number;
  finishedAtMs: number;
  durationMs: number;
  progress: SyncProgress;
  /** Planned actions by kind. */
  plan: Partial<Record<PlanAction, number>>;
  /** First item errors (the rest are counted in `progress.errorCount`). */
  errors: ItemErrorSample[];
  warnings: string[];
  /** Source principals without an identity mapping (first 200). */
  unmappedPrincipals: SourcePrincipal[];
  /** How many distinct source principals had no identity mapping (all of them, not only the 200). */
  unmappedPrincipalCount: number;
  /** Change-feed cursors to persist when the run completed. */
  cursors: { source?: string; target?: string };
  /** Fatal error of a failed run. */
  error?: { code: string; message: string; action: string; details?: unknown };
  /** Delete safety numbers when the run stopped for them. */
  deleteSafety?: { wouldDelete: number; managedFiles: number; limit: number };
  /** One line for operators. */
  message: string;
}
