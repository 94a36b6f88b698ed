import { classifyError } from './errors.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import type { RetryOptions } from './time.js';

/**
 * What every entry point (`main.ts` of the API, the worker, the standalone app; the migrate CLI)
 * does the same way: read the configuration once, make the process logger, retry the database at
 * start-up, and shut down on SIGTERM/SIGINT within the configured budget.
 */

/** Loads the configuration; on a bad value prints every problem and exits 1 (no stack trace). */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export function processLogger(config: Config, service: string): Logger {
  return createLogger({
    level: config.LOG_LEVEL,
    ...(config.LOG_FORMAT ? { format: config.LOG_FORMAT } : {}),
    defaultMeta: { service },
  });
}

/**
 * Retry options for reaching the database at start-up: transient errors only, logged, bounded, and
 * given up at once when `signal` aborts (a shutdown signal during start-up).
 */
export function startupRetry(config: Config, logger: Logger, signal?: AbortSignal): RetryOptions {
  return {
    maxWaitMs: config.STARTUP_TIMEOUT_SECONDS * 1000,
    ...(signal ? { signal } : {}),
    isRetryable: (err) => classifyError(err).action === 'retry',
    onRetry: (err, attempt, waitMs) =>
      logger.warn('database not reachable yet; retrying', {
        attempt,
        wait_ms: waitMs,
        reason: classifyError(err).message,
      }),
  };
}

/**
 * On the first SIGTERM or SIGINT: runs `shutdown`, then exits 0; exits 1 if it has not finished
 * `graceMs` later (a hung drain must not outlive the pod's grace period).
 *
 * Install it before start-up, not after: Kubernetes stops pods that are still starting (a rollout,
 * a scale-down), and a signal without a handler kills the process mid-way. The returned signal
 * aborts at the first SIGTERM/SIGINT, so start-up can stop retrying and step aside for `shutdown`.
 */
export function onShutdownSignals(
  logger: Logger,
  graceMs: number,
  shutdown: () => Promise<void>,
): AbortSignal {
  const stopping = new AbortController();
  const stop = (signal: string): void => {
    logger.info('signal received', { signal });
    stopping.abort();
    const hard = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, graceMs);
    hard.unref();
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return stopping.signal;
}

/** Logs a fatal error, lets the log transport flush (winston writes asynchronously), then exits 1. */
export function exitWithError(
  logger: Logger,
  message: string,
  meta: Record<string, unknown> = {},
): never {
  logger.error(message, meta);
  const done = (): void => process.exit(1);
  logger.once('finish', done);
  setTimeout(done, 2000).unref();
  logger.end();
  // The process ends in `done`; nothing after this call runs meanwhile.
  return undefined as never;
}
