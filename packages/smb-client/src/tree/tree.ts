import type { Readable, Writable } from 'node:stream';
import { AppError, CancelledError, ErrorCode, ItemError } from '@scaidrive/core';
import type { Link } from '../client.js';
import type { SmbSession } from '../client.js';
import { ntStatusError, protocolError, type SmbErrorContext } from '../errors.js';
import { dateToFiletime } from '../messages/common.js';
import {
  encodeBasicInfo,
  encodeChangeNotify,
  encodeClose,
  encodeCreate,
  encodeDispositionInfo,
  encodeFlush,
  encodeIoctl,
  encodeQueryDirectory,
  encodeQueryInfo,
  encodeRead,
  encodeRenameInfo,
  encodeSetInfo,
  encodeWrite,
  parseAllInfo,
  parseCreateResponse,
  parseIdBothDirectoryInformation,
  parseIoctlResponse,
  parseOutputBuffer,
  parseReadResponse,
  parseWriteResponse,
  parseFileNotifyInformation,
  type CreateRequest,
  type CreateResponse,
  type NotifyEntry,
} from '../messages/file.js';
import { encodeEmpty } from '../messages/session.js';
import { NtStatus, ntStatusName } from '../ntstatus.js';
import type { OutgoingRequest, Response } from '../session/connection.js';
import { sendOptions, type TreeState } from '../session/establish.js';
import { parseSecurityDescriptor, type SecurityDescriptor } from '../dtyp/security-descriptor.js';
import {
  Access,
  Command,
  CompletionFilter,
  CreateDisposition,
  CreateOptions,
  FileAttribute,
  FileInfoClass,
  InfoType,
  RELATED_FILE_ID,
  SecurityInformation,
  ShareAccess,
} from '../wire/constants.js';
import { joinSmb, parentOf, toDisplayPath, toSmbPath } from './paths.js';
import {
  SmbReadStream,
  SmbWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './streams.js';
import {
  makeFileInfo,
  type ChangeAction,
  type ChangeEvent,
  type FileInfo,
  type SetAttributesOptions,
  type SetTimesOptions,
} from './types.js';
import { Readable as NodeReadable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { finishWrite, writeFrom, type PositionalRead, type UploadOptions } from './upload.js';

const OK = [NtStatus.SUCCESS];

function charge(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 65536));
}

function baseName(smbPath: string): string {
  const i = smbPath.lastIndexOf('\\');
  return i < 0 ? smbPath : smbPath.slice(i + 1);
}

/** An open file or directory handle on one link. */
export class FileHandle {
  closed = false;

  constructor(
    readonly tree: Tree,
    readonly link: Link,
    readonly fileId: Buffer,
    readonly info: CreateResponse,
    readonly path: string,
  ) {}

  private ctx(command: string): SmbErrorContext {
    return { command, path: toDisplayPath(this.path), share: this.tree.share };
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const res = await this.tree.send(this.link, {
      command: Command.READ,
      body: encodeRead(this.fileId, offset, length),
      creditCharge: charge(length),
    });
    if (res.header.status === NtStatus.END_OF_FILE) return Buffer.alloc(0);
    this.tree.check(this.link, res, this.ctx('READ'));
    return parseReadResponse(res.message);
  }

  /**
   * READ whose response buffer the caller returns with `release()` once nothing references `data`
   * any more (used by `Tree.download`); `release` is a no-op when the buffer cannot be recycled.
   */
  async readRecyclable(
    offset: number,
    length: number,
  ): Promise<{ data: Buffer; release: () => void }> {
    const res = await this.tree.send(this.link, {
      command: Command.READ,
      body: encodeRead(this.fileId, offset, length),
      creditCharge: charge(length),
    });
    if (res.header.status === NtStatus.END_OF_FILE)
      return { data: Buffer.alloc(0), release: () => undefined };
    this.tree.check(this.link, res, this.ctx('READ'));
    const data = parseReadResponse(res.message);
    const frame = res.frame;
    const pool = this.link.conn.framePool;
    let done = false;
    return {
      data,
      release: () => {
        if (done || !frame) return;
        done = true;
        pool.give(frame);
      },
    };
  }

  async write(offset: number, data: Buffer): Promise<number> {
    const res = await this.tree.send(this.link, {
      command: Command.WRITE,
      body: encodeWrite(this.fileId, offset, data),
      creditCharge: charge(data.length),
    });
    this.tree.check(this.link, res, this.ctx('WRITE'));
    const n = parseWriteResponse(res.message);
    if (n !== data.length)
      throw new ItemError(
        ErrorCode.CONNECTOR_ERROR,
        `Short write to ${toDisplayPath(this.path)} (${n} of ${data.length} bytes)`,
      );
    return n;
  }

  async flush(): Promise<void> {
    const res = await this.tree.send(this.link, {
      command: Command.FLUSH,
      body: encodeFlush(this.fileId),
    });
    this.tree.check(this.link, res, this.ctx('FLUSH'));
  }

  async setInfo(infoType: number, infoClass: number, data: Buffer, additional = 0): Promise<void> {
    const res = await this.tree.send(this.link, {
      command: Command.SET_INFO,
      body: encodeSetInfo(this.fileId, infoType, infoClass, data, additional),
      creditCharge: charge(data.length),
    });
    this.tree.check(this.link, res, this.ctx('SET_INFO'));
  }

  async setTimes(t: SetTimesOptions): Promise<void> {
    await this.setInfo(InfoType.FILE, FileInfoClass.FileBasicInformation, basicFromTimes(t));
  }

  /** Closes the handle; returns the post-close attributes. Safe to call twice. */
  async close(): Promise<FileInfo | undefined> {
    if (this.closed) return undefined;
    this.closed = true;
    if (this.link.conn.closed) return undefined;
    const res = await this.tree.send(this.link, {
      command: Command.CLOSE,
      body: encodeClose(this.fileId, true),
    });
    this.tree.check(this.link, res, this.ctx('CLOSE'));
    return closeInfo(res.message, this.path);
  }
}

function basicFromTimes(t: SetTimesOptions, attributes = 0): Buffer {
  const times: Parameters<typeof encodeBasicInfo>[0] = {};
  if (t.birthtime) times.creationTime = dateToFiletime(t.birthtime);
  if (t.atime) times.lastAccessTime = dateToFiletime(t.atime);
  if (t.mtime) times.lastWriteTime = dateToFiletime(t.mtime);
  if (t.ctime) times.changeTime = dateToFiletime(t.ctime);
  return encodeBasicInfo(times, attributes);
}

/** QUERY_INFO response (FileAllInformation) of the file at `smbPath` → FileInfo. */
function fileInfoFromQuery(smbPath: string, message: Buffer): FileInfo {
  const all = parseAllInfo(parseOutputBuffer(message, 'QUERY_INFO response'));
  return makeFileInfo(
    baseName(smbPath),
    toDisplayPath(smbPath),
    all.fileAttributes,
    all.endOfFile,
    all.allocationSize,
    all.fileId,
    all,
  );
}

/** CLOSE response with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB → FileInfo (no file id). */
function closeInfo(message: Buffer, path: string): FileInfo | undefined {
  if (message.length < 64 + 60) throw protocolError('truncated CLOSE response');
  const b = message.subarray(64);
  if (b.readUInt16LE(0) !== 60) throw protocolError('bad CLOSE response');
  if ((b.readUInt16LE(2) & 1) === 0) return undefined;
  return makeFileInfo(
    baseName(path),
    toDisplayPath(path),
    b.readUInt32LE(56),
    Number(b.readBigUInt64LE(48)),
    Number(b.readBigUInt64LE(40)),
    0n,
    {
      creationTime: b.readBigUInt64LE(8),
      lastAccessTime: b.readBigUInt64LE(16),
      lastWriteTime: b.readBigUInt64LE(24),
      changeTime: b.readBigUInt64LE(32),
    },
  );
}

export interface OpenOptions {
  access: number;
  disposition?: number;
  options?: number;
  shareAccess?: number;
  attributes?: number;
}

export interface WriteFileOptions {
  /** Replace an existing file (default true); false fails with NAME_CONFLICT if it exists. */
  overwrite?: boolean;
  /** Expected size (streams); a mismatch fails the write. */
  size?: number;
  mtime?: Date;
  birthtime?: Date;
}

export interface ListOptions {
  /** Wildcard pattern (default `*`). */
  pattern?: string;
  /** Bytes per QUERY_DIRECTORY answer (default 256 KiB, capped by the server). */
  bufferSize?: number;
}

export interface WatchOptions {
  recursive?: boolean;
  /** CompletionFilter bits (default names, attributes, size, last write, security). */
  filter?: number;
}

/** A connected share. Paths are share-relative, with `/` or `\`. */
export class Tree {
  private state: TreeState | undefined;
  private stateGen = -1;
  private connecting: Promise<{ link: Link; t: TreeState }> | undefined;

  constructor(
    readonly session: SmbSession,
    readonly share: string,
  ) {}

  /** Tree connect (again after a reconnect). */
  async connect(): Promise<{ link: Link; t: TreeState }> {
    const link = await this.session.getLink();
    if (this.state && this.stateGen === link.generation) return { link, t: this.state };
    if (!this.connecting) {
      this.connecting = (async () => {
        const t = await this.session.connectTree(link, this.share);
        this.state = t;
        this.stateGen = link.generation;
        return { link, t };
      })().finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  get encrypted(): boolean {
    return this.state?.encrypt ?? false;
  }

  /** @internal */
  sendMany(link: Link, reqs: OutgoingRequest[]): Promise<Response>[] {
    if (!this.state || this.stateGen !== link.generation) {
      const err = protocolError('tree is not connected on this link');
      return reqs.map(() => Promise.reject(err));
    }
    const treeId = this.state.treeId;
    for (const r of reqs) r.treeId = treeId;
    return this.session.exec(link, reqs, this.state.encrypt);
  }

  /** @internal */
  send(link: Link, req: OutgoingRequest): Promise<Response> {
    return this.sendMany(link, [req])[0]!;
  }

  /** @internal throws the typed error for a non-success status. */
  check(link: Link, res: Response, ctx: SmbErrorContext, ok: readonly number[] = OK): void {
    const s = res.header.status;
    if (ok.includes(s)) return;
    this.session.noteStatus(link, s);
    throw ntStatusError(s, ctx);
  }

  private ctx(command: string, smbPath: string): SmbErrorContext {
    return { command, path: toDisplayPath(smbPath), share: this.share };
  }

  private createReq(smbPath: string, o: OpenOptions): OutgoingRequest {
    const req: CreateRequest = {
      path: smbPath,
      desiredAccess: o.access,
      shareAccess: o.shareAccess ?? ShareAccess.ALL,
      disposition: o.disposition ?? CreateDisposition.OPEN,
      options: o.options ?? 0,
    };
    if (o.attributes !== undefined) req.fileAttributes = o.attributes;
    return { command: Command.CREATE, body: encodeCreate(req) };
  }

  /** Opens a handle (low-level; close it). */
  async open(path: string, o: OpenOptions): Promise<FileHandle> {
    const smbPath = toSmbPath(path);
    const { link } = await this.connect();
    const res = await this.send(link, this.createReq(smbPath, o));
    this.check(link, res, this.ctx('CREATE', smbPath));
    const cr = parseCreateResponse(res.message);
    return new FileHandle(this, link, cr.fileId, cr, smbPath);
  }

  /**
   * CREATE + middle requests + CLOSE as one related compound; throws the first failure (the CREATE's
   * when it failed). Returns the middle responses and the CREATE response.
   */
  private async compound(
    smbPath: string,
    o: OpenOptions,
    middle: OutgoingRequest[],
    names: string[],
    okMiddle: readonly number[] = OK,
  ): Promise<{ create: CreateResponse; middle: Response[]; close: Response }> {
    const { link } = await this.connect();
    const reqs = [this.createReq(smbPath, o), ...middle.map((m) => ({ ...m, related: true }))];
    reqs.push({ command: Command.CLOSE, body: encodeClose(RELATED_FILE_ID, true), related: true });
    const settled = await Promise.allSettled(this.sendMany(link, reqs));
    const values: Response[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      values.push(s.value);
    }
    this.check(link, values[0]!, this.ctx('CREATE', smbPath));
    for (let i = 0; i < middle.length; i++) {
      this.check(link, values[i + 1]!, this.ctx(names[i] ?? 'REQUEST', smbPath), okMiddle);
    }
    return {
      create: parseCreateResponse(values[0]!.message),
      middle: values.slice(1, -1),
      close: values.at(-1)!,
    };
  }

  /** Metadata of a file or directory (one round trip: CREATE + QUERY_INFO + CLOSE). */
  async stat(path: string): Promise<FileInfo> {
    const smbPath = toSmbPath(path);
    const r = await this.compound(
      smbPath,
      { access: Access.FILE_READ_ATTRIBUTES },
      [
        {
          command: Command.QUERY_INFO,
          body: encodeQueryInfo(
            RELATED_FILE_ID,
            InfoType.FILE,
            FileInfoClass.FileAllInformation,
            4096,
          ),
        },
      ],
      ['QUERY_INFO'],
      [NtStatus.SUCCESS, NtStatus.BUFFER_OVERFLOW],
    );
    return fileInfoFromQuery(smbPath, r.middle[0]!.message);
  }

  /** True when the path exists. */
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.ITEM_NOT_FOUND) return false;
      throw err;
    }
  }

  /**
   * Directory entries (without `.` and `..`), paged with QUERY_DIRECTORY
   * (FileIdBothDirectoryInformation): names, sizes, times, attributes incl. hidden/system, file ids.
   */
  async *list(dir = '', o: ListOptions = {}): AsyncGenerator<FileInfo, void, undefined> {
    const smbDir = toSmbPath(dir);
    const { link } = await this.connect();
    const size = Math.min(
      o.bufferSize ?? 256 * 1024,
      link.neg.maxTransactSize,
      link.conn.multiCredit ? 8 << 20 : 65536,
    );
    const pattern = o.pattern ?? '*';
    const [createP, firstP] = this.sendMany(link, [
      this.createReq(smbDir, {
        access: Access.FILE_LIST_DIRECTORY | Access.FILE_READ_ATTRIBUTES | Access.SYNCHRONIZE,
        options: CreateOptions.DIRECTORY_FILE,
      }),
      {
        command: Command.QUERY_DIRECTORY,
        related: true,
        creditCharge: charge(size),
        body: encodeQueryDirectory(
          RELATED_FILE_ID,
          FileInfoClass.FileIdBothDirectoryInformation,
          pattern,
          size,
          0x01,
        ),
      },
    ]);
    const [cs, fs] = await Promise.allSettled([createP!, firstP!]);
    if (cs.status === 'rejected') throw cs.reason;
    this.check(link, cs.value, this.ctx('CREATE', smbDir));
    const handle = new FileHandle(
      this,
      link,
      parseCreateResponse(cs.value.message).fileId,
      parseCreateResponse(cs.value.message),
      smbDir,
    );
    try {
      if (fs.status === 'rejected') throw fs.reason;
      let res = fs.value;
      for (;;) {
        if (res.header.status === NtStatus.NO_MORE_FILES) return;
        this.check(link, res, this.ctx('QUERY_DIRECTORY', smbDir));
        const entries = parseIdBothDirectoryInformation(
          parseOutputBuffer(res.message, 'QUERY_DIRECTORY response'),
        );
        for (const e of entries) {
          if (e.name === '.' || e.name === '..') continue;
          const p = joinSmb(smbDir, e.name);
          yield makeFileInfo(
            e.name,
            toDisplayPath(p),
            e.fileAttributes,
            e.endOfFile,
            e.allocationSize,
            e.fileId,
            e,
          );
        }
        res = await this.send(link, {
          command: Command.QUERY_DIRECTORY,
          creditCharge: charge(size),
          body: encodeQueryDirectory(
            handle.fileId,
            FileInfoClass.FileIdBothDirectoryInformation,
            pattern,
            size,
            0,
          ),
        });
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** All entries of a directory as an array. */
  async readdir(dir = '', o: ListOptions = {}): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    for await (const e of this.list(dir, o)) out.push(e);
    return out;
  }

  /** @internal I/O size for this link. */
  ioSize(link: Link, kind: 'read' | 'write'): number {
    const max = kind === 'read' ? link.neg.maxReadSize : link.neg.maxWriteSize;
    const cap = link.conn.multiCredit ? this.session.options.maxIoSize : 65536;
    return Math.max(4096, Math.min(max, cap));
  }

  /** Opens a file for reading with the minimal access (READ_DATA + READ_ATTRIBUTES). */
  openForRead(path: string): Promise<FileHandle> {
    return this.open(path, {
      access: Access.FILE_READ_DATA | Access.FILE_READ_ATTRIBUTES,
      options: CreateOptions.NON_DIRECTORY_FILE,
    });
  }

  /** Streams a file's bytes with several READs in flight and back-pressure. */
  createReadStream(path: string, o: ReadStreamOptions = {}): SmbReadStream {
    return new SmbReadStream(this, path, o);
  }

  /**
   * Reads a whole file. Files up to 64 KiB (or `sizeHint`, up to one I/O) take a single round trip
   * (CREATE + READ + CLOSE compound); larger ones continue with a stream.
   */
  async readFile(path: string, o: { sizeHint?: number } = {}): Promise<Buffer> {
    const smbPath = toSmbPath(path);
    const { link } = await this.connect();
    // One credit (64 KiB) unless the caller knows the file is bigger (e.g. from a listing).
    const hint = Math.max(65536, Math.ceil(((o.sizeHint ?? 0) + 1) / 65536) * 65536);
    const len = Math.min(this.ioSize(link, 'read'), hint);
    const r = await this.compound(
      smbPath,
      {
        access: Access.FILE_READ_DATA | Access.FILE_READ_ATTRIBUTES,
        options: CreateOptions.NON_DIRECTORY_FILE,
      },
      [
        {
          command: Command.READ,
          body: encodeRead(RELATED_FILE_ID, 0, len),
          creditCharge: charge(len),
        },
      ],
      ['READ'],
      [NtStatus.SUCCESS, NtStatus.END_OF_FILE],
    );
    const readRes = r.middle[0]!;
    const first =
      readRes.header.status === NtStatus.END_OF_FILE
        ? Buffer.alloc(0)
        : parseReadResponse(readRes.message);
    if (first.length < len && first.length >= r.create.endOfFile) return Buffer.from(first);
    const chunks: Buffer[] = [Buffer.from(first)];
    for await (const c of this.createReadStream(path, { start: first.length }))
      chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * Downloads a file into a Writable (ended when done) with several READs in flight. Each response
   * buffer is reused once the Writable's callback for it has run, so a long transfer allocates (and
   * garbage-collects) almost nothing. Use it only with Writables that do not keep references to
   * written chunks after their callback (files, sockets, hashes); otherwise use createReadStream.
   */
  async download(
    path: string,
    dest: Writable,
    o: { start?: number; end?: number; chunkSize?: number; depth?: number } = {},
  ): Promise<number> {
    const h = await this.openForRead(path);
    try {
      const chunk = o.chunkSize ?? this.ioSize(h.link, 'read');
      const depth = o.depth ?? this.session.options.ioDepth;
      const end = Math.min(h.info.endOfFile, o.end !== undefined ? o.end + 1 : h.info.endOfFile);
      let next = o.start ?? 0;
      const start = next;
      const queue: { length: number; p: Promise<{ data: Buffer; release: () => void }> }[] = [];
      let destError: Error | undefined;
      const onError = (err: Error) => (destError ??= err);
      dest.on('error', onError);
      try {
        for (;;) {
          while (queue.length < depth && next < end) {
            const length = Math.min(chunk, end - next);
            const p = h.readRecyclable(next, length);
            p.catch(() => undefined);
            queue.push({ length, p });
            next += length;
          }
          const head = queue.shift();
          if (!head) break;
          const { data, release } = await head.p;
          if (destError) throw destError;
          if (data.length !== head.length) {
            release();
            throw new ItemError(
              ErrorCode.ITEM_CHANGED_DURING_READ,
              `File ${path} changed while it was read`,
              {
                details: { path },
              },
            );
          }
          if (!dest.write(data, () => release())) {
            await new Promise<void>((resolve, reject) => {
              const ok = () => {
                dest.off('error', bad);
                resolve();
              };
              const bad = (err: Error) => {
                dest.off('drain', ok);
                reject(err);
              };
              dest.once('drain', ok);
              dest.once('error', bad);
            });
          }
        }
        await new Promise<void>((resolve, reject) => {
          dest.once('error', reject);
          dest.end(() => resolve());
        });
        if (destError) throw destError;
      } finally {
        dest.off('error', onError);
      }
      return end - start;
    } finally {
      await h.close().catch(() => undefined);
    }
  }

  /**
   * A file's metadata and its first `length` bytes (default 64 KiB, at most one I/O) in one round
   * trip: CREATE + QUERY_INFO (FileAllInformation) + READ + CLOSE. `data` is shorter than `length`
   * only at the end of the file; the caller continues with `createReadStream({ start })` when
   * `info.size` is larger. `info` is the file as of the open (with its file id, unlike `readFile`).
   */
  async statAndRead(
    path: string,
    o: { length?: number } = {},
  ): Promise<{ info: FileInfo; data: Buffer }> {
    const smbPath = toSmbPath(path);
    const { link } = await this.connect();
    const len = Math.max(1, Math.min(this.ioSize(link, 'read'), o.length ?? 65536));
    const r = await this.compound(
      smbPath,
      {
        access: Access.FILE_READ_DATA | Access.FILE_READ_ATTRIBUTES,
        options: CreateOptions.NON_DIRECTORY_FILE,
      },
      [
        {
          command: Command.QUERY_INFO,
          body: encodeQueryInfo(
            RELATED_FILE_ID,
            InfoType.FILE,
            FileInfoClass.FileAllInformation,
            4096,
          ),
        },
        {
          command: Command.READ,
          body: encodeRead(RELATED_FILE_ID, 0, len),
          creditCharge: charge(len),
        },
      ],
      ['QUERY_INFO', 'READ'],
      [NtStatus.SUCCESS, NtStatus.BUFFER_OVERFLOW, NtStatus.END_OF_FILE],
    );
    const info = fileInfoFromQuery(smbPath, r.middle[0]!.message);
    const readRes = r.middle[1]!;
    const data =
      readRes.header.status === NtStatus.END_OF_FILE
        ? Buffer.alloc(0)
        : Buffer.from(parseReadResponse(readRes.message));
    return { info, data };
  }

  /** Opens a file for writing with FILE_WRITE_DATA + attribute access only (no WRITE_DAC/DELETE). */
  openForWrite(path: string, overwrite = true): Promise<FileHandle> {
    return this.open(path, {
      access: Access.FILE_WRITE_DATA | Access.FILE_READ_ATTRIBUTES | Access.FILE_WRITE_ATTRIBUTES,
      disposition: overwrite ? CreateDisposition.OVERWRITE_IF : CreateDisposition.CREATE,
      options: CreateOptions.NON_DIRECTORY_FILE,
      shareAccess: ShareAccess.READ,
    });
  }

  createWriteStream(path: string, o: WriteStreamOptions = {}): SmbWriteStream {
    return new SmbWriteStream(this, path, o);
  }

  /**
   * Writes a whole file from a Buffer or a byte stream. Small buffers take one round trip
   * (CREATE + WRITE [+ SET_INFO] + CLOSE). Returns the file's metadata after the write.
   */
  async writeFile(
    path: string,
    data: Buffer | Readable | AsyncIterable<Uint8Array>,
    o: WriteFileOptions = {},
  ): Promise<FileInfo> {
    const smbPath = toSmbPath(path);
    if (Buffer.isBuffer(data)) {
      const { link } = await this.connect();
      if (o.size !== undefined && o.size !== data.length)
        throw new ItemError(ErrorCode.PRECONDITION_FAILED, `Size mismatch writing ${path}`);
      if (data.length <= this.ioSize(link, 'write')) {
        const middle: OutgoingRequest[] = [];
        const names: string[] = [];
        if (data.length > 0) {
          middle.push({
            command: Command.WRITE,
            body: encodeWrite(RELATED_FILE_ID, 0, data),
            creditCharge: charge(data.length),
          });
          names.push('WRITE');
        }
        if (o.mtime || o.birthtime) {
          const t: SetTimesOptions = {};
          if (o.mtime) t.mtime = o.mtime;
          if (o.birthtime) t.birthtime = o.birthtime;
          middle.push({
            command: Command.SET_INFO,
            body: encodeSetInfo(
              RELATED_FILE_ID,
              InfoType.FILE,
              FileInfoClass.FileBasicInformation,
              basicFromTimes(t),
            ),
          });
          names.push('SET_INFO');
        }
        const r = await this.compound(
          smbPath,
          {
            access:
              Access.FILE_WRITE_DATA | Access.FILE_READ_ATTRIBUTES | Access.FILE_WRITE_ATTRIBUTES,
            disposition:
              o.overwrite === false ? CreateDisposition.CREATE : CreateDisposition.OVERWRITE_IF,
            options: CreateOptions.NON_DIRECTORY_FILE,
            shareAccess: ShareAccess.READ,
          },
          middle,
          names,
        );
        if (data.length > 0) {
          const n = parseWriteResponse(r.middle[0]!.message);
          if (n !== data.length)
            throw new ItemError(ErrorCode.CONNECTOR_ERROR, `Short write to ${path}`);
        }
        const info = closeInfo(r.close.message, smbPath);
        if (!info) throw protocolError('CLOSE without attributes');
        info.fileId = 0n;
        return info;
      }
      data = NodeReadable.from([data]);
    }
    const ws = this.createWriteStream(path, { ...o });
    await pipeline(data as AsyncIterable<Uint8Array>, ws);
    if (!ws.result) throw protocolError('write stream finished without a result');
    return ws.result;
  }

  /**
   * Writes a file of `o.size` bytes from a positional reader (a local file, a chunk store) with
   * `depth` WRITEs in flight from `depth` recycled buffers — the upload twin of `download()`: no
   * allocation per chunk, so no garbage-collection churn. Returns the file's metadata after the
   * write. On failure the handle is closed and the partly written file is left for the caller to
   * remove (write to a temporary name, then `rename`).
   */
  async upload(path: string, read: PositionalRead, o: UploadOptions): Promise<FileInfo> {
    if (!Number.isSafeInteger(o.size) || o.size < 0)
      throw new ItemError(ErrorCode.PRECONDITION_FAILED, `Invalid upload size ${o.size}`);
    for (const [k, v] of [
      ['chunkSize', o.chunkSize],
      ['depth', o.depth],
    ] as const)
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
        throw new ItemError(ErrorCode.PRECONDITION_FAILED, `Invalid upload ${k} ${v}`);
    const h = await this.openForWrite(path, o.overwrite ?? true);
    try {
      await writeFrom(h, read, {
        size: o.size,
        chunkSize: o.chunkSize ?? this.ioSize(h.link, 'write'),
        depth: o.depth ?? this.session.options.ioDepth,
        ...(o.onChunk ? { onChunk: o.onChunk } : {}),
      });
      const info = await finishWrite(h, path, o.size, o);
      if (!info) throw protocolError('CLOSE without attributes');
      return info;
    } finally {
      await h.close().catch(() => undefined);
    }
  }

  /** Renames/moves within the share; `replace` overwrites an existing target. */
  async rename(from: string, to: string, o: { replace?: boolean } = {}): Promise<void> {
    const src = toSmbPath(from);
    const dst = toSmbPath(to);
    await this.compound(
      src,
      { access: Access.DELETE | Access.FILE_READ_ATTRIBUTES | Access.SYNCHRONIZE },
      [
        {
          command: Command.SET_INFO,
          body: encodeSetInfo(
            RELATED_FILE_ID,
            InfoType.FILE,
            FileInfoClass.FileRenameInformation,
            encodeRenameInfo(dst, o.replace ?? false),
          ),
        },
      ],
      ['SET_INFO rename'],
    );
  }

  /** Deletes a file. */
  async delete(path: string): Promise<void> {
    await this.deleteEntry(toSmbPath(path), CreateOptions.NON_DIRECTORY_FILE);
  }

  /** Removes an empty directory. */
  async rmdir(path: string): Promise<void> {
    await this.deleteEntry(toSmbPath(path), CreateOptions.DIRECTORY_FILE);
  }

  private async deleteEntry(smbPath: string, options: number): Promise<void> {
    if (smbPath === '')
      throw new ItemError(ErrorCode.ITEM_ACCESS_DENIED, 'Refusing to delete the share root');
    await this.compound(
      smbPath,
      { access: Access.DELETE | Access.FILE_READ_ATTRIBUTES, options },
      [
        {
          command: Command.SET_INFO,
          body: encodeSetInfo(
            RELATED_FILE_ID,
            InfoType.FILE,
            FileInfoClass.FileDispositionInformation,
            encodeDispositionInfo(true),
          ),
        },
      ],
      ['SET_INFO delete'],
    );
  }

  /** Creates a directory; `recursive` creates missing parents and accepts an existing one. */
  async mkdir(path: string, o: { recursive?: boolean } = {}): Promise<void> {
    const smbPath = toSmbPath(path);
    if (o.recursive) {
      const parts = smbPath.split('\\').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        try {
          await this.mkdirOne(parts.slice(0, i).join('\\'));
        } catch (err) {
          if (!(err instanceof AppError && err.code === ErrorCode.NAME_CONFLICT)) throw err;
        }
      }
      return;
    }
    await this.mkdirOne(smbPath);
  }

  private async mkdirOne(smbPath: string): Promise<void> {
    await this.compound(
      smbPath,
      {
        access: Access.FILE_READ_ATTRIBUTES,
        disposition: CreateDisposition.CREATE,
        options: CreateOptions.DIRECTORY_FILE,
      },
      [],
      [],
    );
  }

  /** Sets creation/access/write/change times (others unchanged). */
  async setTimes(path: string, t: SetTimesOptions): Promise<void> {
    const smbPath = toSmbPath(path);
    await this.compound(
      smbPath,
      { access: Access.FILE_WRITE_ATTRIBUTES | Access.FILE_READ_ATTRIBUTES },
      [
        {
          command: Command.SET_INFO,
          body: encodeSetInfo(
            RELATED_FILE_ID,
            InfoType.FILE,
            FileInfoClass.FileBasicInformation,
            basicFromTimes(t),
          ),
        },
      ],
      ['SET_INFO times'],
    );
  }

  /** Sets DOS attributes (hidden/system/read-only/archive); unspecified bits keep their value. */
  async setAttributes(path: string, a: SetAttributesOptions): Promise<void> {
    const cur = await this.stat(path);
    let attrs = cur.attributes & ~FileAttribute.NORMAL;
    const apply = (bit: number, v: boolean | undefined) => {
      if (v === true) attrs |= bit;
      if (v === false) attrs &= ~bit;
    };
    apply(FileAttribute.HIDDEN, a.hidden);
    apply(FileAttribute.SYSTEM, a.system);
    apply(FileAttribute.READONLY, a.readOnly);
    apply(FileAttribute.ARCHIVE, a.archive);
    if (attrs === 0) attrs = FileAttribute.NORMAL;
    const smbPath = toSmbPath(path);
    await this.compound(
      smbPath,
      { access: Access.FILE_WRITE_ATTRIBUTES | Access.FILE_READ_ATTRIBUTES },
      [
        {
          command: Command.SET_INFO,
          body: encodeSetInfo(
            RELATED_FILE_ID,
            InfoType.FILE,
            FileInfoClass.FileBasicInformation,
            encodeBasicInfo({}, attrs),
          ),
        },
      ],
      ['SET_INFO attributes'],
    );
  }

  /** Owner, group and DACL (READ_CONTROL only), parsed into SIDs and ACEs. */
  async getSecurityDescriptor(path: string): Promise<SecurityDescriptor> {
    const smbPath = toSmbPath(path);
    let size = 16 * 1024;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { link } = await this.connect();
      const reqs = [
        this.createReq(smbPath, { access: Access.READ_CONTROL }),
        {
          command: Command.QUERY_INFO,
          related: true,
          creditCharge: charge(size),
          body: encodeQueryInfo(
            RELATED_FILE_ID,
            InfoType.SECURITY,
            0,
            size,
            SecurityInformation.OWNER | SecurityInformation.GROUP | SecurityInformation.DACL,
          ),
        },
        { command: Command.CLOSE, related: true, body: encodeClose(RELATED_FILE_ID) },
      ];
      const [c, q] = await Promise.all(this.sendMany(link, reqs));
      this.check(link, c!, this.ctx('CREATE', smbPath));
      if (q!.header.status === NtStatus.BUFFER_TOO_SMALL) {
        size = Math.min(size * 4, link.neg.maxTransactSize);
        continue;
      }
      this.check(link, q!, this.ctx('QUERY_INFO security', smbPath));
      return parseSecurityDescriptor(parseOutputBuffer(q!.message, 'QUERY_INFO security'));
    }
    throw protocolError('security descriptor too large');
  }

  /** FSCTL on an open handle (or on the tree with the related file id). */
  async ioctl(
    handle: FileHandle,
    ctlCode: number,
    input: Buffer,
    maxOutput: number,
  ): Promise<Buffer> {
    const res = await this.send(handle.link, {
      command: Command.IOCTL,
      creditCharge: charge(Math.max(input.length, maxOutput)),
      body: encodeIoctl({ ctlCode, fileId: handle.fileId, input, maxOutput }),
    });
    this.check(handle.link, res, this.ctx('IOCTL', handle.path), [
      NtStatus.SUCCESS,
      NtStatus.BUFFER_OVERFLOW,
    ]);
    return parseIoctlResponse(res.message);
  }

  /**
   * Watches a directory with CHANGE_NOTIFY (asynchronous; no request timeout). Iterate the result;
   * `close()` cancels the outstanding request and closes the handle.
   */
  async watch(dir: string, o: WatchOptions = {}): Promise<Watcher> {
    const handle = await this.open(dir, {
      access: Access.FILE_LIST_DIRECTORY | Access.FILE_READ_ATTRIBUTES | Access.SYNCHRONIZE,
      options: CreateOptions.DIRECTORY_FILE,
    });
    return new Watcher(this, handle, o);
  }

  /** TREE_DISCONNECT. */
  async disconnect(): Promise<void> {
    if (!this.state) return;
    const link = await this.session.getLink().catch(() => undefined);
    if (!link || this.stateGen !== link.generation) return;
    const res = await this.send(link, {
      command: Command.TREE_DISCONNECT,
      body: encodeEmpty(),
    }).catch(() => undefined);
    this.state = undefined;
    if (res)
      this.check(link, res, { command: 'TREE_DISCONNECT', share: this.share }, [
        NtStatus.SUCCESS,
        NtStatus.NETWORK_NAME_DELETED,
      ]);
  }

  /** @internal */
  parentPath(p: string): string {
    return toDisplayPath(parentOf(toSmbPath(p)));
  }
}

const ACTIONS: Record<number, ChangeAction> = {
  1: 'added',
  2: 'removed',
  3: 'modified',
  4: 'renamed-from',
  5: 'renamed-to',
};

/** Async iterable of directory changes. */
export class Watcher implements AsyncIterable<ChangeEvent> {
  private closed = false;
  private messageId: bigint | undefined;
  private current: Promise<Response> | undefined;

  constructor(
    private readonly tree: Tree,
    private readonly handle: FileHandle,
    private readonly o: WatchOptions,
  ) {}

  /** Waits for the next batch of changes (empty after close). */
  async next(): Promise<ChangeEvent[]> {
    if (this.closed) return [];
    const filter =
      this.o.filter ??
      CompletionFilter.FILE_NAME |
        CompletionFilter.DIR_NAME |
        CompletionFilter.ATTRIBUTES |
        CompletionFilter.SIZE |
        CompletionFilter.LAST_WRITE |
        CompletionFilter.SECURITY;
    const size = 64 * 1024;
    const link = this.handle.link;
    this.current = this.tree.send(link, {
      command: Command.CHANGE_NOTIFY,
      body: encodeChangeNotify(this.handle.fileId, filter, this.o.recursive ?? false, size),
      timeoutMs: null,
      onInterim: () => undefined,
      onWire: (raw) => (this.messageId = raw.readBigUInt64LE(24)),
    });
    let res: Response;
    try {
      res = await this.current;
    } catch (err) {
      if (this.closed) return [];
      throw err;
    } finally {
      this.current = undefined;
    }
    const s = res.header.status;
    if (s === NtStatus.CANCELLED || s === NtStatus.NOTIFY_CLEANUP) return [];
    if (s === NtStatus.NOTIFY_ENUM_DIR) return [{ action: 'overflow', path: '' }];
    this.tree.check(link, res, {
      command: 'CHANGE_NOTIFY',
      path: this.handle.path,
      share: this.tree.share,
    });
    const entries: NotifyEntry[] = parseFileNotifyInformation(
      parseOutputBuffer(res.message, 'CHANGE_NOTIFY response'),
    );
    return entries.map((e) => ({
      action: ACTIONS[e.action] ?? 'unknown',
      path: toDisplayPath(e.name),
    }));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChangeEvent> {
    while (!this.closed) {
      const batch = await this.next();
      for (const e of batch) yield e;
    }
  }

  /** Cancels the pending CHANGE_NOTIFY and closes the directory handle. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const link = this.handle.link;
    if (this.current && this.messageId !== undefined && !link.conn.closed) {
      const id = this.messageId;
      link.conn.cancel(id, sendOptions(link.session, this.tree.encrypted));
      // The server answers the cancelled request with STATUS_CANCELLED; never wait forever for it.
      const timer = setTimeout(
        () => link.conn.abandon(id, new CancelledError('CHANGE_NOTIFY cancelled')),
        Math.min(5000, this.tree.session.options.requestTimeoutMs),
      );
      await this.current.catch(() => undefined);
      clearTimeout(timer);
    }
    await this.handle.close().catch(() => undefined);
  }
}

export { ntStatusName };
