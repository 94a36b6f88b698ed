import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, sendJson } from './http.js';
import type { RouteClass } from './faults.js';
import type { GraphHost } from './graph.js';
import type { EmuModel } from './model.js';

/**
 * The SharePoint web host (a different host name from Graph): pre-authorised download URLs
 * (`/_layouts/15/download.aspx?…&tempauth=…`) and upload-session URLs. Both authenticate by the
 * `tempauth` in the URL and REJECT a bearer token, like the real service ("don't send the
 * Authorization header to uploadUrl").
 */
export const FRAGMENT_MULTIPLE = 320 * 1024;
export const MAX_FRAGMENT = 60 * 1024 * 1024;

export class SharePointHost {
  constructor(
    private readonly model: EmuModel,
    private readonly graph: GraphHost,
  ) {}

  classify(method: string, url: URL): RouteClass {
    if (url.pathname.endsWith('/download.aspx')) return 'download';
    if (url.pathname.endsWith('/uploadSession'))
      return method === 'PUT' ? 'uploadChunk' : 'uploadStatus';
    return 'other';
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.headers.authorization)
      throw new HttpError(
        401,
        'unauthenticated',
        'Unsupported authorization: send no Authorization header with a pre-authenticated URL.',
      );
    if (url.pathname.endsWith('/download.aspx')) return this.download(req, res, url);
    if (url.pathname.endsWith('/uploadSession')) return this.upload(req, res, url);
    throw new HttpError(404, 'itemNotFound', 'Not found');
  }

  private download(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'invalidRequest', 'Method not allowed');
    const auth = this.graph.verifyTempAuth(url.searchParams.get('tempauth') ?? '');
    if (!auth)
      throw new HttpError(401, 'unauthenticated', 'The tempauth token is invalid or expired.');
    const drive = this.model.drive(auth.driveId);
    const item = this.model.item(drive, auth.itemId);
    let content = item.content;
    if (auth.versionId) {
      const v = item.versions.find((x) => x.id === auth.versionId);
      if (!v) throw new HttpError(404, 'itemNotFound', 'Version not found');
      content = v.content;
    }
    const headers: Record<string, string> = {
      'content-type': item.mimeType || 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: this.model.eTag(item),
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec((req.headers.range as string | undefined) ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), content.length - 1) : content.length - 1;
      if (start >= content.length) {
        res.writeHead(416, { 'content-range': `bytes */${content.length}` });
        return void res.end();
      }
      const part = content.subarray(start, end + 1);
      res.writeHead(206, {
        ...headers,
        'content-length': String(part.length),
        'content-range': `bytes ${start}-${end}/${content.length}`,
      });
      return void res.end(req.method === 'HEAD' ? undefined : part);
    }
    res.writeHead(200, { ...headers, 'content-length': String(content.length) });
    res.end(req.method === 'HEAD' ? undefined : content);
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL) {
    const id = url.searchParams.get('guid') ?? '';
    if (!this.graph.verifyUploadAuth(id, url.searchParams.get('tempauth') ?? ''))
      throw new HttpError(401, 'unauthenticated', 'The tempauth token is invalid.');
    const s = this.graph.sessions.get(id);
    const now = this.model.now().getTime();
    if (!s || s.expiresAt < now) {
      if (s) this.graph.sessions.delete(id);
      req.resume();
      throw new HttpError(
        404,
        'itemNotFound',
        'The upload session was not found (expired or cancelled).',
      );
    }
    const status = () => ({
      expirationDateTime: new Date(s.expiresAt).toISOString(),
      nextExpectedRanges: [`${s.received}-${s.fileSize !== undefined ? s.fileSize - 1 : ''}`],
    });
    if (req.method === 'GET') return sendJson(res, 200, status());
    if (req.method === 'DELETE') {
      this.graph.sessions.delete(id);
      res.writeHead(204);
      return void res.end();
    }
    if (req.method !== 'PUT') throw new HttpError(405, 'invalidRequest', 'Method not allowed');
    const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(
      (req.headers['content-range'] as string | undefined) ?? '',
    );
    if (!cr) {
      req.resume();
      throw new HttpError(400, 'invalidRequest', 'A valid Content-Range header is required.');
    }
    const start = Number(cr[1]);
    const end = Number(cr[2]);
    const total = Number(cr[3]);
    const len = end - start + 1;
    const fail = (st: number, code: string, msg: string) => {
      req.resume();
      return new HttpError(st, code, msg);
    };
    if (s.fileSize !== undefined && total !== s.fileSize)
      throw fail(
        400,
        'invalidRequest',
        'The total size in Content-Range differs from the declared file size.',
      );
    if (len <= 0 || end >= total) throw fail(400, 'invalidRequest', 'Invalid Content-Range.');
    if (len > MAX_FRAGMENT)
      throw fail(413, 'requestEntityTooLarge', 'Fragments must be smaller than 60 MiB.');
    if (end !== total - 1 && len % FRAGMENT_MULTIPLE !== 0)
      throw fail(
        400,
        'invalidRequest',
        'Fragment size must be a multiple of 320 KiB (327,680 bytes).',
      );
    if (start !== s.received)
      throw fail(
        416,
        'invalidRange',
        `The uploaded fragment overlaps or skips data. Next expected: ${s.received}-`,
      );
    const body = await readBody(req, MAX_FRAGMENT);
    if (body.length !== len)
      throw new HttpError(400, 'invalidRequest', 'The body length does not match Content-Range.');
    s.fileSize = total;
    s.chunks.push(body);
    s.received += len;
    s.expiresAt = now + (this.graph.options.uploadSessionLifetimeMs ?? 15 * 60_000);
    if (s.received < total) return sendJson(res, 202, status());
    // Last fragment: commit. A failed commit keeps the session (the docs' "handle upload errors").
    const drive = this.model.drive(s.driveId);
    const content = Buffer.concat(s.chunks);
    try {
      const result = this.model.writeFile(drive, s.parentId, s.name, content, {
        conflict: s.conflict,
        ifMatch: s.ifMatch,
        by: s.by,
        fsModified: s.fsModified,
        fsCreated: s.fsCreated,
        targetItemId: s.targetItemId,
      });
      this.graph.sessions.delete(id);
      sendJson(res, result.created ? 201 : 200, this.graph.itemJson(drive, result.item));
    } catch (e) {
      s.chunks = [];
      s.received = 0;
      throw e;
    }
  }
}
