import { createHash, webcrypto } from 'node:crypto';
import { CancelledError } from '@scaidrive/core';
import type { ChunkStore, StagedChunk } from '../chunk-store/types.js';
import { touchChunks } from '../chunk-refs.js';
import type { Db } from '../db.js';
import { ContentMismatchError, QuotaExceededError } from '../errors.js';
import type { StoredContent } from '../versions.js';

export interface IngestOptions {
  chunkSize: number;
  /** Exact byte count announced by the caller; more or fewer bytes fail the ingest. */
  expectedSize?: number;
  /** Whole-content SHA-256 (hex) announced by the caller. */
  expectedSha256?: string;
  /** Room left in the share quota: more bytes fail early with QuotaExceededError. */
  maxBytes?: number;
  /** Re-touch the chunks written so far this often, so GC leaves a long upload alone. */
  leaseRefreshMs: number;
  /** Chunk writes in flight at once (default 4; each holds one chunk buffer). */
  concurrency?: number;
  /** Chunk seals (fsync + rename) in flight at once (default 4; they hold no buffer). */
  sealConcurrency?: number;
  signal?: AbortSignal;
}

/**
 * Streams content into the chunk store: cuts it into `chunkSize` chunks, hashes each chunk and the
 * whole content, and stores every chunk durably before returning. Memory stays at a few chunk
 * buffers (a small pool, reused).
 *
 * Per chunk: the `chunks` row is upserted with `touched_at = now()` FIRST (GC never takes a freshly
 * touched row, and waits for our upsert if it is deleting that chunk right now), then the bytes are
 * staged (a temp file) unless the store has them (dedupe), and sealed (fsync, rename, directory
 * fsync) in the background, many at once. Every seal has finished when this returns, i.e. before
 * the caller commits a version. Nothing references the chunks yet: if no version is committed
 * (crash, abort, error) they stay at ref_count 0 and GC removes them after the grace period.
 */
export async function ingest(
  db: Db,
  store: ChunkStore,
  tenantId: string,
  input: AsyncIterable<Uint8Array | string>,
  options: IngestOptions,
): Promise<StoredContent> {
  const { chunkSize, signal } = options;
  const concurrency = options.concurrency ?? 4;
  const writes = new Limiter(concurrency);
  const seals = new Limiter(options.sealConcurrency ?? 4);
  const pool: Buffer[] = [];
  const whole = createHash('sha256');
  const chunks: { hash: string; size: number }[] = [];
  const unsealed = new Set<StagedChunk>();
  let lastLease = Date.now();
  let buf: Buffer = Buffer.allocUnsafe(chunkSize);
  let fill = 0;
  let total = 0;

  const storeChunk = async (hash: string, data: Buffer): Promise<void> => {
    await touchChunks(db, tenantId, [{ hash, size: data.length }]);
    if (await store.has(tenantId, hash)) return;
    const staged = await store.stage(tenantId, hash, data);
    unsealed.add(staged);
    seals.run(async () => {
      await staged.seal();
      unsealed.delete(staged);
    });
  };

  const flush = async (data: Buffer, owned: boolean): Promise<void> => {
    // The chunk's own SHA-256 runs on the thread pool (WebCrypto digest), in parallel with the
    // main thread cutting and hashing the next piece of the stream.
    const entry = { hash: '', size: data.length };
    chunks.push(entry);
    await writes.whenBelowLimit();
    writes.run(async () => {
      try {
        entry.hash = Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
        await storeChunk(entry.hash, data);
      } finally {
        if (owned && pool.length < concurrency + 1) pool.push(data);
      }
    });
    if (Date.now() - lastLease > options.leaseRefreshMs) {
      lastLease = Date.now();
      await touchChunks(
        db,
        tenantId,
        chunks.filter((c) => c.hash !== ''),
      );
    }
  };

  try {
    signal?.throwIfAborted();
    for await (const raw of input) {
      if (signal?.aborted) throw new CancelledError();
      writes.throwIfFailed();
      seals.throwIfFailed();
      const piece = typeof raw === 'string' ? Buffer.from(raw) : raw;
      total += piece.byteLength;
      if (options.expectedSize !== undefined && total > options.expectedSize)
        throw new ContentMismatchError(
          'ITEM_CHANGED_DURING_READ',
          `Content is longer than the announced ${options.expectedSize} bytes`,
        );
      if (options.maxBytes !== undefined && total > options.maxBytes)
        throw new QuotaExceededError('Share quota exceeded: the content does not fit', {
          details: { room_bytes: options.maxBytes },
        });
      whole.update(piece);
      let off = 0;
      while (off < piece.byteLength) {
        const n = Math.min(chunkSize - fill, piece.byteLength - off);
        buf.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === chunkSize) {
          const full = buf;
          await writes.whenBelowLimit();
          buf = pool.pop() ?? Buffer.allocUnsafe(chunkSize);
          fill = 0;
          await flush(full, true);
        }
      }
    }
    if (fill > 0) await flush(buf.subarray(0, fill), false);
    await writes.drain();
    await seals.drain();
  } catch (err) {
    // Let the work in flight settle so nothing is left half-done behind us, then drop what was
    // staged but never sealed (GC would sweep it too).
    await writes.settle();
    await seals.settle();
    await Promise.all([...unsealed].map((s) => s.discard()));
    if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  }

  if (options.expectedSize !== undefined && total !== options.expectedSize)
    throw new ContentMismatchError(
      'ITEM_CHANGED_DURING_READ',
      `Content has ${total} bytes, ${options.expectedSize} were announced`,
    );
  const sha256 = whole.digest('hex');
  if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256)
    throw new ContentMismatchError('CHECKSUM_MISMATCH', 'Content does not match its SHA-256');
  return { size: total, sha256, chunkSize, chunks };
}

/** Runs tasks with at most `limit` in flight; remembers the first failure. */
class Limiter {
  private readonly inflight = new Set<Promise<void>>();
  private failure: { err: unknown } | null = null;

  constructor(private readonly limit: number) {}

  run(task: () => Promise<void>): void {
    const p: Promise<void> = task()
      .catch((err: unknown) => {
        this.failure ??= { err };
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  async whenBelowLimit(): Promise<void> {
    while (this.inflight.size >= this.limit) await Promise.race(this.inflight);
    this.throwIfFailed();
  }

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    this.throwIfFailed();
  }

  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.race(this.inflight);
  }
}
