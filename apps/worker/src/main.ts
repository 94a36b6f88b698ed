import { ConfigError, createLogger, loadConfig } from '@scaidrive/core';
import { composeWorker } from './compose.js';

/**
 * `pnpm start:worker`: one worker process against an external PostgreSQL (`DATABASE_URL`).
 * SIGTERM: stop fetching, running jobs checkpoint and continue elsewhere, exit within
 * SHUTDOWN_TIMEOUT_SECONDS (keep it below the pod's terminationGracePeriodSeconds).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({
    level: config.LOG_LEVEL,
    ...(config.LOG_FORMAT ? { format: config.LOG_FORMAT } : {}),
    defaultMeta: { service: 'worker' },
  });
  if (!config.DATABASE_URL || !config.secretKeys) {
    logger.error(
      'start:worker needs DATABASE_URL and SECRET_KEYS (`pnpm start` runs the embedded default instead)',
    );
    process.exit(1);
  }
  const runtime = await composeWorker({
    config,
    logger,
    databaseUrl: config.DATABASE_URL,
    secretKeys: config.secretKeys,
  });
  await runtime.start();
  const stop = (signal: string): void => {
    logger.info('signal received', { signal });
    const hard = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    hard.unref();
    void runtime.shutdown().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
