import { exitWithError, loadConfigOrExit, onShutdownSignals, processLogger } from '@scaidrive/core';
import { composeApi } from './compose.js';

/**
 * `pnpm start:api`: the API alone, against an external PostgreSQL (`DATABASE_URL`). Reads the
 * configuration once, builds everything in compose.ts, stops gracefully on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = processLogger(config, 'api');
  if (!config.DATABASE_URL || !config.secretKeys) {
    return exitWithError(
      logger,
      'start:api needs DATABASE_URL and SECRET_KEYS (`pnpm start` runs the embedded default instead)',
    );
  }
  const api = await composeApi({
    config,
    logger,
    databaseUrl: config.DATABASE_URL,
    secretKeys: config.secretKeys,
    start: false,
  });
  // Signals first: a pod stopped while it is still starting shuts down cleanly, not mid-way.
  const stopping = onShutdownSignals(logger, config.SHUTDOWN_TIMEOUT_SECONDS * 1000, () =>
    api.shutdown(),
  );
  // Listen next so `/ready` can answer 503 while the database is still unreachable.
  await api.listen(config.PORT, config.HOST);
  try {
    await api.start({ signal: stopping });
  } catch (err) {
    // Start-up gave way to a shutdown signal; the shutdown in progress ends the process.
    if (stopping.aborted) return;
    return exitWithError(
      logger,
      `cannot reach the database after ${config.STARTUP_TIMEOUT_SECONDS} s; giving up (check DATABASE_URL and that PostgreSQL is running)`,
      { reason: err instanceof Error ? err.message : String(err) },
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `api failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
