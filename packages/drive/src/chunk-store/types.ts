import type { Readable } from 'node:stream';

/** A chunk address: the tenant it belongs to and the SHA-256 (lowercase hex) of its bytes. */
export interface ChunkRef {
  tenantId: string;
  hash: string;
}

/** A stored object found by `list()`. */
export interface StoredChunk extends ChunkRef {
  size: number;
  modifiedAt: Date;
}

/** Bytes written by `stage()` but not yet durable or visible under their address. */
export interface StagedChunk {
  /** fsync + rename into place (+ directory fsync): afterwards the chunk survives a crash. */
  seal(): Promise<void>;
  /** Drops the staged bytes (best effort; leftovers are swept by GC). */
  discard(): Promise<void>;
}

/**
 * Where chunk bytes live. Chunks are immutable and content-addressed; the database (`chunks` rows,
 * reference counts) decides what is alive, the store only keeps bytes.
 * Layout (both drivers): `chunks/{tenant_id}/{hash[0:2]}/{hash[2:4]}/{hash}`.
 */
export interface ChunkStore {
  readonly kind: 'local' | 's3';
  /**
   * Stores a chunk durably and atomically: when this resolves the bytes survive a crash, and a
   * reader never sees a partial object (local: temp file + fsync + rename + dir fsync; S3: one
   * PUT). Storing a chunk that exists is harmless. A full volume is a QuotaExceededError.
   */
  put(tenantId: string, hash: string, data: Uint8Array): Promise<void>;
  /**
   * The first half of `put`: the bytes are written (the buffer may be reused as soon as this
   * resolves) but become durable and visible only with `seal()`. Lets an upload overlap many
   * fsyncs with streaming. Drivers without a staging area store the chunk here and seal is a no-op.
   */
  stage(tenantId: string, hash: string, data: Uint8Array): Promise<StagedChunk>;
  has(tenantId: string, hash: string): Promise<boolean>;
  /**
   * Streams a chunk, or the byte range `[start, end)` of it. A missing chunk is an AppError
   * INTERNAL (the database says it exists: that is lost data, never an empty read).
   */
  read(tenantId: string, hash: string, range?: { start: number; end: number }): Promise<Readable>;
  /** A chunk (or `[start, end)` of it) as one buffer: chunks are small enough to hold. */
  readBuffer(
    tenantId: string,
    hash: string,
    range?: { start: number; end: number },
  ): Promise<Buffer>;
  /** Removes a chunk; removing a missing chunk is not an error. */
  delete(tenantId: string, hash: string): Promise<void>;
  /** Every stored chunk (for orphan sweeps and audits), in no particular order. */
  list(tenantId?: string): AsyncIterable<StoredChunk>;
  /** Removes leftovers of interrupted writes older than `olderThanMs` (local driver). */
  sweepTemp?(olderThanMs: number): Promise<number>;
  close?(): Promise<void>;
}

export function chunkKey(tenantId: string, hash: string): string {
  return `chunks/${tenantId}/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
}

const HASH_RE = /^[0-9a-f]{64}$/;
const TENANT_RE = /^[a-z]+_[0-9A-Za-z]+$/;

/** Guards against path tricks: chunk addresses come from our own hashing, never from users. */
export function assertChunkRef(tenantId: string, hash: string): void {
  if (!HASH_RE.test(hash) || !TENANT_RE.test(tenantId))
    throw new Error(`invalid chunk address ${tenantId}/${hash}`);
}
