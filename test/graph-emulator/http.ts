import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** Small HTTP helpers shared by the emulator's hosts. */

export async function readBody(req: IncomingMessage, limit = 256 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of req) {
    total += (c as Buffer).length;
    if (total > limit) throw new HttpError(413, 'requestEntityTooLarge', 'Request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const buf = await readBody(req, 4 * 1024 * 1024);
  if (buf.length === 0) return {};
  try {
    const v = JSON.parse(buf.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'invalidRequest', 'Invalid request body');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; odata.metadata=minimal; charset=utf-8',
    'content-length': String(data.length),
    ...headers,
  });
  res.end(data);
}

/** A Graph-shaped error: `{"error":{"code","message","innerError":{...}}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

export function sendGraphError(res: ServerResponse, err: HttpError, requestId: string): void {
  const inner: Record<string, unknown> = {
    date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'request-id': requestId,
    'client-request-id': requestId,
  };
  if (err.innerCode) inner.code = err.innerCode;
  sendJson(
    res,
    err.status,
    { error: { code: err.code, message: err.message, innerError: inner } },
    { 'request-id': requestId, 'client-request-id': requestId, ...err.headers },
  );
}

export function newRequestId(): string {
  return randomUUID();
}

export function parseForm(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(buf.toString('utf8'))) out[k] = v;
  return out;
}

export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
