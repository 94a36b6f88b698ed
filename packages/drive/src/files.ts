import { Readable } from 'node:stream';
import { nameKey, ValidationError } from '@scaidrive/core';
import type { ChunkStore } from './chunk-store/types.js';
import { checkQuota, commitShareChange, type Actor, type ChangeInput } from './change-feed.js';
import { readContent, type ByteRange } from './content/read.js';
import { ingest } from './content/ingest.js';
import { inTx, isUniqueViolation, type Db, type DbClient } from './db.js';
import {
  ItemNotFoundError,
  NameConflictError,
  PreconditionFailedError,
  QuotaExceededError,
} from './errors.js';
import { checkName, checkPath, toSharePath } from './names.js';
import { getNode, loadShare, nodeColumns, toNode, type NodeRecord } from './nodes.js';
import { lockFolderById, lockFolderByPath, lockNodeForUpdate, walkPath } from './tree-locks.js';
import { batchingToucher, finishChunkRefs, sortedDeltas, type ChunkToucher } from './chunk-refs.js';
import { refsAndShareChange, writeIntoSlot } from './write-commit.js';
import type { FolderRef } from './tree.js';
import {
  chunkDeltas,
  findVersion,
  insertMoreChunkRows,
  insertVersion,
  writeFileVersion,
  listVersions,
  pruneVersions,
  releaseVersions,
  type StoredContent,
  type VersionRecord,
} from './versions.js';

export interface FileServiceOptions {
  chunkStore: ChunkStore;
  /** Chunk size of new versions (CHUNK_SIZE_BYTES). */
  chunkSizeBytes: number;
  /** Versions kept per file (VERSION_RETENTION). */
  versionRetention: number;
  /** GC grace period; also the upload lease (chunks are re-touched every quarter of it). */
  gcGraceMs: number;
  /** Chunk writes in flight per upload (default 4). */
  writeConcurrency?: number;
  /** Chunk fsync+rename in flight per upload (default 4; more helps when fsync is slow). */
  sealConcurrency?: number;
}

export interface WriteFileOptions {
  /** Exact byte count, when known (more or fewer bytes fail the write; a quota check runs first). */
  size?: number;
  /** Content modification time (default now). */
  modifiedAt?: Date;
  /**
   * Optimistic concurrency: `null` = the file must not exist; a string = its current version
   * number must still be this; `undefined` = unconditional (a new version when it exists).
   */
  ifMatch?: string | null;
  /** SHA-256 (hex) the content must have. */
  expectedSha256?: string;
  mimeType?: string | null;
  /** Create missing parent folders (default true). */
  createParents?: boolean;
  signal?: AbortSignal;
}

export interface OpenedContent {
  stream: Readable;
  node: NodeRecord;
  version: VersionRecord;
  /** The byte range served (whole content when no range was asked). */
  range: ByteRange;
}

/** File content: streaming writes as new versions, reads (ranged, any kept version), history. */
export class FileService {
  /** Chunk touches of concurrent uploads share statements. */
  private readonly touch: ChunkToucher;

  constructor(
    private readonly db: DbClient,
    private readonly options: FileServiceOptions,
  ) {
    this.touch = batchingToucher(db);
  }

  /**
   * Writes `content` as the new content of file `name` in `parent` (creating the file, and missing
   * parents when the folder is given by path). The bytes are streamed into chunks first; then one
   * transaction checks `ifMatch`, creates the version, drops versions beyond retention and appends
   * the change: readers see the old content or the new, never a part, and a failure at any point
   * leaves no version (the chunks written become garbage). Two concurrent unconditional writes of
   * one path both succeed as consecutive versions.
   */
  async writeFile(
    tenantId: string,
    shareId: string,
    parent: FolderRef,
    name: string,
    content: AsyncIterable<Uint8Array | string>,
    actor: Actor,
    options: WriteFileOptions = {},
  ): Promise<{ node: NodeRecord; version: VersionRecord; created: boolean; path: string }> {
    const clean = checkName(name);
    const parentParts = 'path' in parent ? checkPath(parent.path) : null;
    if (parentParts) checkPath(toSharePath([...parentParts, clean]));
    if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < 0))
      throw new ValidationError('Invalid size', [{ field: 'size', reason: 'must be ≥ 0' }]);

    // Cheap checks before streaming a lot: quota room, ifMatch. Content announced to fit in one
    // chunk skips them — the commit checks both again anyway, and for small content the lookups
    // cost more than streaming it (a failed write leaves only a chunk for GC).
    let room: number | undefined;
    const small = options.size !== undefined && options.size <= this.options.chunkSizeBytes;
    if (!small) {
      const share = await loadShare(this.db, tenantId, shareId);
      if (share.quotaBytes !== null) {
        room = Math.max(0, share.quotaBytes - share.usedBytes);
        if (options.size !== undefined && options.size > room)
          throw new QuotaExceededError(
            `Share quota exceeded: ${options.size} bytes do not fit in the ${room} bytes left`,
            { details: { quota_bytes: share.quotaBytes, room_bytes: room } },
          );
      }
      if (options.ifMatch !== undefined) {
        const existing = parentParts
          ? await this.peek(share, [...parentParts, clean])
          : await this.peekIn(tenantId, (parent as { folderId: string }).folderId, clean);
        checkIfMatch(existing, options.ifMatch);
      }
    }

    const stored = await ingest(this.touch, this.options.chunkStore, tenantId, content, {
      chunkSize: this.options.chunkSizeBytes,
      expectedSize: options.size,
      expectedSha256: options.expectedSha256,
      maxBytes: room,
      leaseRefreshMs: Math.max(1000, this.options.gcGraceMs / 4),
      concurrency: this.options.writeConcurrency,
      sealConcurrency: this.options.sealConcurrency,
      signal: options.signal,
    });
    options.signal?.throwIfAborted();

    // Commit. A unique violation means another writer created the same name between our lookup
    // and insert: run the commit again, which then finds that file and adds a version to it.
    for (let attempt = 0; ; attempt++) {
      try {
        return await inTx(this.db, (tx) =>
          this.commitWrite(
            tx,
            tenantId,
            shareId,
            parent,
            parentParts,
            clean,
            stored,
            actor,
            options,
          ),
        );
      } catch (err) {
        if (attempt < 3 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  /**
   * The write's transaction: see write-commit.ts — two statements when the folders exist and
   * nothing is to be pruned; the general steps otherwise (missing folders are created, a folder
   * given by id is locked by its ancestry, stale chunk rows are verified, old versions pruned).
   */
  private async commitWrite(
    tx: Db,
    tenantId: string,
    shareId: string,
    parent: FolderRef,
    parentParts: string[] | null,
    name: string,
    stored: StoredContent,
    actor: Actor,
    options: WriteFileOptions,
  ): Promise<{ node: NodeRecord; version: VersionRecord; created: boolean; path: string }> {
    const changes: ChangeInput[] = [];
    const key = nameKey(name);
    const modifiedAt = options.modifiedAt ?? new Date();
    let written: {
      shareId: string;
      /** Folder path for the change row (as given, like every change of a path write). */
      parts: string[];
      spelled: string[];
      created: boolean;
      node: NodeRecord;
      version: VersionRecord;
    };
    const slot = parentParts
      ? await writeIntoSlot(tx, {
          tenantId,
          shareId,
          folderKeys: parentParts.map(nameKey),
          name,
          key,
          ifMatch: options.ifMatch,
          content: stored,
          modifiedAt,
          mimeType: options.mimeType ?? null,
          actorUserId: actor.userId ?? null,
        })
      : ({ kind: 'no-slot' } as const);
    if (slot.kind === 'refused') {
      // The same checks as in SQL, to report which one failed.
      const { item } = slot;
      if (item && item.kind !== 'file') throw new NameConflictError(item.name);
      checkIfMatch(item, options.ifMatch);
      throw new Error('write refused without a reason'); // unreachable: the checks agree
    }
    if (slot.kind === 'written') {
      await insertMoreChunkRows(tx, slot.version.id, tenantId, stored);
      written = { ...slot, parts: parentParts! };
    } else {
      // A folder is missing (created here), moved meanwhile, or given by id: the general path.
      const share = await loadShare(tx, tenantId, shareId);
      const folder = parentParts
        ? await lockFolderByPath(tx, share, parentParts, {
            create: options.createParents ?? true,
            actor,
            changes,
          })
        : await lockFolderById(tx, share, (parent as { folderId: string }).folderId);
      const existingRows = await tx.$queryRawUnsafe<NodeRecord[]>(
        `SELECT ${nodeColumns()} FROM nodes
          WHERE share_id = $1 AND parent_id = $2 AND live_name_key = $3 FOR UPDATE`,
        share.id,
        folder.folder.id,
        key,
      );
      const existing = existingRows[0] ? toNode(existingRows[0]) : null;
      if (existing && existing.kind !== 'file') throw new NameConflictError(existing.name);
      checkIfMatch(existing, options.ifMatch);
      const { node, version } = await writeFileVersion(tx, {
        tenantId,
        existingId: existing?.id ?? null,
        create: { shareId: share.id, parentId: folder.folder.id, name, nameKey: key },
        versionNumber: (existing?.version ?? 0) + 1,
        content: stored,
        modifiedAt,
        mimeType: options.mimeType ?? null,
        actorUserId: actor.userId ?? null,
      });
      written = {
        shareId: share.id,
        parts: folder.parts,
        spelled: folder.chain.slice(1).map((n) => n.name),
        created: existing === null,
        node,
        version,
      };
    }
    const { node, version, created } = written;
    changes.push({
      resourceType: 'file',
      resourceId: node.id,
      changeType: created ? 'created' : 'updated',
      newPath: toSharePath([...written.parts, node.name]),
      version: version.versionNumber,
      versionId: version.id,
      metadata: { size: stored.size, mime_type: node.mimeType },
    });
    const { chunkStore, gcGraceMs, versionRetention } = this.options;
    const deltas = sortedDeltas(chunkDeltas(stored));
    const keepOthers = Math.max(0, versionRetention - 1);
    const step = await refsAndShareChange(tx, {
      tenantId,
      shareId: written.shareId,
      deltas,
      graceMs: gcGraceMs,
      nodeId: node.id,
      versionId: version.id,
      keepOthers,
      bytesDelta: stored.size,
      actor,
      changes,
    });
    if (step.committed) {
      checkQuota(stored.size, step.committed);
    } else {
      await finishChunkRefs(tx, chunkStore, tenantId, deltas, step.present, step.done);
      const freed =
        step.prior > keepOthers
          ? await pruneVersions(tx, chunkStore, gcGraceMs, {
              tenantId,
              nodeId: node.id,
              currentVersionId: version.id,
              keep: versionRetention,
            })
          : 0;
      await commitShareChange(tx, {
        tenantId,
        shareId: written.shareId,
        bytesDelta: stored.size - freed,
        actor,
        changes,
      });
    }
    return { node, version, created, path: toSharePath([...written.spelled, node.name]) };
  }

  /**
   * Imports a historical version of an existing file below its current version (idempotent per
   * `origin`, e.g. `sharepoint:<version id>`). The current version keeps its number; the older
   * versions are renumbered so that history stays ordered by modification time (numbers below the
   * current one; they may reach 0 or below when history is imported after the current version).
   */
  async addVersion(
    tenantId: string,
    nodeId: string,
    content: AsyncIterable<Uint8Array | string>,
    actor: Actor,
    options: { origin: string; size?: number; modifiedAt: Date; signal?: AbortSignal },
  ): Promise<{ version: VersionRecord; added: boolean }> {
    const node = await getNode(this.db, tenantId, nodeId);
    if (node.kind !== 'file' || node.deletedAt) throw new ItemNotFoundError('File');
    const existing = await this.versionByOrigin(tenantId, nodeId, options.origin);
    if (existing) return { version: existing, added: false };
    const share = await loadShare(this.db, tenantId, node.shareId);
    const stored = await ingest(this.touch, this.options.chunkStore, tenantId, content, {
      chunkSize: this.options.chunkSizeBytes,
      expectedSize: options.size,
      maxBytes:
        share.quotaBytes === null ? undefined : Math.max(0, share.quotaBytes - share.usedBytes),
      leaseRefreshMs: Math.max(1000, this.options.gcGraceMs / 4),
      concurrency: this.options.writeConcurrency,
      sealConcurrency: this.options.sealConcurrency,
      signal: options.signal,
    });
    return inTx(this.db, async (tx) => {
      const { node: locked, parts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      const again = await this.versionByOrigin(tenantId, nodeId, options.origin, tx);
      if (again) return { version: again, added: false };
      // Renumber: all non-current versions plus the new one, ordered by modification time, take
      // the numbers just below the current one.
      const others = await tx.$queryRawUnsafe<{ id: string; modifiedAt: Date; n: number }[]>(
        `SELECT id, modified_at AS "modifiedAt", version_number AS n FROM file_versions
          WHERE node_id = $1 AND id IS DISTINCT FROM $2`,
        nodeId,
        locked.currentVersionId,
      );
      const newId_ = await insertVersion(tx, this.options.chunkStore, this.options.gcGraceMs, {
        tenantId,
        nodeId,
        versionNumber: -2_000_000_000,
        content: stored,
        modifiedAt: options.modifiedAt,
        createdBy: actor.userId ?? null,
        origin: options.origin,
      });
      const ordered = [
        ...others.map((o) => ({ id: o.id, t: o.modifiedAt.getTime(), n: o.n })),
        { id: newId_, t: options.modifiedAt.getTime(), n: Number.MAX_SAFE_INTEGER },
      ].sort((a, b) => a.t - b.t || a.n - b.n);
      const top = locked.currentVersionId ? locked.version - 1 : locked.version;
      const ids = ordered.map((o) => o.id);
      const numbers = ordered.map((_, i) => top - (ordered.length - 1 - i));
      // Two steps so the unique (node_id, version_number) never sees a transient duplicate.
      await tx.$executeRawUnsafe(
        `UPDATE file_versions SET version_number = -1000000000 - version_number
          WHERE id = ANY($1::text[]) AND version_number > -1000000000`,
        ids.filter((id) => id !== newId_),
      );
      await tx.$executeRawUnsafe(
        `UPDATE file_versions f SET version_number = v.n
           FROM unnest($1::text[], $2::int[]) AS v(id, n) WHERE f.id = v.id`,
        ids,
        numbers,
      );
      const freed = await pruneVersions(tx, this.options.chunkStore, this.options.gcGraceMs, {
        tenantId,
        nodeId,
        currentVersionId: locked.currentVersionId,
        keep: this.options.versionRetention,
      });
      const version = await findVersion(tx, tenantId, { versionId: newId_ });
      await commitShareChange(tx, {
        tenantId,
        shareId: locked.shareId,
        bytesDelta: stored.size - freed,
        actor,
        changes: [
          {
            resourceType: 'file',
            resourceId: nodeId,
            changeType: 'updated',
            newPath: toSharePath(parts),
            version: locked.version,
            versionId: locked.currentVersionId,
            metadata: { size: locked.size, mime_type: locked.mimeType },
          },
        ],
      });
      // Pruned right away when it falls outside the retention: nothing to return but the record.
      return {
        version: version ?? {
          id: newId_,
          tenantId,
          nodeId,
          versionNumber: numbers[ids.indexOf(newId_)]!,
          size: stored.size,
          sha256: stored.sha256,
          chunkSize: stored.chunkSize,
          modifiedAt: options.modifiedAt,
          createdBy: actor.userId ?? null,
          createdAt: new Date(),
          origin: options.origin,
        },
        added: true,
      };
    });
  }

  /**
   * Opens a file's content for reading: the current version or `versionNumber`, whole or `range`
   * (end exclusive, clamped to the size). The version is fixed when this returns.
   */
  /**
   * The file and the version a read would serve (the current one or `versionNumber`), without
   * opening anything: lets callers answer Range requests before streaming.
   */
  async head(
    tenantId: string,
    nodeId: string,
    options: { versionNumber?: number; allowTrashed?: boolean } = {},
  ): Promise<{ node: NodeRecord; version: VersionRecord }> {
    const node = await getNode(this.db, tenantId, nodeId);
    if (node.kind !== 'file' || (node.deletedAt && !options.allowTrashed))
      throw new ItemNotFoundError('File');
    const version =
      options.versionNumber !== undefined
        ? await findVersion(this.db, tenantId, { nodeId, versionNumber: options.versionNumber })
        : node.currentVersionId
          ? await findVersion(this.db, tenantId, { versionId: node.currentVersionId })
          : null;
    if (version) return { node, version };
    if (options.versionNumber !== undefined) throw new ItemNotFoundError('Version');
    // A file row without content (not produced by writeFile, but be total): empty content.
    return {
      node,
      version: {
        id: '',
        tenantId,
        nodeId,
        versionNumber: 0,
        size: 0,
        sha256: EMPTY_SHA256,
        chunkSize: this.options.chunkSizeBytes,
        modifiedAt: node.modifiedAt,
        createdBy: null,
        createdAt: node.createdAt,
        origin: null,
      },
    };
  }

  /**
   * Opens a file's content for reading: the current version or `versionNumber`, whole or `range`
   * (end exclusive, clamped to the size). The version is fixed when this returns.
   */
  async open(
    tenantId: string,
    nodeId: string,
    options: { versionNumber?: number; range?: ByteRange; allowTrashed?: boolean } = {},
  ): Promise<OpenedContent> {
    const { node, version } = await this.head(tenantId, nodeId, options);
    const start = Math.max(0, Math.min(options.range?.start ?? 0, version.size));
    const end = Math.max(start, Math.min(options.range?.end ?? version.size, version.size));
    const stream = version.id
      ? readContent(this.db, this.options.chunkStore, tenantId, version, { start, end })
      : emptyStream();
    return { stream, node, version, range: { start, end } };
  }

  async versions(
    tenantId: string,
    nodeId: string,
    page: { limit?: number; offset?: number } = {},
  ): Promise<{ versions: VersionRecord[]; total: number }> {
    const node = await getNode(this.db, tenantId, nodeId);
    if (node.kind !== 'file') throw new ItemNotFoundError('File');
    return listVersions(this.db, tenantId, nodeId, page);
  }

  /**
   * Makes an older version current again by committing it as a new version (same chunks, no
   * bytes copied); the versions in between are kept (facts §3.10).
   */
  async restoreVersion(
    tenantId: string,
    nodeId: string,
    versionNumber: number,
    actor: Actor,
  ): Promise<{ node: NodeRecord; version: VersionRecord }> {
    return inTx(this.db, async (tx) => {
      const { node, parts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      if (node.kind !== 'file') throw new ItemNotFoundError('File');
      const old = await findVersion(tx, tenantId, { nodeId, versionNumber });
      if (!old) throw new ItemNotFoundError('Version');
      const chunks = await tx.$queryRawUnsafe<{ hash: string; size: number }[]>(
        `SELECT hash, size FROM version_chunks WHERE version_id = $1 ORDER BY idx`,
        old.id,
      );
      const stored: StoredContent = {
        size: old.size,
        sha256: old.sha256,
        chunkSize: old.chunkSize,
        chunks,
      };
      const number = node.version + 1;
      const versionId = await insertVersion(tx, this.options.chunkStore, this.options.gcGraceMs, {
        tenantId,
        nodeId,
        versionNumber: number,
        content: stored,
        modifiedAt: old.modifiedAt,
        createdBy: actor.userId ?? null,
      });
      const rows = await tx.$queryRawUnsafe<NodeRecord[]>(
        `UPDATE nodes SET size = $2::bigint, sha256 = $3, version = $4, current_version_id = $5,
                modified_at = $6::timestamptz, revision = revision + 1, modified_by = $7,
                updated_at = now()
          WHERE id = $1 RETURNING ${nodeColumns()}`,
        nodeId,
        old.size,
        old.sha256,
        number,
        versionId,
        old.modifiedAt,
        actor.userId ?? null,
      );
      const freed = await pruneVersions(tx, this.options.chunkStore, this.options.gcGraceMs, {
        tenantId,
        nodeId,
        currentVersionId: versionId,
        keep: this.options.versionRetention,
      });
      await commitShareChange(tx, {
        tenantId,
        shareId: node.shareId,
        bytesDelta: old.size - freed,
        actor,
        changes: [
          {
            resourceType: 'file',
            resourceId: nodeId,
            changeType: 'updated',
            newPath: toSharePath(parts),
            version: number,
            versionId,
            metadata: { size: old.size, mime_type: node.mimeType },
          },
        ],
      });
      return {
        node: toNode(rows[0]!),
        version: (await findVersion(tx, tenantId, { versionId }))!,
      };
    });
  }

  /** Deletes one non-current version (its unshared chunks become garbage). */
  async deleteVersion(
    tenantId: string,
    nodeId: string,
    versionNumber: number,
    actor: Actor,
  ): Promise<void> {
    await inTx(this.db, async (tx) => {
      const { node, parts } = await lockNodeForUpdate(tx, tenantId, nodeId);
      const v = await findVersion(tx, tenantId, { nodeId, versionNumber });
      if (!v) throw new ItemNotFoundError('Version');
      if (v.id === node.currentVersionId)
        throw new PreconditionFailedError('The current version cannot be deleted');
      const freed = await releaseVersions(
        tx,
        this.options.chunkStore,
        this.options.gcGraceMs,
        tenantId,
        [v.id],
      );
      await commitShareChange(tx, {
        tenantId,
        shareId: node.shareId,
        bytesDelta: -freed,
        actor,
        changes: [
          {
            resourceType: 'file',
            resourceId: nodeId,
            changeType: 'metadata_changed',
            newPath: toSharePath(parts),
            version: node.version,
          },
        ],
      });
    });
  }

  private async versionByOrigin(
    tenantId: string,
    nodeId: string,
    origin: string,
    db: Db = this.db,
  ): Promise<VersionRecord | null> {
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(
      `SELECT id FROM file_versions WHERE node_id = $1 AND origin = $2 AND tenant_id = $3`,
      nodeId,
      origin,
      tenantId,
    );
    return rows[0] ? findVersion(db, tenantId, { versionId: rows[0].id }) : null;
  }

  private async peek(
    share: Awaited<ReturnType<typeof loadShare>>,
    parts: string[],
  ): Promise<NodeRecord | null> {
    const chain = await walkPath(this.db, share, parts.map(nameKey));
    return chain.length === parts.length + 1 ? chain[chain.length - 1]! : null;
  }

  private async peekIn(
    tenantId: string,
    folderId: string,
    name: string,
  ): Promise<NodeRecord | null> {
    const rows = await this.db.$queryRawUnsafe<NodeRecord[]>(
      `SELECT ${nodeColumns()} FROM nodes WHERE parent_id = $1 AND tenant_id = $2 AND live_name_key = $3`,
      folderId,
      tenantId,
      nameKey(name),
    );
    return rows[0] ? toNode(rows[0]) : null;
  }
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function checkIfMatch(
  node: Pick<NodeRecord, 'name' | 'kind' | 'version'> | null,
  ifMatch: string | null | undefined,
): void {
  if (ifMatch === undefined) return;
  if (ifMatch === null) {
    if (node) throw new PreconditionFailedError(`"${node.name}" already exists`);
    return;
  }
  if (!node) throw new PreconditionFailedError('The file no longer exists');
  if (node.kind !== 'file' || String(node.version) !== ifMatch)
    throw new PreconditionFailedError(
      `The file changed meanwhile (version ${node.version}, expected ${ifMatch})`,
    );
}

function emptyStream(): Readable {
  return Readable.from([], { objectMode: false });
}
