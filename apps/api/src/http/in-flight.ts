import type { RequestHandler, Response } from 'express';

/**
 * Counts requests whose handlers have not finished, for a graceful stop. A request is done when
 * its response is ended or destroyed — not when its client goes away: the handler of a request
 * whose client disconnected may still be committing, and the process must not exit under it.
 */
export class InFlightRequests {
  private count = 0;
  private idle: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /** First in the chain, so every request is counted. */
  middleware(): RequestHandler {
    return (_req, res, next) => {
      this.count += 1;
      let done = false;
      const settle = (): void => {
        if (done) return;
        done = true;
        this.count -= 1;
        if (this.count === 0) for (const resolve of this.idle.splice(0)) resolve();
      };
      wrapAfter(res, 'end', settle);
      wrapAfter(res, 'destroy', settle);
      res.once('finish', settle);
      next();
    };
  }

  /** Resolves true once no request is in flight, false if `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idle.splice(this.idle.indexOf(onIdle), 1);
        resolve(false);
      }, timeoutMs);
      this.idle.push(onIdle);
    });
  }
}

function wrapAfter(res: Response, method: 'end' | 'destroy', after: () => void): void {
  const original = res[method] as (...args: unknown[]) => unknown;
  (res as unknown as Record<string, unknown>)[method] = function (
    this: Response,
    ...args: unknown[]
  ): unknown {
    try {
      return original.apply(this, args);
    } finally {
      after();
    }
  };
}
