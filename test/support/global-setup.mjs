import { mkdirSync } from 'node:fs';
import path from 'node:path';
// Loaded by jest outside its module system: Node 24 strips the TypeScript types of these imports.
import { migrate } from '../../packages/db/src/migrate.ts';
import { startEmbeddedPostgres } from '../../packages/db/src/embedded.ts';
import {
  adminQuery,
  canConnect,
  migrationsDir,
  repoRoot,
  templateName,
  withDatabase,
} from './pg-admin.ts';

/**
 * Finds PostgreSQL (TEST_DATABASE_URL, else the local server, else an embedded one) and prepares a
 * template database with every migration applied; each test file clones it (see db.ts).
 */
export default async function globalSetup() {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const local = 'postgresql://postgres@127.0.0.1:5432/postgres';
    if (await canConnect(local)) adminUrl = local;
  }
  if (!adminUrl) {
    const dataDir = path.join(repoRoot, '.tmp', 'test-pg');
    mkdirSync(dataDir, { recursive: true });
    const pgServer = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
    globalThis.__embeddedPg = pgServer;
    adminUrl = pgServer.connectionString;
  }
  adminUrl = withDatabase(adminUrl, new URL(adminUrl).pathname.slice(1) || 'postgres');
  const tpl = templateName();
  await adminQuery(adminUrl, 'SELECT pg_advisory_lock(4242001)');
  try {
    const exists = await adminQuery(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [
      tpl,
    ]);
    if (exists.rowCount === 0) {
      await adminQuery(adminUrl, `CREATE DATABASE "${tpl}"`);
      try {
        await migrate({ connectionString: withDatabase(adminUrl, tpl), migrationsDir });
      } catch (err) {
        await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${tpl}"`);
        throw err;
      }
    }
  } finally {
    await adminQuery(adminUrl, 'SELECT pg_advisory_unlock(4242001)');
  }
  process.env.SCAIDRIVE_TEST_ADMIN_URL = adminUrl;
  process.env.SCAIDRIVE_TEST_TEMPLATE = tpl;
}
