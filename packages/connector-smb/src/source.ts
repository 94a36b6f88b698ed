import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CancelledError,
  ErrorCode,
  ItemError,
  classifyError,
  joinPath,
  retryWithBackoff,
  parentPath,
  splitPath,
} from '@scaidrive/core';
import type { ConnectionInfo, FileInfo } from '@scaidrive/smb-client';
import type {
  AclSnapshot,
  DeleteOptions,
  Entry,
  FileTree,
  ReadResult,
  RelPath,
  TreeCapabilities,
  WriteOptions,
} from '@scaidrive/sync';
import { daclSids, toAclSnapshot } from './acl.js';
import { normalizeBase, type SmbSourceConfig } from './config.js';
import { isReparseDirectory, toEntry } from './entries.js';
import { classified, isCode, isNotFound, toSmbError } from './errors.js';
import { smbNameProblem, tempFileInfo, tempName } from './names.js';
import { SmbSessionPool, type SmbLease } from './session-pool.js';
import type { ResolvedName } from './sid-resolver.js';

export interface SmbSourceDeps {
  /** Sessions shared per connector (default: one pool per process, sessions closed when released). */
  pool?: SmbSessionPool;
  /** Aborts connecting. */
  signal?: AbortSignal;
  /** Files up to this size are read and written in one compound round trip (default 1 MiB). */
  smallFileBytes?: number;
  /** Temporary files older than this are removed when their folder is listed (default 24 h). */
  staleTempMs?: number;
  now?: () => number;
}

let processPool: SmbSessionPool | undefined;

/** The process-wide pool used when no pool is passed. */
export function defaultSessionPool(): SmbSessionPool {
  processPool ??= new SmbSessionPool();
  return processPool;
}

/**
 * An SMB share (below `base_path`) as the sync engine's `FileTree`, on a pooled session.
 * Connects now: bad credentials or an unknown share fail here (AuthFailedError,
 * CONNECTOR_SHARE_NOT_FOUND, UnreachableError).
 */
export async function createSmbSource(
  config: SmbSourceConfig,
  deps: SmbSourceDeps = {},
): Promise<SmbSource> {
  const pool = deps.pool ?? defaultSessionPool();
  const lease = await pool.acquire(config, deps.signal);
  return new SmbSource(lease, normalizeBase(config.basePath), deps);
}

const SMALL_FILE_BYTES = 1024 * 1024;
/** Mid-file resumes per read before the failure is handed to the engine's retry. */
export const MAX_READ_RESUMES = 3;
/** How long a resume waits for the server to come back. */
const RESUME_WAIT_MS = 30_000;

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * See `createSmbSource`. Paths are relative to `base_path`, `/`-separated.
 *
 * - `list` pages QUERY_DIRECTORY (FileIdBothDirectoryInformation): sizes, times, attributes
 *   (hidden/system → the engine's sync_hidden_files / sync_system_files), file ids. At most
 *   `listConcurrency` listings run on the session at once. The connector's own temporary files
 *   are never listed (stale ones are removed); reparse-point folders (junctions, links) are not
 *   walked.
 * - `write` is atomic: the bytes go to `~sdsync-….tmp` in the same folder, get the requested
 *   modification time (and the replaced file's hidden/system attributes), and are renamed over
 *   the destination; the returned entry is a stat after the rename.
 * - `readAcl` reads the DACL (READ_CONTROL only) and names its SIDs through LSARPC (cached).
 */
export class SmbSource implements FileTree {
  readonly label = 'smb';
  readonly capabilities: TreeCapabilities;
  /** Reads continued where a lost connection left them. */
  readonly stats = { readResumes: 0 };
  private closed = false;
  private readonly small: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly lease: SmbLease,
    /** `base_path`, `/`-separated ('' = the share root). */
    readonly basePath: string,
    deps: SmbSourceDeps = {},
  ) {
    this.small = deps.smallFileBytes ?? SMALL_FILE_BYTES;
    this.staleMs = deps.staleTempMs ?? 24 * 3600_000;
    this.now = deps.now ?? Date.now;
    const baseLength = basePath.length;
    this.capabilities = {
      changeFeed: false,
      readAcl: true,
      writeAcl: false,
      versions: false,
      importVersions: false,
      metadata: false,
      move: true,
      keepsHistory: false,
      nameProblem: (name, parent) => smbNameProblem(name, parent, baseLength),
    };
  }

  /** Negotiated dialect, signing and encryption of the current connection. */
  get connectionInfo(): (ConnectionInfo & { treeEncrypted: boolean }) | undefined {
    const info = this.lease.session.info;
    return info ? { ...info, treeEncrypted: this.lease.tree.encrypted } : undefined;
  }

  /** Share-relative path of a connector-relative one. */
  private full(rel: RelPath): string {
    return joinPath(this.basePath, rel);
  }

  async *list(rel: RelPath, signal?: AbortSignal): AsyncIterable<Entry> {
    checkAbort(signal);
    const dir = this.full(rel);
    const infos = await this.lease.listLimit.run(() =>
      classified('list', rel, () => this.lease.tree.readdir(dir)),
    );
    const prefix = splitPath(rel).join('/');
    const stale: string[] = [];
    for (const info of infos) {
      const t = tempFileInfo(info.name, this.now(), this.staleMs);
      if (t.temp) {
        if (t.stale && !info.isDirectory) stale.push(info.name);
        continue;
      }
      if (isReparseDirectory(info)) continue;
      // "\" is SMB's path separator: such a name (only a faulty or hostile server sends one)
      // would address another file on every later operation. The engine refuses "/" and the like.
      if (info.name.includes('\\'))
        throw new ItemError(
          ErrorCode.NAME_INVALID,
          `The server listed an entry ${JSON.stringify(info.name)} in "${rel || '/'}" that contains "\\"; the folder is skipped`,
          { details: { folder: rel, name: info.name } },
        );
      yield toEntry(info, prefix ? `${prefix}/${info.name}` : info.name);
    }
    for (const name of stale)
      await this.lease.tree.delete(joinPath(dir, name)).catch(() => undefined);
  }

  async stat(rel: RelPath, signal?: AbortSignal): Promise<Entry | null> {
    checkAbort(signal);
    const info = await this.statInfo(rel);
    return info ? toEntry(info, splitPath(rel).join('/')) : null;
  }

  private async statInfo(rel: RelPath): Promise<FileInfo | null> {
    try {
      return await classified('stat', rel, () => this.lease.tree.stat(this.full(rel)));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(rel: RelPath, signal?: AbortSignal): Promise<ReadResult> {
    checkAbort(signal);
    const full = this.full(rel);
    // One round trip for the metadata and the first MiB (CREATE + QUERY_INFO + READ + CLOSE); the
    // engine re-checks the entry after the copy, so a change during the read is noticed.
    const first = await classified('read', rel, () =>
      this.lease.tree.statAndRead(full, { length: this.small }),
    );
    const entry = toEntry(first.info, splitPath(rel).join('/'));
    let stream: Readable;
    if (first.data.length >= first.info.size) {
      stream = Readable.from([first.data], { objectMode: false });
    } else {
      const rest = this.lease.tree.createReadStream(full, { start: first.data.length });
      // Open now so a file locked since the first read fails here, as an ItemError of this file.
      try {
        await Promise.race([
          once(rest, 'open'),
          once(rest, 'error').then(([e]) => Promise.reject(e)),
        ]);
      } catch (err) {
        rest.destroy();
        throw toSmbError(err, { op: 'read', path: rel });
      }
      stream = Readable.from(this.resumingRead(rel, entry, first.data, rest, signal), {
        objectMode: false,
      });
    }
    if (signal) {
      const onAbort = () => stream.destroy(new CancelledError());
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return { stream, entry };
  }

  /**
   * The first bytes, then the rest of the file; a connection lost midway (smbd restart, network
   * drop) is resumed at the offset reached once the session is back — if the file is still the
   * one being read (same id, change and write times, size), else the read fails as changed.
   */
  private async *resumingRead(
    rel: RelPath,
    entry: Entry,
    head: Buffer,
    opened: Readable,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    let rest = opened;
    try {
      yield head;
      let offset = head.length;
      for (let resumes = 0; ; resumes++) {
        try {
          for await (const chunk of rest) {
            offset += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
          return;
        } catch (err) {
          rest.destroy();
          const failure = toSmbError(err, { op: 'read', path: rel });
          if (signal?.aborted) throw new CancelledError();
          if (resumes >= MAX_READ_RESUMES || classifyError(failure).action !== 'retry')
            throw failure;
          this.stats.readResumes++;
          rest = await this.reopenAt(rel, entry, offset, signal);
        }
      }
    } finally {
      rest.destroy();
    }
  }

  private async reopenAt(
    rel: RelPath,
    entry: Entry,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<Readable> {
    // The client reconnects on the next request; while the server is still away that fails as
    // unreachable, so keep asking (with backoff) for a bounded time.
    const info = await retryWithBackoff(() => this.statInfo(rel), {
      maxWaitMs: RESUME_WAIT_MS,
      isRetryable: (e) => classifyError(e).action === 'retry',
      ...(signal ? { signal } : {}),
    });
    const now = info ? toEntry(info, entry.path) : null;
    if (!now || now.version !== entry.version || now.size !== entry.size)
      throw new ItemError(
        ErrorCode.ITEM_CHANGED_DURING_READ,
        `"${rel}" changed on the SMB share while it was being read`,
      );
    const rest = this.lease.tree.createReadStream(this.full(rel), { start: offset });
    await Promise.race([once(rest, 'open'), once(rest, 'error').then(([e]) => Promise.reject(e))]);
    return rest;
  }

  async write(rel: RelPath, content: Readable, options: WriteOptions): Promise<Entry> {
    try {
      checkAbort(options.signal);
    } catch (err) {
      content.destroy();
      throw err;
    }
    const full = this.full(rel);
    const tmp = joinPath(parentPath(full), tempName(this.now()));
    let tmpCreated = false;
    try {
      const existing = await this.statInfo(rel);
      checkPrecondition(rel, existing, options.ifMatch);
      const hash = new HashCheck(rel, options.size, options.expectedSha256);
      const mtime = new Date(options.mtimeMs);
      if (options.size <= this.small) {
        const chunks: Buffer[] = [];
        await pipeline(content, hash, async (src: AsyncIterable<Buffer>) => {
          for await (const c of src) chunks.push(c);
        });
        checkAbort(options.signal);
        tmpCreated = true;
        await classified('write', rel, () =>
          this.lease.tree.writeFile(tmp, Buffer.concat(chunks), { overwrite: false, mtime }),
        );
      } else {
        tmpCreated = true;
        const ws = this.lease.tree.createWriteStream(tmp, {
          overwrite: false,
          size: options.size,
          mtime,
        });
        const ac = new AbortController();
        const onAbort = () => ac.abort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await classified('write', rel, () => pipeline(content, hash, ws, { signal: ac.signal }));
        } finally {
          options.signal?.removeEventListener('abort', onAbort);
        }
      }
      checkAbort(options.signal);
      // Re-check right before the rename: the window for a lost update is the rename itself.
      const now = options.ifMatch === undefined ? existing : await this.statInfo(rel);
      checkPrecondition(rel, now, options.ifMatch);
      if (now && (now.hidden || now.system)) {
        await classified('write', rel, () =>
          this.lease.tree.setAttributes(tmp, { hidden: now.hidden, system: now.system }),
        );
      }
      await classified('write', rel, () => this.lease.tree.rename(tmp, full, { replace: true }));
      tmpCreated = false;
      const after = await this.stat(rel);
      if (!after) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${rel} vanished after writing`);
      return after;
    } catch (err) {
      content.destroy();
      if (tmpCreated) await this.lease.tree.delete(tmp).catch(() => undefined);
      if (isNotFound(err) && !(await this.folderExists(parentPath(rel))))
        throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `Parent folder of ${rel} does not exist`, {
          cause: err,
        });
      throw err;
    }
  }

  private async folderExists(rel: RelPath): Promise<boolean> {
    const info = await this.statInfo(rel).catch(() => null);
    return info?.isDirectory === true;
  }

  async mkdir(rel: RelPath, signal?: AbortSignal): Promise<Entry> {
    checkAbort(signal);
    const full = this.full(rel);
    if (full !== '') {
      try {
        await classified('mkdir', rel, () => this.lease.tree.mkdir(full));
      } catch (err) {
        if (isNotFound(err))
          await classified('mkdir', rel, () => this.lease.tree.mkdir(full, { recursive: true }));
        else if (!isCode(err, ErrorCode.NAME_CONFLICT)) throw err;
      }
    }
    const e = await this.stat(rel, signal);
    if (!e || e.kind !== 'folder')
      throw new ItemError(ErrorCode.NAME_CONFLICT, `${rel}: a file is in the way of the folder`);
    return e;
  }

  async delete(rel: RelPath, options: DeleteOptions): Promise<void> {
    checkAbort(options.signal);
    if (splitPath(rel).length === 0)
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, 'The root cannot be deleted');
    const info = await this.statInfo(rel);
    if (!info) return;
    const kind = info.isDirectory ? 'folder' : 'file';
    if (kind !== options.kind)
      throw new ItemError(
        ErrorCode.PRECONDITION_FAILED,
        `${rel} is a ${kind}, not a ${options.kind}`,
      );
    const full = this.full(rel);
    try {
      if (kind === 'file') {
        if (options.ifMatch !== undefined && toEntry(info, rel).version !== options.ifMatch)
          throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} changed; not deleted`);
        await classified('delete', rel, () => this.lease.tree.delete(full));
        return;
      }
      try {
        await classified('delete', rel, () => this.lease.tree.rmdir(full));
      } catch (err) {
        // Only our own leftover temporary files in it: remove them and try again.
        if (!isCode(err, ErrorCode.PRECONDITION_FAILED)) throw err;
        const left = await this.lease.tree.readdir(full);
        if (left.length === 0 || !left.every((i) => tempFileInfo(i.name).temp && !i.isDirectory))
          throw new ItemError(ErrorCode.PRECONDITION_FAILED, `Folder ${rel} is not empty`);
        for (const i of left) await this.lease.tree.delete(joinPath(full, i.name));
        await classified('delete', rel, () => this.lease.tree.rmdir(full));
      }
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  async move(
    from: RelPath,
    to: RelPath,
    options: { ifMatch?: string; signal?: AbortSignal },
  ): Promise<Entry> {
    checkAbort(options.signal);
    const cur = await this.stat(from);
    if (!cur) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${from} does not exist`);
    if (options.ifMatch !== undefined && cur.version !== options.ifMatch)
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${from} changed; not moved`);
    const existing = await this.stat(to);
    // A case-only rename reports the source itself as the target.
    if (existing && existing.id !== cur.id)
      throw new ItemError(ErrorCode.NAME_CONFLICT, `${to} already exists`);
    await classified('move', from, () =>
      this.lease.tree.rename(this.full(from), this.full(to), { replace: false }),
    );
    const after = await this.stat(to);
    if (!after) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${to} vanished after the move`);
    return after;
  }

  async setMtime(rel: RelPath, mtimeMs: number, signal?: AbortSignal): Promise<Entry> {
    checkAbort(signal);
    await classified('setMtime', rel, () =>
      this.lease.tree.setTimes(this.full(rel), { mtime: new Date(mtimeMs) }),
    );
    const after = await this.stat(rel);
    if (!after) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${rel}: not found (setMtime)`);
    return after;
  }

  async readAcl(rel: RelPath, signal?: AbortSignal): Promise<AclSnapshot | null> {
    checkAbort(signal);
    const full = this.full(rel);
    const [sd, info] = await Promise.all([
      classified('readAcl', rel, () => this.lease.tree.getSecurityDescriptor(full)),
      this.statInfo(rel),
    ]);
    if (!info) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${rel}: not found (readAcl)`);
    const names = await this.lease.sids.names(daclSids(sd));
    return toAclSnapshot(sd, info.isDirectory ? 'folder' : 'file', names);
  }

  /**
   * `DOMAIN\name` (or SID) → SID and resolved name through LSARPC, for identity mappings. Unknown
   * principals are absent from the result.
   */
  /** `fresh`: not from this session's cache (identity mappings are re-checked every run). */
  resolvePrincipals(
    principals: readonly string[],
    o: { fresh?: boolean } = {},
  ): Promise<Map<string, ResolvedName>> {
    return this.lease.sids.resolveNames(principals, o);
  }

  /** SID → `DOMAIN\name` for the SIDs the server knows. */
  async resolveSids(sids: readonly string[]): Promise<Map<string, string>> {
    const res = await this.lease.sids.names(sids);
    return new Map([...res].map(([sid, info]) => [sid, info.name]));
  }

  /** Releases the pooled session (closed when no other lease uses it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

function checkPrecondition(
  rel: string,
  existing: FileInfo | null,
  ifMatch: string | null | undefined,
): void {
  if (ifMatch === undefined) return;
  if (ifMatch === null) {
    if (existing) throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} already exists`);
    return;
  }
  if (!existing) throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} no longer exists`);
  if (existing.isDirectory)
    throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} is a folder`);
  if (toEntry(existing, rel).version !== ifMatch)
    throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} changed since it was listed`);
}

/** Counts and hashes the bytes of a write; fails the write on a size or SHA-256 mismatch. */
class HashCheck extends Transform {
  private readonly hash: ReturnType<typeof createHash> | null;
  private bytes = 0;

  constructor(
    private readonly rel: string,
    private readonly size: number,
    private readonly sha256: string | undefined,
  ) {
    super();
    this.hash = sha256 ? createHash('sha256') : null;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.size) {
      cb(
        new ItemError(
          ErrorCode.CHECKSUM_MISMATCH,
          `${this.rel}: more than the announced ${this.size} bytes`,
        ),
      );
      return;
    }
    this.hash?.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.bytes !== this.size) {
      cb(
        new ItemError(
          ErrorCode.CHECKSUM_MISMATCH,
          `${this.rel}: received ${this.bytes} bytes, expected ${this.size}`,
        ),
      );
      return;
    }
    if (this.hash && this.hash.digest('hex') !== this.sha256!.toLowerCase()) {
      cb(new ItemError(ErrorCode.CHECKSUM_MISMATCH, `${this.rel}: SHA-256 mismatch`));
      return;
    }
    cb();
  }
}
