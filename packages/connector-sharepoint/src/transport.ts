import { CancelledError, ThrottledError, UnreachableError } from '@scaidrive/core';
import { parseRetryAfter, sleep, type Pacer } from './pacer.js';

/**
 * Every HTTP exchange with Microsoft goes through `attempts()`: it takes a turn from the shared
 * pacer, retries transient failures (network errors, 5xx) with backoff, and honours `Retry-After`
 * on 429/503 for every kind of call — Graph JSON calls, downloads and upload fragments alike (the
 * Graph client's own RetryHandler skips octet-stream PUTs, so it is not used).
 */
export type CallKind = 'graph' | 'download' | 'upload';

export class Transport {
  constructor(
    readonly pacer: Pacer,
    readonly userAgent: string,
    /** This transport's own throttling waits (the pacer is shared by every source of an app). */
    private readonly onWait?: (ms: number) => void,
  ) {}

  async attempts(
    kind: CallKind,
    signal: AbortSignal | undefined,
    attempt: () => Promise<Response>,
  ): Promise<Response> {
    const max = this.pacer.opts.maxAttempts;
    for (let n = 1; ; n++) {
      const waited = await this.pacer.turn(signal);
      if (waited > 0) this.onWait?.(waited);
      let res: Response;
      try {
        res = await attempt();
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        if (err instanceof CancelledError) throw err;
        if (n >= max)
          throw new UnreachableError(`SharePoint could not be reached (${describe(err)})`, {
            cause: err,
          });
        await sleep(this.pacer.failed(), signal);
        continue;
      }
      if (res.status === 429 || res.status === 503) {
        const ra = parseRetryAfter(res.headers.get('retry-after'));
        const wait = ra ?? this.pacer.failed();
        if (n >= max || wait > this.pacer.opts.maxRetryAfterMs) {
          await res.body?.cancel().catch(() => undefined);
          throw new ThrottledError(`SharePoint kept throttling (${res.status})`, wait);
        }
        await res.body?.cancel().catch(() => undefined);
        this.pacer.throttled({ status: res.status, retryAfterMs: wait, kind });
        continue;
      }
      if (res.status >= 500 && res.status !== 501 && res.status !== 507 && n < max) {
        await res.body?.cancel().catch(() => undefined);
        await sleep(this.pacer.failed(), signal);
        continue;
      }
      this.pacer.success();
      return res;
    }
  }

  /** A plain fetch (no Authorization) to a pre-authorised SharePoint URL. */
  fetchPreauthorized(url: string, init: RequestInit & { kind: CallKind }): Promise<Response> {
    const { kind, ...rest } = init;
    return this.attempts(kind, rest.signal ?? undefined, () =>
      fetch(url, {
        ...rest,
        redirect: 'manual',
        headers: { ...(rest.headers as Record<string, string>), 'user-agent': this.userAgent },
      }),
    );
  }
}

function describe(err: unknown): string {
  let cur: unknown = err;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : 'network error';
}
