import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ErrorCode, ItemError } from '@scaidrive/core';
import type { Entry, ReadResult } from '@scaidrive/sync';
import type { SpContext } from './context.js';
import { graphError, readGraphFailure } from './errors.js';
import { QuickXorHash } from './quickxor.js';

/**
 * Downloads through the pre-authorised `@microsoft.graph.downloadUrl` (no bearer token: the URL
 * is on the SharePoint host and carries its own `tempauth`), verifying size and quickXorHash
 * against the entry as the bytes stream through.
 */
export async function openDownload(
  ctx: SpContext,
  url: string,
  entry: Entry,
  opts: { signal?: AbortSignal; stale: boolean; what: string },
): Promise<ReadResult | 'stale-url'> {
  const res = await ctx.transport.fetchPreauthorized(url, {
    kind: 'download',
    signal: opts.signal,
  });
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    await res.body?.cancel().catch(() => undefined);
    return 'stale-url';
  }
  if (!res.ok || !res.body) throw graphError(await readGraphFailure(res), opts.what);
  const source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  const verify = new VerifyStream(entry, opts.stale, opts.what);
  source.on('error', (e) => verify.destroy(e));
  return { stream: source.pipe(verify), entry };
}

/** Passes bytes through, then fails the stream if size or quickXorHash differ from the entry. */
export class VerifyStream extends Transform {
  private readonly hash = new QuickXorHash();
  constructor(
    private readonly entry: Entry,
    /** The entry came from an earlier listing: a mismatch means "changed since", not corruption. */
    private readonly stale: boolean,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = `quickxor:${this.hash.digestBase64()}`;
    const sizeOk = this.entry.kind !== 'file' || this.hash.bytes === this.entry.size;
    const hashOk = !this.entry.hash?.startsWith('quickxor:') || this.entry.hash === got;
    if (sizeOk && hashOk) return cb();
    if (this.stale)
      return cb(
        new ItemError(
          ErrorCode.ITEM_CHANGED_DURING_READ,
          `${this.what} changed on SharePoint while it was being read`,
        ),
      );
    cb(
      new ItemError(
        ErrorCode.CHECKSUM_MISMATCH,
        `${this.what}: downloaded ${this.hash.bytes} bytes with quickXorHash ${got.slice(9)}, expected ${this.entry.size} bytes with ${this.entry.hash?.slice(9) ?? '?'}`,
      ),
    );
  }
}
