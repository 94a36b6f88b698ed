import type { Readable } from 'node:stream';

/**
 * The ports of the sync engine. The engine knows nothing of SMB, Graph, Prisma or Express: a
 * connector implements `FileTree` for its source, the share store implements it (plus the
 * target-only capabilities) for ScaiDrive, and `packages/db` implements `StateStore`.
 *
 * Conventions every implementation follows:
 * - Paths are relative to the connector root (SMB `base_path`, SharePoint library folder, ScaiDrive
 *   `target_path`), `/`-separated, no leading or trailing slash; `''` is the root itself.
 * - Names are returned as the side spells them (case preserved); the engine compares them by
 *   `nameKey()` from `@scaidrive/core` (NFC + lower case).
 * - Failures are `AppError`s from `@scaidrive/core` with stable codes: `ItemError` for one item
 *   (ITEM_NOT_FOUND, ITEM_LOCKED, ITEM_ACCESS_DENIED, NAME_INVALID, PRECONDITION_FAILED, ...),
 *   `UnreachableError` / `AuthFailedError` / `ThrottledError` for the whole side.
 * - Every long operation takes an `AbortSignal` and stops promptly (CancelledError) when it aborts.
 *
 * Change log (the sync engine owns this file; every change is additive for `FileTree` implementers):
 * - `TreeCapabilities.keepsHistory` (optional): the side keeps overwritten and deleted content
 *   recoverable (versions, trash). Without it the engine keeps a conflict copy before it overwrites
 *   or deletes content on that side that is not also in the base.
 * - `Entry.mtimeMs` is an integer (implementations floor sub-millisecond times), and `write()` gives
 *   the file exactly `options.mtimeMs`, so the post-write entry compares equal on the next run.
 * - `write()` fails with ItemError ITEM_NOT_FOUND when the parent folder does not exist; the engine
 *   creates parents with `mkdir()` first. A failing `content` stream (the engine aborts it when the
 *   source changed during the read) must fail the write and leave nothing behind.
 * - `delete()` of a folder that is not empty fails with ItemError PRECONDITION_FAILED (the engine
 *   checks with `list()` first and never deletes content it did not plan to delete).
 * - `StateStore`: `getByTargetId`, `listByStatus`, and `count(statuses, kind)` were added; the store
 *   is implemented only by this package (memory) and `packages/db` (`createFileStateStore`).
 */

/** Relative path inside the connector root. */
export type RelPath = string;

export type EntryKind = 'file' | 'folder';

export interface Entry {
  /** Last path component, as the side spells it. */
  name: string;
  path: RelPath;
  kind: EntryKind;
  /** Bytes; 0 for folders. */
  size: number;
  /** Content modification time, integer milliseconds since the epoch. */
  mtimeMs: number;
  /** Stable identity on this side (SMB file id, Graph item id, drive node id), when it has one. */
  id?: string;
  /**
   * Opaque change token that changes whenever the content changes (Graph cTag/eTag, SMB change
   * time, drive version number). Used for `ifMatch` and as part of the fingerprint.
   */
  version?: string;
  /** Content hash known without reading: `sha256:<hex>` or `quickxor:<base64>`. */
  hash?: string;
  hidden?: boolean;
  system?: boolean;
  readOnly?: boolean;
  /**
   * Only on the entry `write()` returns: the side acknowledged every byte sent, then stored its
   * own rendition (SharePoint's property promotion of Office files), so size and hash describe
   * that rendition. The engine takes it as the base instead of failing the copy.
   */
  rewritten?: boolean;
}

export interface ReadResult {
  stream: Readable;
  /** The entry as it was when the read was opened (the engine re-checks it after the copy). */
  entry: Entry;
}

export interface WriteOptions {
  /** Exact byte count of `content` (a mismatch fails the write and leaves nothing behind). */
  size: number;
  /** Modification time to give the written file. */
  mtimeMs: number;
  /**
   * Optimistic concurrency: `null` = the path must not exist; a string = the existing entry must
   * still have this `version`; `undefined` = unconditional. A failed condition is an `ItemError`
   * with code PRECONDITION_FAILED and nothing is written.
   */
  ifMatch?: string | null;
  /** SHA-256 (hex) the engine computed while streaming, when known in advance (e.g. a re-copy). */
  expectedSha256?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  kind: EntryKind;
  /** Same semantics as `WriteOptions.ifMatch` (string only). */
  ifMatch?: string;
  signal?: AbortSignal;
}

export interface TreeCapabilities {
  /** Offers `changes()` — an incremental change feed. */
  changeFeed: boolean;
  /** Offers `readAcl()`. */
  readAcl: boolean;
  /** Offers `writeAcl()`. */
  writeAcl: boolean;
  /** Offers `listVersions()` / `readVersion()`. */
  versions: boolean;
  /** Offers `addVersion()` (importing history). */
  importVersions: boolean;
  /** Offers `readMetadata()` / `writeMetadata()`. */
  metadata: boolean;
  /** Can `move()` an item atomically (otherwise the engine copies + deletes). */
  move: boolean;
  /** Hash algorithm of `Entry.hash`, if any. */
  hashAlgorithm?: 'sha256' | 'quickxor';
  /**
   * Overwritten and deleted content stays recoverable on this side (file versions and trash: the
   * ScaiDrive share store, a SharePoint library with versioning). When false or absent the engine
   * keeps a conflict copy (`name (conflict … from <side>).ext`) before it overwrites or deletes
   * content on this side that is not also recorded in the base, so no one's bytes are discarded.
   */
  keepsHistory?: boolean;
  /** Names this side cannot hold: returns the reason, or null when the name is fine. */
  nameProblem(name: string, parentPath: RelPath): string | null;
}

/** One change from a change feed. */
export type Change =
  | { type: 'upsert'; entry: Entry }
  | { type: 'delete'; id?: string; path?: RelPath; kind?: EntryKind };

export interface ChangePage {
  changes: Change[];
  /** Cursor to resume after this page (persist only after the changes are applied). */
  cursor: string;
  /** True when this page ends the feed for now. */
  done: boolean;
}

/** Thrown by `changes()` when the cursor is no longer valid (Graph 410): the engine walks everything. */
export class CursorExpiredError extends Error {
  constructor(message = 'Change cursor expired; a full enumeration is required') {
    super(message);
    this.name = 'CursorExpiredError';
  }
}

export type Permission = 'READ' | 'WRITE' | 'DELETE' | 'CREATE' | 'SHARE' | 'MANAGE_PERMISSIONS';

/** A principal as the source names it. */
export interface SourcePrincipal {
  /** `sid` (SMB), `entra` (Entra object id), `everyone`. */
  kind: 'sid' | 'entra' | 'everyone';
  /** SID `S-1-5-…`, Entra object id, or `everyone`. */
  id: string;
  /** Resolved display form (`DOMAIN\name`, UPN), when known. */
  name?: string;
  type?: 'user' | 'group';
}

export interface SourceAce {
  principal: SourcePrincipal;
  type: 'allow' | 'deny';
  permissions: Permission[];
  /** Inherited from the parent (as opposed to set explicitly on this item). */
  inherited: boolean;
  /** Applies to children (container/object inherit flags, or SharePoint default). */
  inheritToChildren: boolean;
}

export interface AclSnapshot {
  /** Whether the item inherits its parent's permissions. */
  inheritFromParent: boolean;
  entries: SourceAce[];
}

/** ACL entries in ScaiDrive terms (after identity mapping). */
export interface TargetAce {
  principalType: 'user' | 'group' | 'everyone';
  principalId: string;
  aceType: 'allow' | 'deny';
  permissions: Permission[];
  inheritToChildren: boolean;
}

export interface VersionInfo {
  /** Side-specific version id (e.g. Graph version id "3.0"). */
  id: string;
  size: number;
  mtimeMs: number;
  /** True for the current version. */
  current: boolean;
}

/** Both sources and targets are file trees. */
export interface FileTree {
  /** Short label for logs and plan output: `smb`, `sharepoint`, `scaidrive`, `local`. */
  readonly label: string;
  readonly capabilities: TreeCapabilities;

  /** Direct children of a folder. A missing folder is an ItemError ITEM_NOT_FOUND. */
  list(path: RelPath, signal?: AbortSignal): AsyncIterable<Entry>;
  /** The entry at `path`, or null when nothing is there. */
  stat(path: RelPath, signal?: AbortSignal): Promise<Entry | null>;
  /** Streams a file's content (no whole file in memory). */
  read(path: RelPath, signal?: AbortSignal): Promise<ReadResult>;
  /**
   * Atomically creates or replaces a file: readers see the old content or the new, never a part.
   * Returns the entry as it is after the write (stat it), which becomes the sync base.
   */
  write(path: RelPath, content: Readable, options: WriteOptions): Promise<Entry>;
  /** Creates a folder and any missing parents; returns the (possibly existing) folder. */
  mkdir(path: RelPath, signal?: AbortSignal): Promise<Entry>;
  /** Deletes a file or an empty folder (ScaiDrive: soft delete to trash). Missing = success. */
  delete(path: RelPath, options: DeleteOptions): Promise<void>;
  /** Renames/moves an item (when `capabilities.move`). Returns the entry at its new path. */
  move?(
    from: RelPath,
    to: RelPath,
    options: { ifMatch?: string; signal?: AbortSignal },
  ): Promise<Entry>;
  /** Sets a file's modification time without rewriting it. */
  setMtime?(path: RelPath, mtimeMs: number, signal?: AbortSignal): Promise<Entry>;

  /** Change feed (when `capabilities.changeFeed`): pages of changes after `cursor`. */
  changes?(cursor: string, signal?: AbortSignal): AsyncIterable<ChangePage>;
  /** The cursor for "now", to start a feed after a full walk. */
  latestCursor?(signal?: AbortSignal): Promise<string>;

  readAcl?(path: RelPath, signal?: AbortSignal): Promise<AclSnapshot | null>;
  /** Replaces the ACL entries this connector owns on the item (others are left alone). */
  writeAcl?(
    path: RelPath,
    acl: { inheritFromParent: boolean; entries: TargetAce[] },
  ): Promise<void>;

  listVersions?(path: RelPath, signal?: AbortSignal): Promise<VersionInfo[]>;
  readVersion?(path: RelPath, versionId: string, signal?: AbortSignal): Promise<ReadResult>;
  /** Appends a historical version below the current one (idempotent per `origin`). */
  addVersion?(
    path: RelPath,
    content: Readable,
    options: { size: number; mtimeMs: number; origin: string; signal?: AbortSignal },
  ): Promise<void>;

  readMetadata?(path: RelPath, signal?: AbortSignal): Promise<Record<string, unknown> | null>;
  writeMetadata?(
    path: RelPath,
    metadata: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<void>;

  /** Releases connections. */
  close(): Promise<void>;
}

/** Fingerprint of one side of a path, as recorded in the base. */
export interface SideState {
  id?: string;
  version?: string;
  size: number;
  mtimeMs: number;
  hash?: string;
}

export type FileStateStatus = 'synced' | 'pending' | 'conflict' | 'error' | 'excluded' | 'deleted';

/** One row of the base: what both sides looked like right after the last sync of this path. */
export interface FileStateRecord {
  path: RelPath;
  /** `pathKey(path)` */
  pathKey: string;
  /** Key of the parent folder (`''` at the root). */
  parentKey: string;
  kind: EntryKind;
  status: FileStateStatus;
  source: SideState | null;
  target: SideState | null;
  aclHash?: string | null;
  metadataHash?: string | null;
  lastSyncedAtMs?: number | null;
  lastError?: string | null;
  lastErrorCode?: string | null;
  /** Details of an unresolved conflict (both sides' fingerprints). */
  conflict?: unknown;
}

/**
 * The base, read and written in batches (implemented over `file_states` in packages/db as
 * `createFileStateStore`, and in memory as `createMemoryStateStore` for tests). One store instance
 * is scoped to one connector.
 */
export interface StateStore {
  /** Rows whose parent is `parentKey`, ordered by pathKey (code-point order). */
  children(parentKey: string): Promise<FileStateRecord[]>;
  get(pathKey: string): Promise<FileStateRecord | null>;
  getBySourceId(sourceId: string): Promise<FileStateRecord | null>;
  getByTargetId(targetId: string): Promise<FileStateRecord | null>;
  /** Inserts or replaces rows by pathKey, in one transaction. */
  upsert(records: FileStateRecord[]): Promise<void>;
  /** Removes rows (and, for folders, nothing else: callers remove descendants explicitly). */
  remove(pathKeys: string[]): Promise<void>;
  /** Rows whose pathKey starts with `prefixKey + '/'` (all rows for `''`), in batches, ordered by pathKey. */
  descendants(prefixKey: string, batchSize: number): AsyncIterable<FileStateRecord[]>;
  /** Rows with one of the statuses, in batches, ordered by pathKey. */
  listByStatus(statuses: FileStateStatus[], batchSize: number): AsyncIterable<FileStateRecord[]>;
  /** Number of rows with the given statuses (all when omitted), optionally of one kind. */
  count(statuses?: FileStateStatus[], kind?: EntryKind): Promise<number>;
}
