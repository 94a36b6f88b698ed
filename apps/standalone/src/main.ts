import path from 'node:path';
import {
  loadConfigOrExit,
  onShutdownSignals,
  processLogger,
  retryWithBackoff,
  startupRetry,
  type SecretKey,
} from '@scaidrive/core';
import {
  defaultMigrationsDir,
  migrate,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '@scaidrive/db';
import { composeApi } from '@scaidrive/api';
import { composeWorker } from '@scaidrive/worker';
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
  const dataDir = path.resolve(config.DATA_DIR);
  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    logger.info('no DATABASE_URL: starting embedded PostgreSQL', {
      data_dir: path.join(dataDir, 'postgres'),
    });
    embedded = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres') });
    databaseUrl = embedded.connectionString;
  }
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
    startupRetry(config, logger),
  );
  for (const w of report.warnings) logger.warn(w);
  if (report.applied.length) logger.info('migrations applied', { applied: report.applied });

  const api = await composeApi({ config, logger, databaseUrl, secretKeys });
  const worker = await composeWorker({
    config,
    logger,
    databaseUrl,
    secretKeys,
    prisma: api.prisma,
    boss: api.boss,
  });
  const boot = await bootstrap(api.prisma, api.serviceTokens);
  await worker.start();
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

  onShutdownSignals(logger, config.SHUTDOWN_TIMEOUT_SECONDS * 1000 + 5000, async () => {
    await worker.shutdown();
    await api.shutdown();
    await api.boss.stop({ graceful: false }).catch(() => undefined);
    await api.prisma.$disconnect().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
