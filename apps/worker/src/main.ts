import { exitWithError, loadConfigOrExit, onShutdownSignals, processLogger } from '@scaidrive/core';
import { composeWorker } from './compose.js';

/**
 * `pnpm start:worker`: one worker process against an external PostgreSQL (`DATABASE_URL`).
 * SIGTERM: stop fetching, running jobs checkpoint and continue elsewhere, exit within
 * SHUTDOWN_TIMEOUT_SECONDS (keep it below the pod's terminationGracePeriodSeconds).
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = processLogger(config, 'worker');
  if (!config.DATABASE_URL || !config.secretKeys) {
    return exitWithError(
      logger,
      'start:worker needs DATABASE_URL and SECRET_KEYS (`pnpm start` runs the embedded default instead)',
    );
  }
  const runtime = await composeWorker({
    config,
    logger,
    databaseUrl: config.DATABASE_URL,
    secretKeys: config.secretKeys,
  });
  // Signals before start-up: a pod stopped while it is still starting shuts down cleanly.
  const stopping = onShutdownSignals(logger, config.SHUTDOWN_TIMEOUT_SECONDS * 1000, () =>
    runtime.shutdown(),
  );
  try {
    await runtime.start({ signal: stopping });
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
    `worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
