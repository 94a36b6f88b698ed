import { createHash } from 'node:crypto';
import { CancelledError } from '@scaidrive/core';
import type { ChunkStore, StagedChunk } from '../chunk-store/types.js';
import type { ChunkToucher } from '../chunk-refs.js';
import { ContentHasher, digestShared, sharedBuffer } from './hasher.js';
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

/** Chunks up to this size are hashed on the main thread (a thread-pool hop costs more). */
const MAIN_THREAD_DIGEST_BYTES = 256 * 1024;
/** First buffer of content of unknown size; it grows (copying) up to the chunk size. */
const FIRST_BUFFER_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Streams content into the chunk store: cuts it into `chunkSize` chunks, hashes each chunk and the
 * whole content (SHA-256), and stores every chunk durably before returning. Memory stays at a few
 * chunk buffers (a small pool, reused); buffers are sized to the announced size, so small content
 * costs small buffers.
 *
 * Hashing: chunk buffers live in SharedArrayBuffers that worker threads hash without a copy (see
 * hasher.ts): one message per chunk feeds the upload's whole-content hash and answers the chunk's
 * digest, while the main thread cuts the next chunk. Content of one chunk is hashed once (its
 * chunk digest is the content's digest), on this thread when small (cheaper than a thread hop).
 *
 * Per chunk: the `chunks` row is upserted with `touched_at = now()` FIRST (GC never takes a freshly
 * touched row, and waits for our upsert if it is deleting that chunk right now), then the bytes are
 * staged (a temp file) unless the store has them (dedupe), and sealed (fsync, rename, directory
 * fsync) in the background, a bounded number at once. Every seal has finished when this returns,
 * i.e. before the caller commits a version. Nothing references the chunks yet: if no version is
 * committed (crash, abort, error) they stay at ref_count 0 and GC removes them after the grace
 * period. Content of a single chunk is written and sealed in one step.
 */
export async function ingest(
  touch: ChunkToucher,
  store: ChunkStore,
  tenantId: string,
  input: AsyncIterable<Uint8Array | string>,
  options: IngestOptions,
): Promise<StoredContent> {
  const { chunkSize, signal, expectedSize } = options;
  const concurrency = options.concurrency ?? 4;
  const writes = new Limiter(concurrency);
  const seals = new Limiter(Infinity);
  const sealSlots = new Semaphore(options.sealConcurrency ?? 4);
  const pool: Buffer[] = [];
  // The whole-content hash, in a worker thread (started with the first chunk that needs it).
  let whole = null as ContentHasher | null;
  let wholeBytes = 0;
  const chunks: { hash: string; size: number }[] = [];
  const unsealed = new Set<StagedChunk>();
  let lastLease = Date.now();
  let total = 0; // bytes received
  let cut = 0; // bytes handed to chunks

  /** A buffer for the chunk starting at `offset`: chunk-sized (pooled) or what is left. */
  const bufferAt = (offset: number): Buffer => {
    const want =
      expectedSize !== undefined
        ? Math.min(chunkSize, Math.max(1, expectedSize - offset))
        : offset === 0
          ? Math.min(chunkSize, FIRST_BUFFER_BYTES)
          : chunkSize;
    return want === chunkSize ? (pool.pop() ?? sharedBuffer(chunkSize)) : sharedBuffer(want);
  };
  let buf = bufferAt(0);
  let fill = 0;

  const storeChunk = async (hash: string, data: Buffer, oneStep: boolean): Promise<void> => {
    const created = await touch(tenantId, [{ hash, size: data.length }]);
    // A row we just created means bytes are (almost certainly) not stored: skip the lookup.
    // Writing a chunk that does exist is harmless (same bytes, atomic rename).
    if (!created.has(hash) && (await store.has(tenantId, hash))) return;
    if (oneStep) return store.put(tenantId, hash, data);
    // A seal slot is taken before staging: bounds the fsyncs in flight (they hold thread-pool
    // threads the stream's reads need too) and the open temp files.
    await sealSlots.acquire();
    let staged: StagedChunk;
    try {
      staged = await store.stage(tenantId, hash, data);
    } catch (err) {
      sealSlots.release();
      throw err;
    }
    unsealed.add(staged);
    seals.run(async () => {
      try {
        await staged.seal();
        unsealed.delete(staged);
      } finally {
        sealSlots.release();
      }
    });
  };

  const flush = async (data: Buffer, owned: boolean, last: boolean): Promise<void> => {
    const entry = { hash: '', size: data.length };
    const only = last && chunks.length === 0;
    chunks.push(entry);
    if (only && data.length <= MAIN_THREAD_DIGEST_BYTES) {
      // Small content: hashed here, written and sealed in one step.
      entry.hash = createHash('sha256').update(data).digest('hex');
      await storeChunk(entry.hash, data, true);
      return;
    }
    await writes.whenBelowLimit();
    // Hash threads digest the chunk (and feed the whole-content hash, in flush order) while this
    // thread cuts the next one.
    let digest: Promise<string>;
    if (only) digest = digestShared(data);
    else {
      whole ??= new ContentHasher();
      digest = whole.chunk(data);
      wholeBytes += data.length;
    }
    digest.catch(() => undefined); // surfaced by the write task
    writes.run(async () => {
      try {
        entry.hash = await digest;
        await storeChunk(entry.hash, data, only);
      } finally {
        if (owned && data.length === chunkSize && pool.length < concurrency + 1) pool.push(data);
      }
    });
    if (Date.now() - lastLease > options.leaseRefreshMs) {
      lastLease = Date.now();
      await touch(
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
      if (expectedSize !== undefined && total > expectedSize)
        throw new ContentMismatchError(
          'ITEM_CHANGED_DURING_READ',
          `Content is longer than the announced ${expectedSize} bytes`,
        );
      if (options.maxBytes !== undefined && total > options.maxBytes)
        throw new QuotaExceededError('Share quota exceeded: the content does not fit', {
          details: { room_bytes: options.maxBytes },
        });
      let off = 0;
      while (off < piece.byteLength) {
        if (fill === buf.length) {
          // Only content of unknown size gets here (announced sizes size the buffers exactly):
          // grow the first buffer towards a whole chunk.
          const bigger = sharedBuffer(
            Math.min(chunkSize, Math.max(buf.length * 4, fill + piece.byteLength - off)),
          );
          buf.copy(bigger, 0, 0, fill);
          buf = bigger;
        }
        const n = Math.min(buf.length - fill, piece.byteLength - off);
        // (Copied, not kept: the caller may reuse its buffers, and chunk buffers are shared with
        // the hash threads.)
        buf.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === buf.length && (fill === chunkSize || cut + fill === expectedSize)) {
          const full = buf;
          cut += fill;
          const last = cut === expectedSize;
          await writes.whenBelowLimit();
          buf = last ? EMPTY : bufferAt(cut);
          fill = 0;
          await flush(full, true, last);
        }
      }
    }
    if (fill > 0) {
      cut += fill;
      await flush(buf.subarray(0, fill), false, true);
    }
    await writes.drain();
    await seals.drain();
  } catch (err) {
    // Let the work in flight settle so nothing is left half-done behind us, then drop what was
    // staged but never sealed (GC would sweep it too).
    await writes.settle();
    await seals.settle();
    await Promise.all([...unsealed].map((s) => s.discard()));
    whole?.drop();
    if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  }

  if (expectedSize !== undefined && total !== expectedSize)
    throw new ContentMismatchError(
      'ITEM_CHANGED_DURING_READ',
      `Content has ${total} bytes, ${expectedSize} were announced`,
    );
  // One chunk: its digest is the content's (the whole-content hash was never fed).
  const sha256 =
    wholeBytes !== total ? chunks[0]!.hash : whole ? await whole.digest() : EMPTY_SHA256;
  if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256)
    throw new ContentMismatchError('CHECKSUM_MISMATCH', 'Content does not match its SHA-256');
  return { size: total, sha256, chunkSize, chunks };
}

/** A counting semaphore (FIFO). */
class Semaphore {
  private readonly waiters: (() => void)[] = [];

  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
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
