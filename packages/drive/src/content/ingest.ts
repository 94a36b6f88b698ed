import { createHash } from 'node:crypto';
import { CancelledError } from '@scaidrive/core';
import type { ChunkStore } from '../chunk-store/types.js';
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
  /** Chunk writes in flight at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Streams content into the chunk store: cuts it into `chunkSize` chunks, hashes each chunk and the
 * whole content, and stores every chunk durably before returning. Memory stays at a few chunks.
 *
 * Per chunk: the `chunks` row is upserted with `touched_at = now()` FIRST (GC never takes a freshly
 * touched row and waits for our upsert if it is deleting that chunk right now), then the bytes are
 * written unless the store has them (dedupe). Nothing references the chunks yet: if the caller
 * never commits a version (crash, abort, error), they sit at ref_count 0 and GC removes them after
 * the grace period.
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
  const whole = createHash('sha256');
  const chunks: { hash: string; size: number }[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown = null;
  let lastLease = Date.now();
  let buf = Buffer.allocUnsafe(chunkSize);
  let fill = 0;
  let total = 0;

  const storeChunk = async (hash: string, data: Buffer): Promise<void> => {
    await touchChunks(db, tenantId, [{ hash, size: data.length }]);
    if (!(await store.has(tenantId, hash))) await store.put(tenantId, hash, data);
  };

  const flush = async (data: Buffer): Promise<void> => {
    const hash = createHash('sha256').update(data).digest('hex');
    chunks.push({ hash, size: data.length });
    const p: Promise<void> = storeChunk(hash, data)
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    while (inflight.size >= concurrency) await Promise.race(inflight);
    if (failure) throw failure;
    if (Date.now() - lastLease > options.leaseRefreshMs) {
      lastLease = Date.now();
      await touchChunks(db, tenantId, chunks);
    }
  };

  try {
    signal?.throwIfAborted();
    for await (const raw of input) {
      if (signal?.aborted) throw new CancelledError();
      if (failure) throw failure;
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
          buf = Buffer.allocUnsafe(chunkSize);
          fill = 0;
          await flush(full);
        }
      }
    }
    if (fill > 0) await flush(buf.subarray(0, fill));
    await Promise.all(inflight);
    if (failure) throw failure;
  } catch (err) {
    // Let the writes in flight finish (or fail) so nothing is left half-done behind us.
    await Promise.allSettled(inflight);
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
