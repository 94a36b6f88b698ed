import type { Config } from '@scaidrive/core';
import { PermissionService } from './acl.js';
import { AclService } from './acl-entries.js';
import { createChunkStore } from './chunk-store/index.js';
import type { ChunkStore } from './chunk-store/types.js';
import { latestSeq, parseCursor, readChanges, type ChangeRecord } from './change-feed.js';
import type { DbClient } from './db.js';
import { FileService } from './files.js';
import { adoptOrphanChunks, collectGarbage, type GcResult } from './gc.js';
import { PrincipalService } from './principals.js';
import { ShareService } from './shares.js';
import { ShareTree, type ShareTreeOptions } from './share-tree.js';
import { TreeService, type TrashExpiryResult } from './tree.js';
import { ValidationError } from '@scaidrive/core';

export interface DriveOptions {
  /**
   * Where the rows live: `createSqlClient(pool)` of @scaidrive/db (the fast path) or a
   * `PrismaClient`. `prisma` is the older name of the same option.
   */
  db?: DbClient;
  prisma?: DbClient;
  chunkStore: ChunkStore;
  /** CHUNK_SIZE_BYTES (default 4 MiB). */
  chunkSizeBytes?: number;
  /** VERSION_RETENTION (default 50). */
  versionRetention?: number;
  /** GC grace period for unreferenced chunks (default 1 hour). */
  gcGraceMs?: number;
  /** TRASH_RETENTION_DAYS: trashed items older than this are purged by `expireTrash` (0 = never; default 30). */
  trashRetentionDays?: number;
  /** Chunk writes in flight per upload (default 4). */
  writeConcurrency?: number;
  /** Chunk fsync+rename in flight per upload (default 4). */
  sealConcurrency?: number;
}

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;
/** The ScaiDrive tenant default `trash_retention_days`. */
export const DEFAULT_TRASH_RETENTION_DAYS = 30;

/** The share store, wired: every service over one database client and one chunk store. */
export class Drive {
  readonly db: DbClient;
  readonly chunkStore: ChunkStore;
  readonly permissions: PermissionService;
  readonly principals: PrincipalService;
  readonly shares: ShareService;
  readonly tree: TreeService;
  readonly files: FileService;
  readonly acl: AclService;
  readonly gcGraceMs: number;
  readonly trashRetentionDays: number;

  constructor(options: DriveOptions) {
    const db = options.db ?? options.prisma;
    if (!db) throw new TypeError('Drive needs a database client (db)');
    this.db = db;
    this.chunkStore = options.chunkStore;
    this.gcGraceMs = options.gcGraceMs ?? DEFAULT_GC_GRACE_MS;
    this.trashRetentionDays = options.trashRetentionDays ?? DEFAULT_TRASH_RETENTION_DAYS;
    this.permissions = new PermissionService(db);
    this.principals = new PrincipalService(db);
    this.shares = new ShareService(db);
    this.tree = new TreeService(db, {
      chunkStore: options.chunkStore,
      gcGraceMs: this.gcGraceMs,
    });
    this.files = new FileService(db, {
      chunkStore: options.chunkStore,
      chunkSizeBytes: options.chunkSizeBytes ?? 4 * 1024 * 1024,
      versionRetention: options.versionRetention ?? 50,
      gcGraceMs: this.gcGraceMs,
      writeConcurrency: options.writeConcurrency,
      sealConcurrency: options.sealConcurrency,
    });
    this.acl = new AclService(db);
  }

  /** A Drive configured from the environment (BLOB_DRIVER, CHUNK_SIZE_BYTES, VERSION_RETENTION…). */
  static fromConfig(
    db: DbClient,
    config: Config,
    overrides: Partial<Omit<DriveOptions, 'db' | 'prisma'>> = {},
  ): Drive {
    return new Drive({
      db,
      chunkStore: overrides.chunkStore ?? createChunkStore(config),
      chunkSizeBytes: config.CHUNK_SIZE_BYTES,
      versionRetention: config.VERSION_RETENTION,
      gcGraceMs: config.CHUNK_GC_GRACE_SECONDS * 1000,
      trashRetentionDays: config.TRASH_RETENTION_DAYS,
      ...overrides,
    });
  }

  /** The sync Target for a connector: the share below `rootPath`. */
  shareTree(options: ShareTreeOptions): ShareTree {
    return new ShareTree(
      { db: this.db, tree: this.tree, files: this.files, acl: this.acl },
      options,
    );
  }

  /** Changes of a share after `cursor` (`''` = from the start), oldest first. */
  async changes(
    tenantId: string,
    shareId: string,
    cursor: string,
    limit = 1000,
  ): Promise<{ changes: ChangeRecord[]; cursor: string; hasMore: boolean }> {
    const seq = parseCursor(cursor);
    if (seq === null)
      throw new ValidationError('Invalid cursor', [{ field: 'cursor', reason: 'malformed' }]);
    const rows = await readChanges(this.db, {
      tenantId,
      shareId,
      cursor: seq,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      changes: page,
      cursor: String(last ? last.seq : seq),
      hasMore: rows.length > limit,
    };
  }

  async latestCursor(tenantId: string, shareId: string): Promise<string> {
    return String(await latestSeq(this.db, tenantId, shareId));
  }

  /** Deletes unreferenced chunks past the grace period (run periodically by a worker). */
  async collectGarbage(
    options: { signal?: AbortSignal; batchSize?: number } = {},
  ): Promise<GcResult> {
    return collectGarbage(this.db, this.chunkStore, { graceMs: this.gcGraceMs, ...options });
  }

  /**
   * Deletes permanently what has been in the trash longer than the retention (nothing when it is
   * 0). Run by the workers' maintenance job before `collectGarbage`, which then frees the chunks.
   */
  async expireTrash(
    options: { signal?: AbortSignal; batchSize?: number; now?: Date } = {},
  ): Promise<TrashExpiryResult> {
    if (this.trashRetentionDays === 0) return { itemsPurged: 0, bytesFreed: 0 };
    const now = options.now ?? new Date();
    return this.tree.expireTrash({
      deletedBefore: new Date(now.getTime() - this.trashRetentionDays * 24 * 3600 * 1000),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Registers stored chunks the database does not know, so GC can take them (audit/repair). */
  async adoptOrphanChunks(
    options: { tenantId?: string; signal?: AbortSignal } = {},
  ): Promise<number> {
    return adoptOrphanChunks(this.db, this.chunkStore, options);
  }
}

/**
 * The sync Target in one call (for the worker's composition root):
 * `createShareTree({ db, chunkStore, tenantId, shareId, rootPath, origin, actorUserId })`.
 */
export function createShareTree(options: DriveOptions & ShareTreeOptions): ShareTree {
  return new Drive(options).shareTree(options);
}
