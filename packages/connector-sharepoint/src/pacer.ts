import { EventEmitter } from 'node:events';
import { CancelledError } from '@scaidrive/core';

/**
 * A pacer in the style of rclone's lib/pacer: callers take turns to start requests, spaced by a
 * sleep that grows on trouble (attack) and shrinks on success (decay), and every caller waits out a
 * server's `Retry-After` — one throttled answer pauses all transfers sharing the pacer, which is
 * what Microsoft asks of clients ("back off the whole app, not one request").
 *
 * One pacer per Entra tenant + app id per worker process (`PacerRegistry`), shared by every job and
 * transfer of that app, since SharePoint throttles per app and tenant.
 */
export interface PacerOptions {
  /** Spacing between request starts when all is well (default 0 ms). */
  minSleepMs?: number;
  /** Ceiling of the spacing after errors without Retry-After (default 2000 ms). */
  maxSleepMs?: number;
  /** Spacing is divided by 2^(1/decay) per success... simplified: sleep -= sleep/decay (default 2). */
  decay?: number;
  /** Spacing is multiplied by this after an error without Retry-After (default 2). */
  attack?: number;
  /** Attempts of one call before giving up (default 10). */
  maxAttempts?: number;
  /** Longest single Retry-After honoured; longer ones fail the call with ThrottledError (default 10 min). */
  maxRetryAfterMs?: number;
}

export interface ThrottleEvent {
  status: number;
  retryAfterMs: number;
  /** What was throttled: `graph`, `download`, `upload`, `token`. */
  kind: string;
}

export interface PacerStats {
  requests: number;
  retries: number;
  throttled: number;
  /** Sum of the waits callers spent because of Retry-After / backoff. */
  waitMs: number;
}

export class Pacer extends EventEmitter<{ throttle: [ThrottleEvent]; wait: [number] }> {
  readonly opts: Required<PacerOptions>;
  private sleepMs: number;
  private nextStart = 0;
  private blockedUntil = 0;
  readonly stats: PacerStats = { requests: 0, retries: 0, throttled: 0, waitMs: 0 };

  constructor(options: PacerOptions = {}) {
    super();
    this.opts = {
      minSleepMs: options.minSleepMs ?? 0,
      maxSleepMs: options.maxSleepMs ?? 2000,
      decay: options.decay ?? 2,
      attack: options.attack ?? 2,
      maxAttempts: options.maxAttempts ?? 10,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 10 * 60_000,
    };
    this.sleepMs = this.opts.minSleepMs;
  }

  /**
   * Waits for this caller's turn (spacing + any Retry-After in force). Resolves with the part of
   * the wait owed to throttling (0 when the caller only waited for spacing).
   */
  async turn(signal?: AbortSignal): Promise<number> {
    const now = Date.now();
    const start = Math.max(now, this.nextStart, this.blockedUntil);
    this.nextStart = start + this.sleepMs;
    const wait = start - now;
    let throttled = 0;
    if (wait > 0) {
      if (this.blockedUntil > now) {
        throttled = wait;
        this.stats.waitMs += wait;
        this.emit('wait', wait);
      }
      await sleep(wait, signal);
    }
    this.stats.requests++;
    return throttled;
  }

  /** A call succeeded: shrink the spacing. */
  success(): void {
    if (this.sleepMs > this.opts.minSleepMs) {
      this.sleepMs = Math.max(this.opts.minSleepMs, this.sleepMs - this.sleepMs / this.opts.decay);
    }
  }

  /** The server said "wait": every caller of this pacer waits until then. */
  throttled(event: ThrottleEvent): void {
    this.stats.throttled++;
    this.stats.retries++;
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + event.retryAfterMs);
    this.emit('throttle', event);
  }

  /** A transient failure without Retry-After: grow the spacing (exponential backoff). */
  failed(): number {
    this.stats.retries++;
    this.sleepMs = Math.min(
      this.opts.maxSleepMs,
      Math.max(this.opts.minSleepMs, this.sleepMs === 0 ? 100 : this.sleepMs * this.opts.attack),
    );
    return this.sleepMs;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new CancelledError());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Process-wide pacers keyed by authority + tenant + app. */
export class PacerRegistry {
  private readonly pacers = new Map<string, Pacer>();
  constructor(private readonly defaults: PacerOptions = {}) {}

  get(key: string, options?: PacerOptions): Pacer {
    let p = this.pacers.get(key);
    if (!p) {
      p = new Pacer({ ...this.defaults, ...options });
      this.pacers.set(key, p);
    }
    return p;
  }
}

export const defaultPacers = new PacerRegistry();

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const d = Date.parse(value);
  return Number.isFinite(d) ? Math.max(0, d - nowMs) : undefined;
}
