import type { Readable } from 'node:stream';
import { AppError, ErrorCode, ItemError, UnreachableError } from '@scaidrive/core';
import type { SpContext } from './context.js';
import { graphError, readGraphFailure } from './errors.js';
import type { DriveItem } from './items.js';
import { QuickXorHash } from './quickxor.js';

/**
 * Uploads: a simple `PUT …/content` for small files (≤ 4 MiB, Graph's small-file rule) and an
 * upload session for the rest, sent in fragments that are multiples of 320 KiB, each retried
 * through the pacer (429/503 + Retry-After, 5xx, dropped connections) and resumed from the
 * session's `nextExpectedRanges` when the outcome of a fragment is unknown. The bearer token is
 * never sent to the upload URL (a different host, pre-authorised).
 */
export const SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024;
export const FRAGMENT_UNIT = 320 * 1024;
export const DEFAULT_FRAGMENT = 32 * FRAGMENT_UNIT; // 10 MiB

export interface UploadRequest {
  parentId: string;
  name: string;
  /** For messages. */
  what: string;
  size: number;
  mtimeMs: number;
  /** `null` = must not exist, string = must still have this eTag, undefined = replace. */
  ifMatch?: string | null;
  signal?: AbortSignal;
  fragmentSize?: number;
}

export interface UploadOutcome {
  item: DriveItem;
  /** quickXorHash (base64) of the bytes sent. */
  sentHash: string;
}

function conflictBehavior(ifMatch: string | null | undefined): 'fail' | 'replace' {
  return ifMatch === null ? 'fail' : 'replace';
}

function mapWriteError(e: unknown, ifMatch: string | null | undefined, what: string): Error {
  const code = (e as AppError).code;
  if (code === ErrorCode.NAME_CONFLICT && ifMatch === null)
    return new ItemError(ErrorCode.PRECONDITION_FAILED, `${what} already exists on SharePoint`);
  return e as Error;
}

function sizeMismatch(what: string, expected: number, got: number): ItemError {
  return new ItemError(
    ErrorCode.CHECKSUM_MISMATCH,
    `${what}: expected ${expected} bytes, the source gave ${got}`,
  );
}

/** Reads exactly `size` bytes (small files only). */
async function readAll(content: Readable, size: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of content) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
    n += b.length;
    if (n > size) throw sizeMismatch(what, size, n);
    chunks.push(b);
  }
  if (n !== size) throw sizeMismatch(what, size, n);
  return Buffer.concat(chunks, n);
}

export async function uploadFile(
  ctx: SpContext,
  content: Readable,
  req: UploadRequest,
): Promise<UploadOutcome> {
  if (req.size <= SIMPLE_UPLOAD_MAX) return simpleUpload(ctx, content, req);
  return sessionUpload(ctx, content, req);
}

async function simpleUpload(
  ctx: SpContext,
  content: Readable,
  req: UploadRequest,
): Promise<UploadOutcome> {
  const body = await readAll(content, req.size, req.what);
  const sentHash = new QuickXorHash().update(body).digestBase64();
  const headers: Record<string, string> = {};
  if (typeof req.ifMatch === 'string') headers['If-Match'] = req.ifMatch;
  const path = `${ctx.childRef(req.parentId, req.name)}/content?@microsoft.graph.conflictBehavior=${conflictBehavior(req.ifMatch)}`;
  let item: DriveItem;
  try {
    item = await ctx.api.putBytes<DriveItem>(path, body, {
      headers,
      signal: req.signal,
      what: req.what,
    });
  } catch (e) {
    throw mapWriteError(e, req.ifMatch, req.what);
  }
  // Simple upload cannot carry fileSystemInfo: set the modification time afterwards.
  item = await ctx.api.patch<DriveItem>(
    ctx.itemRef(item.id),
    { fileSystemInfo: { lastModifiedDateTime: new Date(req.mtimeMs).toISOString() } },
    { signal: req.signal, what: req.what },
  );
  return { item, sentHash };
}

interface SessionStatus {
  uploadUrl?: string;
  expirationDateTime?: string;
  nextExpectedRanges?: string[];
}

async function sessionUpload(
  ctx: SpContext,
  content: Readable,
  req: UploadRequest,
): Promise<UploadOutcome> {
  const frag = req.fragmentSize ?? DEFAULT_FRAGMENT;
  if (frag % FRAGMENT_UNIT !== 0)
    throw new AppError(ErrorCode.INTERNAL, 'fragment size must be a multiple of 320 KiB');
  const headers: Record<string, string> = {};
  if (typeof req.ifMatch === 'string') headers['If-Match'] = req.ifMatch;
  let session: SessionStatus;
  try {
    session = await ctx.api.post<SessionStatus>(
      `${ctx.childRef(req.parentId, req.name)}/createUploadSession`,
      {
        item: {
          // Explicit: LargeFileUploadTask's default would be "rename", creating "name 1.ext".
          '@microsoft.graph.conflictBehavior': conflictBehavior(req.ifMatch),
          name: req.name,
          fileSize: req.size,
          fileSystemInfo: { lastModifiedDateTime: new Date(req.mtimeMs).toISOString() },
        },
      },
      { headers, signal: req.signal, what: req.what },
    );
  } catch (e) {
    throw mapWriteError(e, req.ifMatch, req.what);
  }
  const url = session.uploadUrl!;
  const hash = new QuickXorHash();
  let sent = 0; // bytes the server has acknowledged
  let pending: Buffer = Buffer.alloc(0);
  let finalItem: DriveItem | undefined;
  const cancel = async () => {
    await ctx.transport.fetchPreauthorized(url, { kind: 'upload', method: 'DELETE' }).then(
      (r) => r.body?.cancel(),
      () => undefined,
    );
  };
  try {
    const sendFragment = async (buf: Buffer) => {
      // `buf` starts at byte `sent`. Retries of one fragment happen in Transport.attempts();
      // when the outcome is unknown, ask the session what it has and continue from there.
      let offset = 0;
      for (let resync = 0; offset < buf.length; resync++) {
        if (resync > 5) throw new UnreachableError(`${req.what}: upload session does not progress`);
        const part = buf.subarray(offset);
        const start = sent;
        let res: Response | undefined;
        try {
          res = await ctx.transport.fetchPreauthorized(url, {
            kind: 'upload',
            method: 'PUT',
            headers: {
              'content-length': String(part.length),
              'content-range': `bytes ${start}-${start + part.length - 1}/${req.size}`,
            },
            body: part,
            signal: req.signal,
          });
        } catch (e) {
          if ((e as AppError).code !== ErrorCode.CONNECTOR_UNREACHABLE) throw e;
        }
        if (res && (res.status === 200 || res.status === 201)) {
          finalItem = (await res.json()) as DriveItem;
          sent += part.length;
          return;
        }
        if (res && res.status === 202) {
          await res.body?.cancel();
          sent += part.length;
          return;
        }
        if (res && res.status !== 416) {
          const f = await readGraphFailure(res);
          if (res.status === 404)
            throw new ItemError(
              ErrorCode.TIMEOUT,
              `${req.what}: the upload session expired; the file is sent again on the next run`,
            );
          throw mapWriteError(graphError(f, req.what), req.ifMatch, req.what);
        }
        if (res) await res.body?.cancel();
        // Unknown outcome (416 or the connection kept failing): where is the server?
        const st = await ctx.transport.fetchPreauthorized(url, {
          kind: 'upload',
          signal: req.signal,
        });
        if (!st.ok) throw graphError(await readGraphFailure(st), req.what);
        const status = (await st.json()) as SessionStatus;
        const next = Number((status.nextExpectedRanges?.[0] ?? '').split('-')[0]);
        if (!Number.isFinite(next) || next < start || next > start + part.length)
          throw new ItemError(
            ErrorCode.ITEM_CHANGED_DURING_READ,
            `${req.what}: the upload session lost data; sent again on the next run`,
          );
        offset += next - start;
        sent = next;
      }
    };
    for await (const c of content) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      hash.update(b);
      if (hash.bytes > req.size) throw sizeMismatch(req.what, req.size, hash.bytes);
      pending = pending.length ? Buffer.concat([pending, b]) : b;
      while (pending.length >= frag && sent + frag < req.size) {
        await sendFragment(pending.subarray(0, frag));
        pending = pending.subarray(frag);
      }
    }
    if (hash.bytes !== req.size) throw sizeMismatch(req.what, req.size, hash.bytes);
    while (pending.length > 0) {
      const n = pending.length > frag && sent + frag < req.size ? frag : pending.length;
      await sendFragment(pending.subarray(0, n));
      pending = pending.subarray(n);
    }
  } catch (e) {
    await cancel();
    throw e;
  }
  if (!finalItem) throw new UnreachableError(`${req.what}: the upload session did not complete`);
  return { item: finalItem, sentHash: hash.digestBase64() };
}
