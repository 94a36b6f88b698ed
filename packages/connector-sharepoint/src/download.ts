import { Readable, Transform, type TransformCallback } from 'node:stream';
import { CancelledError, ErrorCode, ItemError, classifyError } from '@scaidrive/core';
import type { Entry, ReadResult } from '@scaidrive/sync';
import type { SpContext } from './context.js';
import { graphError, readGraphFailure } from './errors.js';
import { sleep } from './pacer.js';
import { QuickXorHash } from './quickxor.js';

/** Mid-stream resumes per download before the failure is handed to the engine's retry. */
export const MAX_DOWNLOAD_RESUMES = 5;

/**
 * Downloads through the pre-authorised `@microsoft.graph.downloadUrl` (no bearer token: the URL
 * is on the SharePoint host and carries its own `tempauth`), verifying size and quickXorHash
 * against the entry as the bytes stream through. A connection lost midway is resumed where it
 * stopped (`Range: bytes=N-`, the same eTag required), so a long download does not start over;
 * the whole-file hash still covers every byte.
 */
export async function openDownload(
  ctx: SpContext,
  url: string,
  entry: Entry,
  opts: ResumeOptions & {
    /** The entry came from an earlier listing (see VerifyStream). */
    stale: boolean;
  },
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
  const source = Readable.from(resumingBody(ctx, url, res, opts), { objectMode: false });
  const verify = new VerifyStream(entry, opts.stale, opts.what);
  source.on('error', (e) => verify.destroy(e));
  return { stream: source.pipe(verify), entry };
}

interface ResumeOptions {
  signal?: AbortSignal;
  what: string;
  /** Called before each resume, with the offset it resumes at. */
  onResume?: (offset: number) => void;
  /**
   * A fresh download URL for the same item (its `tempauth` expires after about an hour), or null
   * when the item is gone; without it an expired link ends the read as changed.
   */
  refreshUrl?: () => Promise<string | null>;
}

async function* resumingBody(
  ctx: SpContext,
  firstUrl: string,
  first: Response,
  opts: ResumeOptions,
): AsyncGenerator<Uint8Array> {
  const eTag = first.headers.get('etag');
  const link = { url: firstUrl, refreshed: false };
  let res = first;
  let received = 0;
  for (let resumes = 0; ; resumes++) {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        yield chunk;
      }
      return;
    } catch (err) {
      if (opts.signal?.aborted) throw new CancelledError();
      if (resumes >= MAX_DOWNLOAD_RESUMES || classifyError(err).action !== 'retry') throw err;
      opts.onResume?.(received);
      await sleep(ctx.transport.pacer.failed(), opts.signal);
      res = await resumeAt(ctx, link, received, eTag, opts);
    }
  }
}

/** The rest of the content from `offset`, or an error saying why it cannot be had. */
async function resumeAt(
  ctx: SpContext,
  link: { url: string; refreshed: boolean },
  offset: number,
  eTag: string | null,
  opts: ResumeOptions,
): Promise<Response> {
  const res = await ctx.transport.fetchPreauthorized(link.url, {
    kind: 'download',
    signal: opts.signal,
    headers: { range: `bytes=${offset}-` },
  });
  const range = /^bytes (\d+)-\d+\/\d+$/.exec(res.headers.get('content-range') ?? '');
  const sameContent = !eTag || res.headers.get('etag') === eTag;
  if (res.status === 206 && range && Number(range[1]) === offset && sameContent && res.body)
    return res;
  await res.body?.cancel().catch(() => undefined);
  if (res.status === 206 || res.status === 200 || res.status === 416)
    throw new ItemError(
      ErrorCode.ITEM_CHANGED_DURING_READ,
      `${opts.what} changed on SharePoint while it was being downloaded`,
    );
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    // The link expired (or the item went away): ask Graph for a fresh one, once per download.
    const fresh = !link.refreshed && opts.refreshUrl ? await opts.refreshUrl() : null;
    if (fresh) {
      link.url = fresh;
      link.refreshed = true;
      return resumeAt(ctx, link, offset, eTag, opts);
    }
    throw new ItemError(
      ErrorCode.ITEM_CHANGED_DURING_READ,
      `${opts.what}: the download link expired or the file went away midway; it is read again on the next run`,
    );
  }
  throw graphError(await readGraphFailure(res), opts.what);
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
