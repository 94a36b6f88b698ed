import type { FilterSet } from './filters.js';
import type { SideName } from './fingerprint.js';
import type { AclSnapshot, EntryKind, RelPath, SourcePrincipal, TargetAce } from './ports.js';

/** Neutral direction names; the worker maps `smb_to_scaidrive` etc. onto them. */
export type SyncDirection = 'both' | 'source_to_target' | 'target_to_source';

/** `SERVER_WINS` = the target (ScaiDrive) wins; `CLIENT_WINS` = the source wins. */
export type ConflictStrategy =
  'LAST_WRITER_WINS' | 'KEEP_BOTH' | 'SERVER_WINS' | 'CLIENT_WINS' | 'MANUAL';

export interface MappedAcl {
  entries: TargetAce[];
  /** Source principals without an identity mapping (reported per job, never guessed). */
  unmapped: SourcePrincipal[];
}

/** Maps a source ACL to ScaiDrive entries (identity mappings are the worker's business). */
export type AclMapper = (
  snapshot: AclSnapshot,
  item: { path: RelPath; kind: EntryKind },
) => MappedAcl | Promise<MappedAcl>;

export interface SyncOptions {
  direction: SyncDirection;
  conflictResolution: ConflictStrategy;
  filters?: { include?: FilterSet; exclude?: FilterSet };
  /** Default true. */
  syncHidden?: boolean;
  /** Default false. */
  syncSystem?: boolean;
  /** Walk everything even when change feeds are available, and re-verify. */
  fullSync?: boolean;
  /** The operator confirmed deletes above the safety threshold (and an empty root listing). */
  confirmDeletes?: boolean;
  /** Concurrent file operations (TRANSFER_CONCURRENCY). Default 4. */
  transferConcurrency?: number;
  /** Concurrent folder listings. Default 8. */
  listConcurrency?: number;
  /** File-state rows per committed batch. Default 500. */
  batchSize?: number;
  /** Longest time a finished item waits for its state to be committed. Default 1000 ms. */
  commitIntervalMs?: number;
  /** Minimum interval between `onProgress` calls. Default 1000 ms. */
  progressIntervalMs?: number;
  /** Attempts per item for retryable errors. Default 3. */
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts. Default 200 ms. */
  retryBaseMs?: number;
  /** Longest `retry_after` honoured inside a run; longer waits fail the run. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Delete safety: more than max(minFiles, ratio × managed files) stops the run. */
  deleteSafety?: { minFiles?: number; ratio?: number };
  /** Change-feed cursors from the previous successful run. */
  cursors?: { source?: string | null; target?: string | null };
  /** Mirror source ACLs onto the target (needs `mapAcl` and the capabilities). */
  syncPermissions?: boolean;
  mapAcl?: AclMapper;
  /** Copy metadata source → target (SharePoint list-item fields). */
  syncMetadata?: boolean;
  /** Import the source's version history when a file is first copied to the target. */
  syncVersions?: boolean;
  /** Clock (tests). */
  now?: () => number;
}

export interface ResolvedOptions extends Required<
  Omit<SyncOptions, 'filters' | 'cursors' | 'mapAcl' | 'deleteSafety' | 'now'>
> {
  filters: { include?: FilterSet; exclude?: FilterSet };
  cursors: { source?: string | null; target?: string | null };
  mapAcl: AclMapper | undefined;
  deleteSafety: { minFiles: number; ratio: number };
  now: () => number;
}

export function resolveOptions(o: SyncOptions): ResolvedOptions {
  const pos = (v: number | undefined, d: number): number =>
    v !== undefined && Number.isFinite(v) && v > 0 ? Math.floor(v) : d;
  return {
    direction: o.direction,
    conflictResolution: o.conflictResolution,
    filters: o.filters ?? {},
    syncHidden: o.syncHidden ?? true,
    syncSystem: o.syncSystem ?? false,
    fullSync: o.fullSync ?? false,
    confirmDeletes: o.confirmDeletes ?? false,
    transferConcurrency: pos(o.transferConcurrency, 4),
    listConcurrency: pos(o.listConcurrency, 8),
    batchSize: pos(o.batchSize, 500),
    commitIntervalMs: pos(o.commitIntervalMs, 1000),
    progressIntervalMs: o.progressIntervalMs ?? 1000,
    maxAttempts: pos(o.maxAttempts, 3),
    retryBaseMs: o.retryBaseMs ?? 200,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 120_000,
    deleteSafety: {
      minFiles: o.deleteSafety?.minFiles ?? 50,
      ratio: o.deleteSafety?.ratio ?? 0.5,
    },
    cursors: o.cursors ?? {},
    syncPermissions: o.syncPermissions ?? false,
    mapAcl: o.mapAcl,
    syncMetadata: o.syncMetadata ?? false,
    syncVersions: o.syncVersions ?? false,
    now: o.now ?? Date.now,
  };
}

/** The side whose state wins in a one-way run, or null for bidirectional. */
export function originOf(direction: SyncDirection): SideName | null {
  if (direction === 'source_to_target') return 'source';
  if (direction === 'target_to_source') return 'target';
  return null;
}
