#!/usr/bin/env node
import { createLogger, loadConfig } from '@scaidrive/core';
import { defaultMigrationsDir } from '../paths.js';
import { migrate } from '../migrate.js';

// `pnpm migrate`: applies pending migrations to DATABASE_URL and exits (the Kubernetes migration Job).
const logger = createLogger({ defaultMeta: { service: 'migrate' } });
try {
  const config = loadConfig();
  logger.level = config.LOG_LEVEL;
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for `migrate`');
  const report = await migrate({
    connectionString: config.DATABASE_URL,
    migrationsDir: defaultMigrationsDir(),
  });
  for (const w of report.warnings) logger.warn(w);
  logger.info('migrations up to date', {
    applied: report.applied,
    already_applied: report.alreadyApplied.length,
  });
} catch (err) {
  logger.error('migration failed', { err });
  process.exitCode = 1;
}
