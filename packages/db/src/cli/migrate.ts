#!/usr/bin/env node
import { createLogger, loadConfig, retryWithBackoff, startupRetry } from '@scaidrive/core';
import { defaultMigrationsDir } from '../paths.js';
import { migrate } from '../migrate.js';

// `pnpm migrate`: applies pending migrations to DATABASE_URL and exits (the Kubernetes migration Job).
const logger = createLogger({ defaultMeta: { service: 'migrate' } });
try {
  const config = loadConfig();
  logger.level = config.LOG_LEVEL;
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for `migrate`');
  const url = config.DATABASE_URL;
  // The database may still be starting (a fresh cluster, a failover): retry, then fail clearly.
  const report = await retryWithBackoff(
    () => migrate({ connectionString: url, migrationsDir: defaultMigrationsDir() }),
    startupRetry(config, logger),
  );
  for (const w of report.warnings) logger.warn(w);
  logger.info('migrations up to date', {
    applied: report.applied,
    already_applied: report.alreadyApplied.length,
  });
} catch (err) {
  logger.error('migration failed', { err });
  process.exitCode = 1;
}
