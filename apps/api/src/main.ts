import { ConfigError, createLogger, loadConfig } from '@scaidrive/core';
import { composeApi } from './compose.js';

/**
 * `pnpm start:api`: the API alone, against an external PostgreSQL (`DATABASE_URL`). Reads the
 * configuration once, builds everything in compose.ts, stops gracefully on SIGTERM/SIGINT.
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
    defaultMeta: { service: 'api' },
  });
  if (!config.DATABASE_URL || !config.secretKeys) {
    logger.error(
      'start:api needs DATABASE_URL and SECRET_KEYS (`pnpm start` runs the embedded default instead)',
    );
    process.exit(1);
  }
  const api = await composeApi({
    config,
    logger,
    databaseUrl: config.DATABASE_URL,
    secretKeys: config.secretKeys,
    start: false,
  });
  // Listen first so `/ready` can answer 503 while the database is still unreachable.
  await api.listen(config.PORT, config.HOST);
  try {
    await api.start();
  } catch (err) {
    logger.error(
      `cannot reach the database after ${config.STARTUP_TIMEOUT_SECONDS} s; giving up (check DATABASE_URL and that PostgreSQL is running)`,
      { reason: err instanceof Error ? err.message : String(err) },
    );
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info('signal received', { signal });
    const hard = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    hard.unref();
    void api.shutdown().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `api failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
