import { Readable, Writable } from 'node:stream';
import { ErrorCode, ItemError } from '@scaidrive/core';
import type { FileHandle, Tree, WriteFileOptions } from './tree.js';
import type { FileInfo } from './types.js';
import { finishWrite } from './upload.js';

export interface ReadStreamOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive (default: end of file as of the open). */
  end?: number;
  /** Bytes per READ (default: negotiated maximum capped by `maxIoSize`). */
  chunkSize?: number;
  /** READs in flight (default: the session's `ioDepth`). */
  depth?: number;
}

/**
 * A file's bytes as a Readable. Up to `depth` READs are in flight; new ones are issued only while the
 * consumer keeps reading (back-pressure), so memory stays at about depth × chunkSize.
 */
export class SmbReadStream extends Readable {
  private handle: FileHandle | undefined;
  private next = 0;
  private end = 0;
  private chunk = 0;
  private depth = 1;
  private readonly queue: { offset: number; length: number; p: Promise<Buffer> }[] = [];
  private looping = false;
  /** Size of the file when it was opened. */
  size = 0;

  constructor(
    private readonly tree: Tree,
    private readonly path: string,
    private readonly o: ReadStreamOptions,
  ) {
    super({ highWaterMark: 1 });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    this.tree.openForRead(this.path).then(
      (h) => {
        this.handle = h;
        this.size = h.info.endOfFile;
        this.next = this.o.start ?? 0;
        this.end = Math.min(this.size, this.o.end !== undefined ? this.o.end + 1 : this.size);
        this.chunk = this.o.chunkSize ?? this.tree.ioSize(h.link, 'read');
        this.depth = this.o.depth ?? this.tree.session.options.ioDepth;
        this.emit('open', { size: this.size });
        cb();
      },
      (err: Error) => cb(err),
    );
  }

  private issue(): void {
    const h = this.handle!;
    while (this.queue.length < this.depth && this.next < this.end) {
      const length = Math.min(this.chunk, this.end - this.next);
      const p = h.read(this.next, length);
      p.catch(() => undefined);
      this.queue.push({ offset: this.next, length, p });
      this.next += length;
    }
  }

  override _read(): void {
    if (this.looping) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.issue();
        const head = this.queue.shift();
        if (!head) {
          await this.handle!.close();
          this.push(null);
          return;
        }
        const data = await head.p;
        if (this.destroyed) return;
        if (data.length !== head.length) {
          throw new ItemError(
            ErrorCode.ITEM_CHANGED_DURING_READ,
            `File ${this.path} changed while it was read (short read at ${head.offset})`,
            { details: { path: this.path } },
          );
        }
        if (!this.push(data)) {
          this.issue();
          this.looping = false;
          return;
        }
      }
    } catch (err) {
      this.looping = false;
      this.destroy(err as Error);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const h = this.handle;
    if (!h || h.closed) return cb(err);
    h.close().then(
      () => cb(err),
      () => cb(err),
    );
  }
}

export interface WriteStreamOptions extends Pick<
  WriteFileOptions,
  'overwrite' | 'size' | 'mtime' | 'birthtime'
> {
  chunkSize?: number;
  depth?: number;
  /** FLUSH before close (durability on the server). Default false. */
  flush?: boolean;
}

/**
 * A Writable that creates/overwrites a file. Input is gathered into chunks of the negotiated write
 * size; up to `depth` WRITEs are in flight, and the stream's callback waits when that many are
 * outstanding (back-pressure). After `finish`, `result` holds the file's metadata.
 */
export class SmbWriteStream extends Writable {
  private handle: FileHandle | undefined;
  private chunk = 0;
  private depth = 1;
  private buf: Buffer | undefined;
  private fill = 0;
  private offset = 0;
  private readonly inflight = new Set<Promise<number>>();
  private failure: Error | undefined;
  result: FileInfo | undefined;

  constructor(
    private readonly tree: Tree,
    private readonly path: string,
    private readonly o: WriteStreamOptions,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    this.tree.openForWrite(this.path, this.o.overwrite ?? true).then(
      (h) => {
        this.handle = h;
        this.chunk = this.o.chunkSize ?? this.tree.ioSize(h.link, 'write');
        this.depth = this.o.depth ?? this.tree.session.options.ioDepth;
        cb();
      },
      (err: Error) => cb(err),
    );
  }

  private send(data: Buffer): void {
    const p = this.handle!.write(this.offset, data);
    this.offset += data.length;
    this.inflight.add(p);
    p.then(
      () => this.inflight.delete(p),
      (err: Error) => {
        this.inflight.delete(p);
        this.failure ??= err;
      },
    );
  }

  private async waitBelow(n: number): Promise<void> {
    while (this.inflight.size > n) {
      await Promise.race(this.inflight).catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    let data = chunk;
    // Whole chunks straight from the input when nothing is buffered (no copy).
    while (this.fill === 0 && data.length >= this.chunk) {
      this.send(data.subarray(0, this.chunk));
      data = data.subarray(this.chunk);
    }
    while (data.length > 0) {
      this.buf ??= Buffer.allocUnsafe(this.chunk);
      const n = Math.min(data.length, this.chunk - this.fill);
      data.copy(this.buf, this.fill, 0, n);
      this.fill += n;
      data = data.subarray(n);
      if (this.fill === this.chunk) {
        this.send(this.buf);
        this.buf = undefined;
        this.fill = 0;
      }
    }
    if (this.inflight.size < this.depth) return cb();
    this.waitBelow(this.depth - 1).then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    void (async () => {
      if (this.fill > 0) {
        this.send(this.buf!.subarray(0, this.fill));
        this.buf = undefined;
        this.fill = 0;
      }
      await this.waitBelow(0);
      const info = await finishWrite(this.handle!, this.path, this.offset, this.o);
      if (info) this.result = info;
    })().then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const h = this.handle;
    if (!h || h.closed) return cb(err);
    h.close().then(
      () => cb(err),
      () => cb(err),
    );
  }
}
