import path from 'node:path';
import {
  loadConfigOrExit,
  onShutdownSignals,
  processLogger,
  retryWithBackoff,
  startupRetry,
  type Config,
  type Logger,
  type SecretKey,
} from '@scaidrive/core';
import {
  defaultMigrationsDir,
  migrate,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '@scaidrive/db';
import { composeApi, type ApiRuntime } from '@scaidrive/api';
import { composeWorker, type WorkerRuntime } from '@scaidrive/worker';
import { bootstrap } from './bootstrap.js';
import { loadOrCreateSecretKeys } from './secret-keys.js';

/**
 * `pnpm start`: API and worker in one process. Without DATABASE_URL it runs an embedded PostgreSQL
 * under DATA_DIR, migrates, bootstraps a tenant, an admin, a share and a service token (printed
 * once). With DATABASE_URL it uses that database.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = processLogger(config, 'scaidrive-connectors');
  const parts: Parts = {};
  let startup: Promise<void> = Promise.resolve();
  // Signals first: Ctrl-C or SIGTERM while the database or the queue is still starting shuts down
  // what has started (the embedded PostgreSQL included) instead of leaving it behind.
  const stopping = onShutdownSignals(
    logger,
    config.SHUTDOWN_TIMEOUT_SECONDS * 1000 + 5000,
    async () => {
      await startup.catch(() => undefined);
      await parts.worker?.shutdown();
      await parts.api?.shutdown();
      await parts.api?.boss.stop({ graceful: false }).catch(() => undefined);
      await parts.api?.prisma.$disconnect().catch(() => undefined);
      await parts.embedded?.stop().catch(() => undefined);
    },
  );
  startup = start(config, logger, parts, stopping);
  try {
    await startup;
  } catch (err) {
    // Start-up gave way to a shutdown signal; the shutdown in progress ends the process.
    if (stopping.aborted) return;
    throw err;
  }
}

interface Parts {
  embedded?: EmbeddedPostgres;
  api?: ApiRuntime;
  worker?: WorkerRuntime;
}

/** Starts everything in order, recording each part in `parts`; stops early once `signal` aborts. */
async function start(
  config: Config,
  logger: Logger,
  parts: Parts,
  signal: AbortSignal,
): Promise<void> {
  const dataDir = path.resolve(config.DATA_DIR);
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    logger.info('no DATABASE_URL: starting embedded PostgreSQL', {
      data_dir: path.join(dataDir, 'postgres'),
    });
    parts.embedded = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      stopOnSignals: false, // the shutdown above stops it, last
    });
    databaseUrl = parts.embedded.connectionString;
  }
  signal.throwIfAborted();
  let secretKeys: SecretKey[];
  if (config.secretKeys) secretKeys = config.secretKeys;
  else {
    const loaded = await loadOrCreateSecretKeys(dataDir);
    secretKeys = loaded.keys;
    if (loaded.created)
      logger.warn(
        'SECRET_KEYS not set: generated a key under DATA_DIR (set SECRET_KEYS in production)',
      );
  }

  const url = databaseUrl;
  const report = await retryWithBackoff(
    () => migrate({ connectionString: url, migrationsDir: defaultMigrationsDir() }),
    startupRetry(config, logger, signal),
  );
  for (const w of report.warnings) logger.warn(w);
  if (report.applied.length) logger.info('migrations applied', { applied: report.applied });
  signal.throwIfAborted();

  const api = (parts.api = await composeApi({
    config,
    logger,
    databaseUrl,
    secretKeys,
    start: false,
  }));
  await api.start({ signal });
  const worker = (parts.worker = await composeWorker({
    config,
    logger,
    databaseUrl,
    secretKeys,
    prisma: api.prisma,
    boss: api.boss,
  }));
  const boot = await bootstrap(api.prisma, api.serviceTokens);
  await worker.start({ signal });
  const server = await api.listen(config.PORT, config.HOST);
  const base = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${server.port}`;
  if (boot.token) {
    process.stdout.write(
      [
        '',
        'ScaiDrive Connectors is running (embedded default).',
        `  API:            ${base}/api/v1  (reference: ${base}/api/v1/docs)`,
        `  tenant:         ${boot.tenantId}`,
        `  admin user:     ${boot.adminUserId}`,
        `  default share:  ${boot.shareId}`,
        `  admin token:    ${boot.token}`,
        '  The token is shown only this once; `pnpm token:issue` makes another.',
        '',
      ].join('\n'),
    );
  } else {
    logger.info('ready', {
      api: `${base}/api/v1`,
      tenant_id: boot.tenantId,
      share_id: boot.shareId,
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
