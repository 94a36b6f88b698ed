import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AppError,
  CancelledError,
  ErrorCode,
  ItemError,
  UnreachableError,
  baseName,
  splitPath,
} from '@scaidrive/core';
import type {
  DeleteOptions,
  Entry,
  FileTree,
  ReadResult,
  RelPath,
  TreeCapabilities,
  WriteOptions,
} from './ports.js';

/**
 * A `FileTree` over a local (or NFS/SMB-mounted) directory.
 *
 * - Writes are atomic: content goes to a temporary name in the same folder, is fsynced, gets its
 *   modification time, and is renamed over the destination. Temporary files are never listed and
 *   stale ones (left by a killed process) are removed when their folder is listed.
 * - `version` is `mtime:size:inode:ctime` (times in fractional milliseconds) — it moves on any content
 *   write, in-place or atomic.
 * - Symbolic links and special files are not listed (they are neither files nor folders here).
 * - With `historyDir`, overwritten and deleted files are kept there (hard link or copy) and the tree
 *   reports `keepsHistory` — a stand-in for ScaiDrive versions and trash in tests.
 */
export interface LocalTreeOptions {
  /** Label in plans and conflict names. Default `local`. */
  label?: string;
  /** Names starting with a dot are `hidden`. Default true. */
  hiddenDotfiles?: boolean;
  /** fsync files before renaming them into place. Default true. */
  fsync?: boolean;
  /** Keep overwritten and deleted files in this directory (outside the tree). */
  historyDir?: string;
  /**
   * How listings stat their entries. `sync` (one `lstat` system call each, no thread-pool round
   * trip) is several times cheaper on a local disk but blocks the event loop on a slow mount;
   * `auto` (default) starts synchronous and switches this tree to `async` for good as soon as a
   * folder's stats take longer than `syncStatBudgetMs`.
   */
  statMode?: 'auto' | 'sync' | 'async';
  /** Default 25 ms per folder. */
  syncStatBudgetMs?: number;
}

export interface LocalTree extends FileTree {
  readonly rootDir: string;
  /** Absolute path of a relative path (validated). */
  absolute(rel: RelPath): string;
}

const TEMP_PREFIX = '.sdtmp-';
const MAX_NAME_BYTES = 255;
const LIST_STAT_PARALLEL = 64;

export function createLocalTree(rootDir: string, options: LocalTreeOptions = {}): LocalTree {
  return new LocalFileTree(path.resolve(rootDir), options);
}

/** Why a POSIX file system cannot hold `name`, or null. */
export function posixNameProblem(name: string): string | null {
  if (name.length === 0) return 'name is empty';
  if (name === '.' || name === '..') return `"${name}" is not a valid name`;
  if (name.includes('/')) return 'name contains "/"';
  if (name.includes('\u0000')) return 'name contains a NUL character';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES)
    return `name is longer than ${MAX_NAME_BYTES} bytes`;
  if (name.startsWith(TEMP_PREFIX)) return `names starting with "${TEMP_PREFIX}" are reserved`;
  return null;
}

class LocalFileTree implements LocalTree {
  readonly label: string;
  readonly capabilities: TreeCapabilities;
  private readonly hiddenDotfiles: boolean;
  private readonly doFsync: boolean;
  private readonly historyDir: string | undefined;
  /** Temporary files this instance is writing right now. */
  private readonly activeTemps = new Set<string>();
  private syncStat: boolean;
  private readonly syncStatBudgetMs: number;
  private readonly statModeFixed: boolean;

  constructor(
    readonly rootDir: string,
    options: LocalTreeOptions,
  ) {
    this.label = options.label ?? 'local';
    this.hiddenDotfiles = options.hiddenDotfiles ?? true;
    this.doFsync = options.fsync ?? true;
    this.historyDir = options.historyDir ? path.resolve(options.historyDir) : undefined;
    this.syncStat = (options.statMode ?? 'auto') !== 'async';
    this.statModeFixed = options.statMode !== undefined && options.statMode !== 'auto';
    this.syncStatBudgetMs = options.syncStatBudgetMs ?? 25;
    this.capabilities = {
      changeFeed: false,
      readAcl: false,
      writeAcl: false,
      versions: false,
      importVersions: false,
      metadata: false,
      move: true,
      keepsHistory: this.historyDir !== undefined,
      nameProblem: (name) => posixNameProblem(name),
    };
  }

  absolute(rel: RelPath): string {
    const parts = splitPath(rel);
    for (const p of parts) {
      if (p === '.' || p === '..' || p.includes('\u0000'))
        throw new ItemError(ErrorCode.NAME_INVALID, `Invalid path segment "${p}"`);
    }
    return parts.length === 0 ? this.rootDir : path.join(this.rootDir, ...parts);
  }

  async *list(rel: RelPath, signal?: AbortSignal): AsyncIterable<Entry> {
    checkAbort(signal);
    const abs = this.absolute(rel);
    let dirents;
    try {
      dirents = await fs.readdir(abs, { withFileTypes: true });
    } catch (err) {
      throw mapFsError(err, rel, 'list');
    }
    const prefix = splitPath(rel).join('/');
    const names: string[] = [];
    for (const d of dirents) {
      if (d.name.startsWith(TEMP_PREFIX)) {
        await this.cleanupTemp(path.join(abs, d.name));
        continue;
      }
      if (d.isFile() || d.isDirectory()) names.push(d.name);
    }
    const pathOf = (n: string): string => (prefix ? `${prefix}/${n}` : n);
    if (this.syncStat) {
      const started = performance.now();
      const out: Entry[] = [];
      for (const name of names) {
        let st: Stats | undefined;
        try {
          st = lstatSync(`${abs}${path.sep}${name}`, { throwIfNoEntry: false });
        } catch (err) {
          throw mapFsError(err, pathOf(name), 'stat');
        }
        if (st && (st.isFile() || st.isDirectory())) out.push(this.toEntry(pathOf(name), name, st));
      }
      if (!this.statModeFixed && performance.now() - started > this.syncStatBudgetMs)
        this.syncStat = false; // a slow file system: stop blocking the event loop
      yield* out;
      return;
    }
    for (let i = 0; i < names.length; i += LIST_STAT_PARALLEL) {
      checkAbort(signal);
      const chunk = names.slice(i, i + LIST_STAT_PARALLEL);
      const stats = await Promise.all(
        chunk.map((n) =>
          fs.lstat(path.join(abs, n)).catch((err: unknown) => {
            if (isCode(err, 'ENOENT')) return null; // removed since readdir
            throw mapFsError(err, pathOf(n), 'stat');
          }),
        ),
      );
      for (let j = 0; j < chunk.length; j++) {
        const st = stats[j];
        if (!st || !(st.isFile() || st.isDirectory())) continue;
        const name = chunk[j]!;
        yield this.toEntry(pathOf(name), name, st);
      }
    }
  }

  async stat(rel: RelPath, signal?: AbortSignal): Promise<Entry | null> {
    checkAbort(signal);
    const abs = this.absolute(rel);
    try {
      const st = await fs.lstat(abs);
      if (!st.isFile() && !st.isDirectory()) return null;
      return this.toEntry(splitPath(rel).join('/'), baseName(rel), st);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
      throw mapFsError(err, rel, 'stat');
    }
  }

  async read(rel: RelPath, signal?: AbortSignal): Promise<ReadResult> {
    checkAbort(signal);
    const abs = this.absolute(rel);
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(abs, 'r');
    } catch (err) {
      throw mapFsError(err, rel, 'read');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${rel} is not a file`);
      const entry = this.toEntry(splitPath(rel).join('/'), baseName(rel), st);
      if (entry.size === 0) {
        await fh.close();
        return { stream: Readable.from([]), entry };
      }
      // Read exactly the listed size (growth shows in the re-check of size and time).
      const stream = fh.createReadStream({
        autoClose: true,
        highWaterMark: 256 * 1024,
        end: entry.size - 1,
      });
      if (signal) {
        const onAbort = (): void => {
          // The run is stopping: the consumer may not be listening (yet), so never crash on it.
          stream.on('error', () => undefined);
          stream.destroy(new CancelledError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      return { stream, entry };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw mapFsError(err, rel, 'read');
    }
  }

  async write(rel: RelPath, content: Readable, options: WriteOptions): Promise<Entry> {
    checkAbort(options.signal);
    const abs = this.absolute(rel);
    const dir = path.dirname(abs);
    if (typeof options.ifMatch === 'string') {
      // Fail before moving any bytes when the file already changed (the check is repeated last).
      try {
        await this.checkPrecondition(rel, abs, options.ifMatch);
      } catch (err) {
        content.destroy();
        throw err;
      }
    }
    const tmp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    let fh: fs.FileHandle | null = null;
    try {
      try {
        fh = await fs.open(tmp, 'wx');
      } catch (err) {
        if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR'))
          throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `Parent folder of ${rel} does not exist`);
        throw err;
      }
      this.activeTemps.add(tmp);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of content as AsyncIterable<Buffer>) {
        checkAbort(options.signal);
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes > options.size)
          throw new ItemError(
            ErrorCode.CHECKSUM_MISMATCH,
            `${rel}: more than the announced ${options.size} bytes`,
          );
        await fh.write(chunk);
      }
      if (bytes !== options.size)
        throw new ItemError(
          ErrorCode.CHECKSUM_MISMATCH,
          `${rel}: received ${bytes} bytes, expected ${options.size}`,
        );
      if (options.expectedSha256 && hash.digest('hex') !== options.expectedSha256.toLowerCase())
        throw new ItemError(ErrorCode.CHECKSUM_MISMATCH, `${rel}: SHA-256 mismatch`);
      const mtime = options.mtimeMs / 1000;
      await fh.utimes(mtime, mtime);
      if (this.doFsync) await fh.sync();
      await fh.close();
      fh = null;
      checkAbort(options.signal);
      // Checked right before the rename: the window for a lost update is the rename itself.
      await this.checkPrecondition(rel, abs, options.ifMatch);
      if (this.historyDir) await this.keepHistory(abs, rel);
      await fs.rename(tmp, abs);
      const st = await fs.lstat(abs);
      return this.toEntry(splitPath(rel).join('/'), baseName(rel), st);
    } catch (err) {
      content.destroy();
      if (fh) await fh.close().catch(() => undefined);
      if (this.activeTemps.has(tmp)) await fs.unlink(tmp).catch(() => undefined);
      throw mapFsError(err, rel, 'write');
    } finally {
      this.activeTemps.delete(tmp);
    }
  }

  async mkdir(rel: RelPath, signal?: AbortSignal): Promise<Entry> {
    checkAbort(signal);
    const abs = this.absolute(rel);
    try {
      await fs.mkdir(abs, { recursive: true });
      const st = await fs.lstat(abs);
      if (!st.isDirectory())
        throw new ItemError(ErrorCode.NAME_CONFLICT, `${rel} exists and is not a folder`);
      return this.toEntry(splitPath(rel).join('/'), baseName(rel), st);
    } catch (err) {
      if (isCode(err, 'EEXIST') || isCode(err, 'ENOTDIR'))
        throw new ItemError(ErrorCode.NAME_CONFLICT, `${rel}: a file is in the way of the folder`);
      throw mapFsError(err, rel, 'mkdir');
    }
  }

  async delete(rel: RelPath, options: DeleteOptions): Promise<void> {
    checkAbort(options.signal);
    if (splitPath(rel).length === 0)
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, 'The root cannot be deleted');
    const abs = this.absolute(rel);
    const st = await fs.lstat(abs).catch((err: unknown) => {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
      throw mapFsError(err, rel, 'delete');
    });
    if (!st) return;
    const kind = st.isDirectory() ? 'folder' : 'file';
    if (kind !== options.kind)
      throw new ItemError(
        ErrorCode.PRECONDITION_FAILED,
        `${rel} is a ${kind}, not a ${options.kind}`,
      );
    try {
      if (kind === 'folder') {
        await fs.rmdir(abs);
        return;
      }
      if (options.ifMatch !== undefined) {
        const cur = this.toEntry(rel, baseName(rel), st);
        if (cur.version !== options.ifMatch)
          throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} changed; not deleted`);
      }
      if (this.historyDir) await this.keepHistory(abs, rel);
      await fs.unlink(abs);
    } catch (err) {
      if (isCode(err, 'ENOTEMPTY') || isCode(err, 'EEXIST'))
        throw new ItemError(ErrorCode.PRECONDITION_FAILED, `Folder ${rel} is not empty`);
      if (isCode(err, 'ENOENT')) return;
      throw mapFsError(err, rel, 'delete');
    }
  }

  async move(
    from: RelPath,
    to: RelPath,
    options: { ifMatch?: string; signal?: AbortSignal },
  ): Promise<Entry> {
    checkAbort(options.signal);
    const absFrom = this.absolute(from);
    const absTo = this.absolute(to);
    const cur = await this.stat(from);
    if (!cur) throw new ItemError(ErrorCode.ITEM_NOT_FOUND, `${from} does not exist`);
    if (options.ifMatch !== undefined && cur.version !== options.ifMatch)
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${from} changed; not moved`);
    const existing = await this.stat(to);
    // A case-only rename on a case-insensitive file system reports the source as the target.
    if (existing && existing.id !== cur.id)
      throw new ItemError(ErrorCode.NAME_CONFLICT, `${to} already exists`);
    try {
      await fs.rename(absFrom, absTo);
      const st = await fs.lstat(absTo);
      return this.toEntry(splitPath(to).join('/'), baseName(to), st);
    } catch (err) {
      throw mapFsError(err, from, 'move');
    }
  }

  async setMtime(rel: RelPath, mtimeMs: number, signal?: AbortSignal): Promise<Entry> {
    checkAbort(signal);
    const abs = this.absolute(rel);
    try {
      await fs.utimes(abs, mtimeMs / 1000, mtimeMs / 1000);
      const st = await fs.lstat(abs);
      return this.toEntry(splitPath(rel).join('/'), baseName(rel), st);
    } catch (err) {
      throw mapFsError(err, rel, 'setMtime');
    }
  }

  async close(): Promise<void> {
    // Nothing pooled.
  }

  private toEntry(rel: string, name: string, st: Stats): Entry {
    const isDir = st.isDirectory();
    const entry: Entry = {
      name,
      path: rel,
      kind: isDir ? 'folder' : 'file',
      size: isDir ? 0 : st.size,
      // Rounded: `utimes` takes a double, which is not exact in nanoseconds.
      mtimeMs: Math.round(st.mtimeMs),
      id: String(st.ino),
    };
    if (!isDir) entry.version = `${st.mtimeMs}:${st.size}:${st.ino}:${st.ctimeMs}`;
    if (this.hiddenDotfiles && name.startsWith('.')) entry.hidden = true;
    return entry;
  }

  private async checkPrecondition(
    rel: string,
    abs: string,
    ifMatch: string | null | undefined,
  ): Promise<void> {
    if (ifMatch === undefined) return;
    const st = await fs.lstat(abs).catch((err: unknown) => {
      if (isCode(err, 'ENOENT')) return null;
      throw err;
    });
    if (ifMatch === null) {
      if (st) throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} already exists`);
      return;
    }
    if (!st) throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} no longer exists`);
    if (st.isDirectory()) throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} is a folder`);
    const version = this.toEntry(rel, baseName(rel), st).version;
    if (version !== ifMatch)
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, `${rel} changed since it was listed`);
  }

  private async keepHistory(abs: string, rel: string): Promise<void> {
    const st = await fs.lstat(abs).catch(() => null);
    if (!st?.isFile()) return;
    await fs.mkdir(this.historyDir!, { recursive: true });
    const name = `${Date.now()}-${randomBytes(4).toString('hex')}-${baseName(rel)}`.slice(0, 200);
    const dest = path.join(this.historyDir!, name);
    try {
      await fs.link(abs, dest);
    } catch {
      await fs.copyFile(abs, dest);
    }
  }

  private async cleanupTemp(abs: string): Promise<void> {
    if (this.activeTemps.has(abs)) return;
    const m = /^\.sdtmp-(\d+)-/.exec(path.basename(abs));
    const pid = m ? Number(m[1]) : NaN;
    if (pid !== process.pid && Number.isFinite(pid) && processAlive(pid)) return;
    await fs.unlink(abs).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isCode(err, 'EPERM');
  }
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function mapFsError(err: unknown, rel: string, op: string): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const where = rel === '' ? '(root)' : rel;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ItemError(ErrorCode.ITEM_NOT_FOUND, `${where}: not found (${op})`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ItemError(ErrorCode.ITEM_ACCESS_DENIED, `${where}: access denied (${op})`, {
        cause: err,
      });
    case 'EBUSY':
    case 'ETXTBSY':
      return new ItemError(ErrorCode.ITEM_LOCKED, `${where}: in use (${op})`, { cause: err });
    case 'ENAMETOOLONG':
    case 'EILSEQ':
      return new ItemError(ErrorCode.NAME_INVALID, `${where}: name not accepted (${op})`, {
        cause: err,
      });
    case 'EEXIST':
      return new ItemError(ErrorCode.NAME_CONFLICT, `${where}: already exists (${op})`, {
        cause: err,
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new ItemError(ErrorCode.QUOTA_EXCEEDED, `${where}: no space left (${op})`, {
        cause: err,
      });
    case 'EIO':
    case 'ESTALE':
    case 'ETIMEDOUT':
    case 'EHOSTDOWN':
      return new UnreachableError(`${where}: file system unavailable (${op}, ${String(code)})`, {
        cause: err,
      });
    default:
      return err;
  }
}
