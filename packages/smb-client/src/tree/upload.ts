import { ErrorCode, ItemError } from '@scaidrive/core';
import type { FileHandle } from './tree.js';
import type { FileInfo, SetTimesOptions } from './types.js';

/**
 * Reads up to `buffer.length` bytes of the source at `position` into `buffer` and resolves with the
 * count (0 only at the end). The buffer is the caller's: it is refilled for later WRITEs, so the
 * reader must not keep it. `fs.promises.FileHandle.read` fits: `(b, p) => fh.read(b, 0, b.length, p).then((r) => r.bytesRead)`.
 */
export type PositionalRead = (buffer: Buffer, position: number) => Promise<number>;

export interface UploadOptions {
  /** Bytes to write: exactly this many are read from the source; a shorter source fails the upload. */
  size: number;
  /** Replace an existing file (default true); false fails with NAME_CONFLICT if it exists. */
  overwrite?: boolean;
  mtime?: Date;
  birthtime?: Date;
  /** Bytes per WRITE (default: negotiated maximum capped by `maxIoSize`). */
  chunkSize?: number;
  /** WRITEs in flight, and buffers owned (default: the session's `ioDepth`). */
  depth?: number;
  /** FLUSH before close (durability on the server). Default false. */
  flush?: boolean;
  /**
   * Sees each chunk in order, synchronously, before it is sent (e.g. `hash.update`); it must not
   * keep the buffer.
   */
  onChunk?: (chunk: Buffer) => void;
}

/**
 * Writes `size` bytes from `read` through the open handle with `depth` WRITEs in flight, each from
 * one of `depth` buffers that is refilled once the server has answered its WRITE: a long upload
 * allocates nothing per chunk (the stream path allocates one buffer per chunk in its producer and
 * pays for it in garbage collection). A buffer is only refilled after its WRITE's response, when
 * the socket has long handed its bytes to the kernel.
 */
export async function writeFrom(
  h: FileHandle,
  read: PositionalRead,
  o: { size: number; chunkSize: number; depth: number; onChunk?: (chunk: Buffer) => void },
): Promise<void> {
  const free: Buffer[] = [];
  const waiting: (() => void)[] = [];
  const inflight = new Set<Promise<unknown>>();
  let failure: unknown;
  let made = 0;
  const take = async (): Promise<Buffer> => {
    while (free.length === 0) {
      if (made < o.depth) {
        made++;
        return Buffer.allocUnsafe(Math.min(o.chunkSize, o.size));
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    return free.pop()!;
  };
  const give = (buf: Buffer): void => {
    free.push(buf);
    waiting.shift()?.();
  };
  try {
    for (let offset = 0; offset < o.size;) {
      const buf = await take();
      if (failure) throw failure;
      const want = Math.min(buf.length, o.size - offset);
      const view = buf.subarray(0, want);
      let got = 0;
      while (got < want) {
        const room = want - got;
        const n = await read(view.subarray(got), offset + got);
        if (n === 0) break;
        if (!Number.isSafeInteger(n) || n < 0 || n > room)
          throw new Error(`The source reader returned ${n} for a buffer of ${room} bytes`);
        got += n;
      }
      // A WRITE that failed while this chunk was read: stop before sending another.
      if (failure) break;
      if (got < want)
        throw new ItemError(
          ErrorCode.ITEM_CHANGED_DURING_READ,
          `The source ended after ${offset + got} of ${o.size} bytes`,
        );
      o.onChunk?.(view);
      const p = h.write(offset, view).then(
        () => {
          inflight.delete(p);
          give(buf);
        },
        (err: unknown) => {
          inflight.delete(p);
          failure ??= err;
          // Wake the loop so it sees the failure instead of waiting for a buffer forever.
          give(buf);
        },
      );
      inflight.add(p);
      offset += want;
    }
  } finally {
    await Promise.all(inflight);
  }
  if (failure) throw failure;
}

/** Size check, optional FLUSH and times, then CLOSE: the end of every write to a handle. */
export async function finishWrite(
  h: FileHandle,
  path: string,
  written: number,
  o: {
    size?: number | undefined;
    flush?: boolean | undefined;
    mtime?: Date | undefined;
    birthtime?: Date | undefined;
  },
): Promise<FileInfo | undefined> {
  if (o.size !== undefined && o.size !== written) {
    throw new ItemError(
      ErrorCode.PRECONDITION_FAILED,
      `Size mismatch writing ${path}: expected ${o.size}, got ${written}`,
    );
  }
  if (o.flush) await h.flush();
  if (o.mtime || o.birthtime) {
    const t: SetTimesOptions = {};
    if (o.mtime) t.mtime = o.mtime;
    if (o.birthtime) t.birthtime = o.birthtime;
    await h.setTimes(t);
  }
  return h.close();
}
