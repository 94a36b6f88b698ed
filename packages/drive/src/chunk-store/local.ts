import { randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError, ErrorCode } from '@scaidrive/core';
import { QuotaExceededError } from '../errors.js';
import {
  assertChunkRef,
  chunkKey,
  type ChunkStore,
  type StagedChunk,
  type StoredChunk,
} from './types.js';

const TEMP_PREFIX = '.tmp-';

/** Chunks on a local volume (`BLOB_DIR`), one file per chunk. */
export class LocalChunkStore implements ChunkStore {
  readonly kind = 'local' as const;
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {}

  pathOf(tenantId: string, hash: string): string {
    assertChunkRef(tenantId, hash);
    return path.join(this.root, chunkKey(tenantId, hash));
  }

  /**
   * One step: temp file written and fdatasynced on one descriptor, renamed into place, directory
   * fsynced. (Small chunks go this way: nothing to overlap the fsync with.)
   */
  async put(tenantId: string, hash: string, data: Uint8Array): Promise<void> {
    const { tmp, dir, fh } = await this.writeTemp(tenantId, hash, data);
    await this.guard(tmp, dir, async () => {
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.pathOf(tenantId, hash));
      await syncDir(dir);
    });
  }

  /**
   * Writes the bytes to a temp file and keeps it open; `seal()` fdatasyncs it on the same
   * descriptor, renames it into place and fsyncs the directory.
   */
  async stage(tenantId: string, hash: string, data: Uint8Array): Promise<StagedChunk> {
    const { tmp, dir, fh } = await this.writeTemp(tenantId, hash, data);
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await fh.close();
    };
    return {
      seal: () =>
        this.guard(tmp, dir, async () => {
          try {
            await fh.datasync();
          } finally {
            await close();
          }
          await rename(tmp, this.pathOf(tenantId, hash));
          await syncDir(dir);
        }),
      discard: async () => {
        await close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
      },
    };
  }

  /** A new temp file next to the chunk's place with `data` written, still open. */
  private async writeTemp(
    tenantId: string,
    hash: string,
    data: Uint8Array,
  ): Promise<{ tmp: string; dir: string; fh: FileHandle }> {
    const dir = path.dirname(this.pathOf(tenantId, hash));
    const tmp = path.join(dir, `${TEMP_PREFIX}${hash}-${randomBytes(6).toString('hex')}`);
    let fh: FileHandle | undefined;
    await this.guard(tmp, dir, async () => {
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      fh = await open(tmp, 'wx', 0o640);
      try {
        let off = 0;
        while (off < data.byteLength) {
          const { bytesWritten } = await fh.write(data, off, data.byteLength - off);
          off += bytesWritten;
        }
      } catch (err) {
        await fh.close().catch(() => undefined);
        throw err;
      }
    });
    return { tmp, dir, fh: fh! };
  }

  /** Runs a write step; on failure removes the temp file and maps a full volume to QUOTA_EXCEEDED. */
  private async guard(tmp: string, dir: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.madeDirs.delete(dir);
      if (code === 'ENOSPC' || code === 'EDQUOT')
        throw new QuotaExceededError('The storage volume is full', { cause: err });
      throw err;
    }
  }

  async has(tenantId: string, hash: string): Promise<boolean> {
    try {
      await stat(this.pathOf(tenantId, hash));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async read(
    tenantId: string,
    hash: string,
    range?: { start: number; end: number },
  ): Promise<Readable> {
    const file = this.pathOf(tenantId, hash);
    const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        throw new AppError(ErrorCode.INTERNAL, `Content chunk ${hash} is missing from the store`);
      throw err;
    });
    return createReadStream('', {
      fd: fh,
      start: range?.start,
      end: range ? range.end - 1 : undefined,
      highWaterMark: 1024 * 1024,
    });
  }

  async readBuffer(
    tenantId: string,
    hash: string,
    range?: { start: number; end: number },
  ): Promise<Buffer> {
    const file = this.pathOf(tenantId, hash);
    const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        throw new AppError(ErrorCode.INTERNAL, `Content chunk ${hash} is missing from the store`);
      throw err;
    });
    try {
      const start = range?.start ?? 0;
      const length = range ? range.end - range.start : (await fh.stat()).size;
      const buf = Buffer.allocUnsafe(length);
      let off = 0;
      while (off < length) {
        const { bytesRead } = await fh.read(buf, off, length - off, start + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      if (off !== length)
        throw new AppError(ErrorCode.INTERNAL, `Content chunk ${hash} is shorter than expected`);
      return buf;
    } finally {
      await fh.close();
    }
  }

  async delete(tenantId: string, hash: string): Promise<void> {
    await rm(this.pathOf(tenantId, hash), { force: true });
  }

  async *list(tenantId?: string): AsyncIterable<StoredChunk> {
    const base = path.join(this.root, 'chunks');
    const tenants = tenantId ? [tenantId] : await names(base);
    for (const t of tenants) {
      for (const a of await names(path.join(base, t))) {
        for (const b of await names(path.join(base, t, a))) {
          const dir = path.join(base, t, a, b);
          for (const entry of await entries(dir)) {
            if (!entry.isFile() || entry.name.startsWith(TEMP_PREFIX)) continue;
            const st = await stat(path.join(dir, entry.name)).catch(() => null);
            if (st) yield { tenantId: t, hash: entry.name, size: st.size, modifiedAt: st.mtime };
          }
        }
      }
    }
  }

  /** Removes temp files of writes that never finished (a crash between write and rename). */
  async sweepTemp(olderThanMs: number): Promise<number> {
    const base = path.join(this.root, 'chunks');
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const t of await names(base))
      for (const a of await names(path.join(base, t)))
        for (const b of await names(path.join(base, t, a))) {
          const dir = path.join(base, t, a, b);
          for (const entry of await entries(dir)) {
            if (!entry.name.startsWith(TEMP_PREFIX)) continue;
            const file = path.join(dir, entry.name);
            const st = await stat(file).catch(() => null);
            if (st && st.mtimeMs < cutoff) {
              await rm(file, { force: true });
              removed++;
            }
          }
        }
    return removed;
  }
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function names(dir: string): Promise<string[]> {
  return (await entries(dir)).filter((e) => e.isDirectory()).map((e) => e.name);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
