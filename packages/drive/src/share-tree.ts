import type { Readable } from 'node:stream';
import {
  CancelledError,
  ItemError,
  ErrorCode,
  MAX_PATH_LENGTH,
  driveNameProblem,
  joinPath,
  nameKey,
  splitPath,
} from '@scaidrive/core';
import {
  CursorExpiredError,
  type AclSnapshot,
  type Change,
  type ChangePage,
  type DeleteOptions,
  type Entry,
  type FileTree,
  type ReadResult,
  type RelPath,
  type TargetAce,
  type TreeCapabilities,
  type VersionInfo,
  type WriteOptions,
} from '@scaidrive/sync';
import type { AclService } from './acl-entries.js';
import { latestSeq, parseCursor, readChanges, type Actor } from './change-feed.js';
import type { DbClient } from './db.js';
import { ItemNotFoundError, PreconditionFailedError } from './errors.js';
import type { FileService } from './files.js';
import { checkPath, relativeTo, toSharePath } from './names.js';
import { findNode, loadShare, pathOf, type NodeRecord } from './nodes.js';
import { permissionsToBits } from './permissions.js';
import type { TreeService } from './tree.js';
import { walkPath } from './tree-locks.js';
import { findVersion, listVersions } from './versions.js';

export interface ShareTreeDeps {
  db: DbClient;
  tree: TreeService;
  files: FileService;
  acl: AclService;
}

export interface ShareTreeOptions {
  tenantId: string;
  shareId: string;
  /** The connector's `target_path` in the share (`/` or `''` = the whole share). */
  rootPath: string;
  /** `connector:<cnn_id>`: recorded on every change, filtered out of `changes()`. */
  origin: string;
  /** The user changes are attributed to (e.g. the connector's creator), if any. */
  actorUserId?: string | null;
  /** Changes per page of `changes()` (default 500). */
  pageSize?: number;
}

/**
 * A ScaiDrive share (below `rootPath`) as the sync engine's `FileTree`. Paths are relative to the
 * root; writes stream into chunks and commit one new version per write; deletes go to the trash;
 * the change feed is the share's change_log without this connector's own changes.
 */
export class ShareTree implements FileTree {
  readonly label = 'scaidrive';
  readonly capabilities: TreeCapabilities;
  private readonly rootParts: string[];
  private readonly actor: Actor;

  constructor(
    private readonly deps: ShareTreeDeps,
    private readonly options: ShareTreeOptions,
  ) {
    this.rootParts = checkPath(options.rootPath);
    this.actor = { userId: options.actorUserId ?? null, origin: options.origin };
    const rootLength = [...toSharePath(this.rootParts)].length;
    this.capabilities = {
      changeFeed: true,
      readAcl: false,
      writeAcl: true,
      versions: true,
      importVersions: true,
      metadata: true,
      move: true,
      // Overwritten content stays as older versions, deleted items go to the trash.
      keepsHistory: true,
      hashAlgorithm: 'sha256',
      nameProblem: (name: string, parentPath: RelPath): string | null => {
        const problem = driveNameProblem(name);
        if (problem) return problem;
        const full = rootLength + [...joinPath(parentPath, name)].length + 1;
        return full > MAX_PATH_LENGTH ? `path is longer than ${MAX_PATH_LENGTH} characters` : null;
      },
    };
  }

  private full(path: RelPath): string[] {
    return [...this.rootParts, ...checkPath(path)];
  }

  private async node(path: RelPath): Promise<NodeRecord | null> {
    return (await this.locate(path))?.node ?? null;
  }

  /** The live node at `path` and its path as the store spells it (case preserved). */
  private async locate(path: RelPath): Promise<{ node: NodeRecord; path: RelPath } | null> {
    const parts = this.full(path);
    const share = await loadShare(this.deps.db, this.options.tenantId, this.options.shareId);
    const chain = await walkPath(this.deps.db, share, parts.map(nameKey));
    if (chain.length !== parts.length + 1) return null;
    const spelled = chain
      .slice(this.rootParts.length + 1)
      .map((n) => n.name)
      .join('/');
    return { node: chain[chain.length - 1]!, path: spelled };
  }

  /** Entry of a node with its root-relative path as the store spells it. */
  private async entryOf(node: NodeRecord): Promise<Entry> {
    const rel = relativeTo(toSharePath(this.rootParts), await pathOf(this.deps.db, node.id));
    return this.entry(node, rel ?? '');
  }

  private entry(node: NodeRecord, path: RelPath): Entry {
    const e: Entry = {
      name: node.parentId === null ? '' : node.name,
      path: splitPath(path).join('/'),
      kind: node.kind,
      size: node.kind === 'file' ? node.size : 0,
      mtimeMs: node.modifiedAt.getTime(),
      id: node.id,
    };
    if (node.kind === 'file') {
      e.version = String(node.version);
      if (node.sha256) e.hash = `sha256:${node.sha256}`;
    }
    return e;
  }

  async *list(path: RelPath, signal?: AbortSignal): AsyncIterable<Entry> {
    const found = await this.locate(path);
    if (!found || found.node.kind !== 'folder')
      throw new ItemNotFoundError(`Folder "${path || '/'}"`);
    const children = this.deps.tree.iterateChildren(this.options.tenantId, found.node.id);
    for await (const child of children) {
      if (signal?.aborted) throw new CancelledError();
      yield this.entry(child, joinPath(found.path, child.name));
    }
  }

  async stat(path: RelPath): Promise<Entry | null> {
    const found = await this.locate(path);
    return found ? this.entry(found.node, found.path) : null;
  }

  async read(path: RelPath, signal?: AbortSignal): Promise<ReadResult> {
    signal?.throwIfAborted();
    const found = await this.locate(path);
    if (!found || found.node.kind !== 'file') throw new ItemNotFoundError(`File "${path}"`);
    const opened = await this.deps.files.open(this.options.tenantId, found.node.id);
    if (signal)
      signal.addEventListener('abort', () => opened.stream.destroy(new CancelledError()), {
        once: true,
      });
    return {
      stream: opened.stream,
      entry: this.entryOfVersion(opened.node, opened.version, found.path),
    };
  }

  private entryOfVersion(
    node: NodeRecord,
    version: { versionNumber: number; size: number; sha256: string; modifiedAt: Date },
    path: RelPath,
  ): Entry {
    return {
      ...this.entry(node, path),
      size: version.size,
      mtimeMs: version.modifiedAt.getTime(),
      version: String(version.versionNumber),
      hash: `sha256:${version.sha256}`,
    };
  }

  async write(path: RelPath, content: Readable, options: WriteOptions): Promise<Entry> {
    const parts = this.full(path);
    const name = parts.pop();
    if (!name) throw new ItemError(ErrorCode.NAME_INVALID, 'Cannot write to the root folder');
    const { node, path: written } = await this.deps.files.writeFile(
      this.options.tenantId,
      this.options.shareId,
      { path: toSharePath(parts) },
      name,
      content,
      this.actor,
      {
        size: options.size,
        modifiedAt: new Date(options.mtimeMs),
        ifMatch: options.ifMatch,
        expectedSha256: options.expectedSha256,
        signal: options.signal,
      },
    );
    return this.entry(node, relativeTo(toSharePath(this.rootParts), written) ?? '');
  }

  async mkdir(path: RelPath, signal?: AbortSignal): Promise<Entry> {
    signal?.throwIfAborted();
    const folder = await this.deps.tree.mkdirp(
      this.options.tenantId,
      this.options.shareId,
      toSharePath(this.full(path)),
      this.actor,
    );
    return this.entryOf(folder);
  }

  async delete(path: RelPath, options: DeleteOptions): Promise<void> {
    options.signal?.throwIfAborted();
    const node = await this.node(path);
    if (!node) return;
    if (node.parentId === null)
      throw new ItemError(ErrorCode.ITEM_ACCESS_DENIED, 'Cannot delete the root');
    if (node.kind !== options.kind)
      throw new PreconditionFailedError(`"${path}" is a ${node.kind} now, not a ${options.kind}`);
    try {
      await this.deps.tree.trash(this.options.tenantId, node.id, this.actor, {
        ifVersion: options.ifMatch,
      });
    } catch (err) {
      // Gone meanwhile: the goal is reached.
      if (err instanceof ItemNotFoundError && options.ifMatch === undefined) return;
      throw err;
    }
  }

  async move(
    from: RelPath,
    to: RelPath,
    options: { ifMatch?: string; signal?: AbortSignal },
  ): Promise<Entry> {
    options.signal?.throwIfAborted();
    const node = await this.node(from);
    if (!node) throw new ItemNotFoundError(`"${from}"`);
    const toParts = this.full(to);
    const name = toParts.pop();
    if (!name) throw new ItemError(ErrorCode.NAME_INVALID, 'Cannot move onto the root folder');
    const parent = await this.deps.tree.mkdirp(
      this.options.tenantId,
      this.options.shareId,
      toSharePath(toParts),
      this.actor,
    );
    const moved = await this.deps.tree.move(
      this.options.tenantId,
      node.id,
      { parentId: parent.id, name },
      this.actor,
      { ifVersion: options.ifMatch },
    );
    return this.entryOf(moved);
  }

  async setMtime(path: RelPath, mtimeMs: number, signal?: AbortSignal): Promise<Entry> {
    signal?.throwIfAborted();
    const node = await this.node(path);
    if (!node) throw new ItemNotFoundError(`"${path}"`);
    const updated = await this.deps.tree.setModifiedAt(
      this.options.tenantId,
      node.id,
      new Date(mtimeMs),
      this.actor,
    );
    return this.entryOf(updated);
  }

  // ── change feed ──

  async latestCursor(): Promise<string> {
    return String(await latestSeq(this.deps.db, this.options.tenantId, this.options.shareId));
  }

  async *changes(cursor: string, signal?: AbortSignal): AsyncIterable<ChangePage> {
    let seq = parseCursor(cursor);
    if (seq === null) throw new CursorExpiredError('Malformed change cursor');
    const pageSize = this.options.pageSize ?? 500;
    const root = toSharePath(this.rootParts);
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const rows = await readChanges(this.deps.db, {
        tenantId: this.options.tenantId,
        shareId: this.options.shareId,
        cursor: seq,
        limit: pageSize,
      });
      const changes: Change[] = [];
      for (const row of rows) {
        seq = row.seq;
        if (row.origin === this.options.origin || row.resourceType === 'share') continue;
        const kind = row.resourceType;
        const oldRel = row.oldPath ? relativeTo(root, row.oldPath) : null;
        let current: { rel: string; node: NodeRecord } | null = null;
        if (row.changeType !== 'deleted') {
          const node = await findNode(this.deps.db, this.options.tenantId, row.resourceId);
          if (node && node.deletedAt === null) {
            const rel = relativeTo(root, await pathOf(this.deps.db, node.id));
            if (rel !== null && rel !== '') current = { rel, node };
          }
        }
        if (oldRel && (!current || nameKeyPath(oldRel) !== nameKeyPath(current.rel)))
          changes.push({ type: 'delete', id: row.resourceId, path: oldRel, kind });
        if (current) changes.push({ type: 'upsert', entry: this.entry(current.node, current.rel) });
      }
      const done = rows.length < pageSize;
      yield { changes, cursor: String(seq), done };
      if (done) return;
    }
  }

  // ── ACL, versions, metadata ──

  async readAcl(): Promise<AclSnapshot | null> {
    return null;
  }

  async writeAcl(
    path: RelPath,
    acl: { inheritFromParent: boolean; entries: TargetAce[] },
  ): Promise<void> {
    const node = await this.node(path);
    if (!node) throw new ItemNotFoundError(`"${path}"`);
    await this.deps.acl.replaceOriginEntries(
      this.options.tenantId,
      node.id,
      this.options.origin,
      {
        inheritFromParent: acl.inheritFromParent,
        entries: acl.entries.map((e) => ({
          principalType: e.principalType,
          principalId: e.principalType === 'everyone' ? 'everyone' : e.principalId,
          aceType: e.aceType,
          permissions: permissionsToBits(e.permissions),
          inheritToChildren: e.inheritToChildren,
        })),
      },
      this.actor,
    );
  }

  async listVersions(path: RelPath): Promise<VersionInfo[]> {
    const node = await this.fileNode(path);
    const { versions } = await listVersions(this.deps.db, this.options.tenantId, node.id, {
      limit: 100_000,
    });
    return versions.map((v) => ({
      id: String(v.versionNumber),
      size: v.size,
      mtimeMs: v.modifiedAt.getTime(),
      current: v.id === node.currentVersionId,
    }));
  }

  async readVersion(path: RelPath, versionId: string, signal?: AbortSignal): Promise<ReadResult> {
    signal?.throwIfAborted();
    const node = await this.fileNode(path);
    if (!/^-?\d+$/.test(versionId)) throw new ItemNotFoundError(`Version ${versionId}`);
    const version = await findVersion(this.deps.db, this.options.tenantId, {
      nodeId: node.id,
      versionNumber: Number(versionId),
    });
    if (!version) throw new ItemNotFoundError(`Version ${versionId}`);
    const opened = await this.deps.files.open(this.options.tenantId, node.id, {
      versionNumber: version.versionNumber,
    });
    return { stream: opened.stream, entry: this.entryOfVersion(node, version, path) };
  }

  async addVersion(
    path: RelPath,
    content: Readable,
    options: { size: number; mtimeMs: number; origin: string; signal?: AbortSignal },
  ): Promise<void> {
    const node = await this.fileNode(path);
    await this.deps.files.addVersion(this.options.tenantId, node.id, content, this.actor, {
      origin: options.origin,
      size: options.size,
      modifiedAt: new Date(options.mtimeMs),
      signal: options.signal,
    });
  }

  async readMetadata(path: RelPath): Promise<Record<string, unknown> | null> {
    const node = await this.node(path);
    if (!node) throw new ItemNotFoundError(`"${path}"`);
    return node.metadata;
  }

  async writeMetadata(path: RelPath, metadata: Record<string, unknown>): Promise<void> {
    const node = await this.node(path);
    if (!node) throw new ItemNotFoundError(`"${path}"`);
    await this.deps.tree.setMetadata(this.options.tenantId, node.id, metadata, this.actor);
  }

  async close(): Promise<void> {}

  private async fileNode(path: RelPath): Promise<NodeRecord> {
    const node = await this.node(path);
    if (!node || node.kind !== 'file') throw new ItemNotFoundError(`File "${path}"`);
    return node;
  }
}

function nameKeyPath(rel: string): string {
  return splitPath(rel).map(nameKey).join('/');
}
