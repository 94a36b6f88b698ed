import { CancelledError } from './errors.js';

/** ISO-8601 UTC with `Z`, second precision — the API's timestamp format. */
export function isoSeconds(date: Date | null | undefined): string | null {
  if (!date) return null;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Resolves after `ms`, or rejects with CancelledError when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS architecture blog). */
export function backoffMs(
  attempt: number,
  baseMs = 200,
  maxMs = 30_000,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  /** Give up after this long (the last error is rethrown). */
  maxWaitMs: number;
  baseMs?: number;
  maxDelayMs?: number;
  /** Whether an error is worth another attempt (default: every error). */
  isRetryable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  signal?: AbortSignal;
}

/** Runs `fn` until it succeeds, with exponential backoff (jittered), for at most `maxWaitMs`. */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const deadline = Date.now() + options.maxWaitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (options.isRetryable && !options.isRetryable(err)) throw err;
      const wait = Math.max(
        options.baseMs ?? 250,
        backoffMs(attempt, options.baseMs ?? 250, options.maxDelayMs ?? 10_000),
      );
      if (Date.now() + wait > deadline) throw err;
      options.onRetry?.(err, attempt + 1, wait);
      await sleep(wait, options.signal);
    }
  }
}
