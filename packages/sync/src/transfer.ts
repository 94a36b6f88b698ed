import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ErrorCode, ItemError } from '@scaidrive/core';
import { treeOf, withRetry, type RunContext } from './context.js';
import { hashesEqual, type SideName } from './fingerprint.js';
import type { Entry, FileTree, RelPath } from './ports.js';

/** The entry still describes the same content (size, time, change token, comparable hash). */
export function sameSnapshot(a: Entry, b: Entry | null): boolean {
  if (!b || a.kind !== b.kind || a.size !== b.size || a.mtimeMs !== b.mtimeMs) return false;
  if (a.version !== undefined && b.version !== undefined && a.version !== b.version) return false;
  return hashesEqual(a.hash, b.hash) !== false;
}

function changedDuringRead(path: string, what: string): ItemError {
  return new ItemError(
    ErrorCode.ITEM_CHANGED_DURING_READ,
    `${path} changed while it was being read (${what}); it is retried in the next run`,
  );
}

/**
 * Counts and hashes bytes on their way through; at the end (before the consumer sees EOF, so
 * before the destination commits) checks the byte count and re-stats the origin. Any mismatch
 * errors the stream and the destination write fails without leaving anything behind.
 */
class VerifyingStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  digest: string | null = null;

  constructor(
    private readonly path: string,
    private readonly expected: Entry,
    private readonly recheck: () => Promise<Entry | null>,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.size) {
      cb(changedDuringRead(this.path, 'it grew'));
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.bytes !== this.expected.size) {
      cb(changedDuringRead(this.path, `read ${this.bytes} of ${this.expected.size} bytes`));
      return;
    }
    const digest = this.hash.digest('hex');
    const sha = hashesEqual(this.expected.hash, `sha256:${digest}`);
    if (sha === false) {
      cb(
        new ItemError(
          ErrorCode.CHECKSUM_MISMATCH,
          `${this.path}: content does not match its SHA-256`,
        ),
      );
      return;
    }
    this.recheck().then(
      (now) => {
        if (!sameSnapshot(this.expected, now)) cb(changedDuringRead(this.path, 'changed on disk'));
        else {
          this.digest = digest;
          cb();
        }
      },
      (err: unknown) => cb(err as Error),
    );
  }
}

export interface CopyResult {
  /** The origin entry as read (verified unchanged at the end of the read). */
  from: Entry;
  /** The destination entry after the write. */
  written: Entry;
  /** `sha256:<hex>` of the bytes copied. */
  sha256: string;
  bytes: number;
}

export interface CopyRequest {
  from: SideName;
  fromPath: RelPath;
  /** The origin entry as listed: the copy fails when the file no longer looks like this. */
  expected: Entry;
  to: SideName;
  toPath: RelPath;
  /** Destination precondition (`null` = must not exist). */
  ifMatch: string | null | undefined;
  /**
   * Count the bytes in the run's `bytesTransferred` as they flow (so a long transfer shows
   * progress), taking them back if the attempt fails. Off for copies within one side.
   */
  countBytes?: boolean;
}

/**
 * Streams one file from one side to the other (or to another path on the same side), hashing on
 * the fly, verifying the origin did not change, with per-file retries for retryable errors.
 */
export function copyFile(
  ctx: RunContext,
  req: CopyRequest,
  displayPath: string,
): Promise<CopyResult> {
  return withRetry(ctx, displayPath, () =>
    copyOnce(ctx, treeOf(ctx, req.from), treeOf(ctx, req.to), req, displayPath),
  );
}

async function copyOnce(
  ctx: RunContext,
  fromTree: FileTree,
  toTree: FileTree,
  req: CopyRequest,
  displayPath: string,
): Promise<CopyResult> {
  const signal = ctx.signal;
  const opened = await fromTree.read(req.fromPath, signal);
  if (!sameSnapshot(req.expected, opened.entry)) {
    opened.stream.destroy();
    throw changedDuringRead(displayPath, 'changed since it was listed');
  }
  let counted = 0;
  let failed = false;
  const verify = new VerifyingStream(
    displayPath,
    opened.entry,
    () => fromTree.stat(req.fromPath, signal),
    req.countBytes
      ? (n) => {
          if (failed) return;
          counted += n;
          ctx.acct.count('bytesTransferred', n);
        }
      : undefined,
  );
  try {
    return await pipeAndWrite(opened, verify, toTree, req, displayPath, signal);
  } catch (err) {
    // A failed attempt moved nothing that stays: its bytes are not counted (a retry counts anew).
    // A destination that gave up without reading to the end leaves the origin piping: stop it.
    failed = true;
    verify.destroy();
    if (counted > 0) ctx.acct.count('bytesTransferred', -counted);
    throw err;
  }
}

async function pipeAndWrite(
  opened: { stream: Readable; entry: Entry },
  verify: VerifyingStream,
  toTree: FileTree,
  req: CopyRequest,
  displayPath: string,
  signal: AbortSignal,
): Promise<CopyResult> {
  // Plain piping (a per-file `pipeline` costs an AbortController and its DOMException): errors of
  // the origin stream reach the destination through `verify`, and a destination that gives up
  // destroys `verify`, which stops the origin.
  opened.stream.on('error', (err) => verify.destroy(err));
  opened.stream.on('close', () => {
    if (!opened.stream.readableEnded)
      verify.destroy(changedDuringRead(displayPath, 'the read stopped early'));
  });
  verify.on('error', () => opened.stream.destroy());
  verify.on('close', () => opened.stream.destroy());
  const content = opened.stream.pipe(verify);
  const expectedSha =
    opened.entry.hash && opened.entry.hash.startsWith('sha256:')
      ? opened.entry.hash.slice('sha256:'.length)
      : undefined;
  const written = await toTree.write(req.toPath, content, {
    size: opened.entry.size,
    mtimeMs: opened.entry.mtimeMs,
    ifMatch: req.ifMatch,
    ...(expectedSha ? { expectedSha256: expectedSha } : {}),
    signal,
  });
  if (verify.digest === null) {
    // The destination returned without consuming the stream to its end.
    throw changedDuringRead(displayPath, 'the copy did not complete');
  }
  // A side that rewrote what it was sent (and said so) keeps its rendition; the sent bytes were
  // verified above and by the side's own acknowledgement.
  if (written.size !== opened.entry.size && !written.rewritten)
    throw new ItemError(
      ErrorCode.CHECKSUM_MISMATCH,
      `${displayPath}: wrote ${written.size} bytes, expected ${opened.entry.size}`,
    );
  return { from: opened.entry, written, sha256: `sha256:${verify.digest}`, bytes: verify.bytes };
}

/** `sha256:<hex>` of a file's current content, verified unchanged against `expected`. */
export function hashFile(
  ctx: RunContext,
  side: SideName,
  path: RelPath,
  expected: Entry,
  displayPath: string,
): Promise<string> {
  if (expected.hash?.startsWith('sha256:')) return Promise.resolve(expected.hash);
  const tree = treeOf(ctx, side);
  return withRetry(ctx, displayPath, async () => {
    const opened = await tree.read(path, ctx.signal);
    if (!sameSnapshot(expected, opened.entry)) {
      opened.stream.destroy();
      throw changedDuringRead(displayPath, 'changed since it was listed');
    }
    const h = createHash('sha256');
    let bytes = 0;
    for await (const chunk of opened.stream as AsyncIterable<Buffer>) {
      h.update(chunk);
      bytes += chunk.length;
    }
    const now = await tree.stat(path, ctx.signal);
    if (bytes !== expected.size || !sameSnapshot(expected, now))
      throw changedDuringRead(displayPath, 'changed on disk');
    return `sha256:${h.digest('hex')}`;
  });
}
