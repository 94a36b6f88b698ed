import {
  AuthenticationHandler,
  Client,
  GraphError,
  HTTPMessageHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '@scaidrive/core';
import { graphError, type GraphFailure } from './errors.js';
import { parseRetryAfter } from './pacer.js';
import type { Transport } from './transport.js';

/**
 * The Graph client (`@microsoft/microsoft-graph-client`) with our middleware chain:
 * authentication (bearer only to the configured Graph host) → pacing/retry (`Transport`) →
 * fetch. JSON in, JSON out; errors become our `AppError`s.
 */
/**
 * The Graph client wraps anything a middleware throws into a GraphError (statusCode -1), losing
 * its class and code; the middleware parks its own errors here so `GraphApi` can rethrow them.
 */
const thrown = new AsyncLocalStorage<{ error?: unknown }>();

class PacingMiddleware implements Middleware {
  private next?: Middleware;
  constructor(private readonly transport: Transport) {}
  setNext(next: Middleware): void {
    this.next = next;
  }
  async execute(context: Context): Promise<void> {
    const options = (context.options ??= {});
    const headers = (options.headers ??= {}) as Record<string, string>;
    headers['User-Agent'] = this.transport.userAgent;
    const signal = options.signal ?? undefined;
    try {
      context.response = await this.transport.attempts('graph', signal, async () => {
        context.response = undefined;
        await this.next!.execute(context);
        return context.response!;
      });
    } catch (e) {
      const slot = thrown.getStore();
      if (slot) slot.error = e;
      throw e;
    }
  }
}

export interface TokenSource {
  getAccessToken(): Promise<string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Names the thing for error messages (`"file a/b.txt"`). */
  what?: string;
}

export class GraphApi {
  readonly client: Client;
  readonly root: string;

  constructor(
    graphBaseUrl: string,
    tokens: TokenSource,
    readonly transport: Transport,
  ) {
    this.root = graphBaseUrl.replace(/\/+$/, '');
    const authProvider: AuthenticationProvider = {
      // Token failures (auth rejected, re-authorize) keep their class through the Graph client.
      getAccessToken: () =>
        tokens.getAccessToken().catch((e: unknown) => {
          const slot = thrown.getStore();
          if (slot) slot.error = e;
          throw e;
        }),
    };
    const chain: Middleware[] = [
      new AuthenticationHandler(authProvider),
      new PacingMiddleware(transport),
      new HTTPMessageHandler(),
    ];
    for (let i = 0; i < chain.length - 1; i++) chain[i]!.setNext!(chain[i + 1]!);
    this.client = Client.initWithMiddleware({
      baseUrl: this.root,
      defaultVersion: 'v1.0',
      middleware: chain[0]!,
      customHosts: new Set([new URL(this.root).hostname]),
    });
  }

  /** Absolute URL of a `/v1.0` path (for nextLinks compare etc.). */
  url(path: string): string {
    return path.startsWith('https://') ? path : `${this.root}/v1.0${path}`;
  }

  private req(path: string, o: RequestOptions) {
    let r = this.client.api(this.url(path));
    if (o.headers) r = r.headers(o.headers);
    if (o.signal) r = r.option('signal', o.signal);
    return r;
  }

  async get<T>(path: string, o: RequestOptions = {}): Promise<T> {
    return this.call(() => this.req(path, o).get(), o.what);
  }

  async post<T>(path: string, body: unknown, o: RequestOptions = {}): Promise<T> {
    return this.call(() => this.req(path, o).post(body), o.what);
  }

  async patch<T>(path: string, body: unknown, o: RequestOptions = {}): Promise<T> {
    return this.call(() => this.req(path, o).patch(body), o.what);
  }

  async putBytes<T>(path: string, body: Buffer, o: RequestOptions = {}): Promise<T> {
    const headers = { 'Content-Type': 'application/octet-stream', ...o.headers };
    return this.call(() => this.req(path, { ...o, headers }).put(body), o.what);
  }

  async delete(path: string, o: RequestOptions = {}): Promise<void> {
    await this.call(() => this.req(path, o).delete(), o.what);
  }

  private async call<T>(fn: () => Promise<T>, what?: string): Promise<T> {
    const slot: { error?: unknown } = {};
    try {
      return await thrown.run(slot, fn);
    } catch (e) {
      throw slot.error !== undefined ? toAppError(slot.error, what) : toAppError(e, what);
    }
  }
}

export function graphFailureOf(e: GraphError): GraphFailure {
  let innerCode: string | undefined;
  try {
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    innerCode = body?.innerError?.code ?? body?.error?.innerError?.code;
  } catch {
    // ignore
  }
  return {
    status: e.statusCode,
    code: e.code ?? undefined,
    innerCode,
    message: e.message,
    location: e.headers?.get('location') ?? undefined,
    retryAfterMs: parseRetryAfter(e.headers?.get('retry-after')),
  };
}

export function toAppError(e: unknown, what?: string): Error {
  if (e instanceof AppError) return e;
  if (e instanceof GraphError && e.statusCode > 0) return graphError(graphFailureOf(e), what);
  if (e instanceof Error && e.name === 'CursorExpiredError') return e;
  return e instanceof Error ? e : new Error(String(e));
}
