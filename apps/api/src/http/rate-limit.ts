import type { RequestHandler } from 'express';
import { AppError, ErrorCode } from '@scaidrive/core';

export interface RateLimiterOptions {
  /** Requests per window per token; 0 disables. */
  limit: number;
  windowMs?: number;
  now?: () => number;
}

/**
 * Per-token fixed-window limiter kept in this process (a pod's share of the fleet's limit).
 * Sets `X-RateLimit-Limit/Remaining/Reset` (Unix seconds) on every authenticated response and answers
 * `429 RATE_LIMITED` with `Retry-After` once the window's budget is spent.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(private readonly options: RateLimiterOptions) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Counts one request; returns the headers to send and whether it is allowed. */
  hit(key: string): { allowed: boolean; remaining: number; resetMs: number } {
    const now = this.now();
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    const resetMs = w.start + this.windowMs;
    return {
      allowed: w.count <= this.options.limit,
      remaining: Math.max(0, this.options.limit - w.count),
      resetMs,
    };
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      if (this.options.limit <= 0 || !req.principal) return next();
      const r = this.hit(req.principal.tokenKey);
      res.setHeader('X-RateLimit-Limit', String(this.options.limit));
      res.setHeader('X-RateLimit-Remaining', String(r.remaining));
      res.setHeader('X-RateLimit-Reset', String(Math.ceil(r.resetMs / 1000)));
      if (r.allowed) return next();
      const retryAfterMs = Math.max(1000, r.resetMs - this.now());
      next(
        new AppError(ErrorCode.RATE_LIMITED, 'Too many requests for this token', {
          retryAfterMs,
          details: {
            dimension: 'token',
            limit: this.options.limit,
            window_seconds: Math.round(this.windowMs / 1000),
          },
        }),
      );
    };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
  }
}
