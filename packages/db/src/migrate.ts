import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/**
 * Applies `prisma/migrations/<name>/migration.sql` in folder-name order, writing the same
 * `_prisma_migrations` rows as Prisma Migrate, under Prisma's advisory lock — so this runner and
 * `prisma migrate deploy` can take turns on one database, and several pods starting at once apply
 * each migration exactly once.
 *
 * Unlike Prisma, each migration runs inside one transaction: a failed migration leaves nothing
 * behind, is recorded as failed (finished_at NULL, error in `logs`) and stops start-up; the next run
 * marks that row rolled back and tries again.
 */
export const PRISMA_ADVISORY_LOCK = 72707369;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
  /** Human-readable problems that do not stop start-up (e.g. an applied migration was edited). */
  warnings: string[];
}

export class MigrationError extends Error {
  readonly migration: string | undefined;
  constructor(message: string, migration?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

export function checksum(sql: Buffer | string): string {
  return createHash('sha256').update(sql).digest('hex');
}

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const out: MigrationFile[] = [];
  for (const name of names) {
    const raw = await readFile(path.join(dir, name, 'migration.sql'));
    out.push({ name, sql: raw.toString('utf8'), checksum: checksum(raw) });
  }
  return out;
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface Row {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  rolled_back_at: Date | null;
  logs: string | null;
}

export interface MigrateOptions {
  connectionString: string;
  migrationsDir: string;
  /** How long to wait for another process holding the migration lock. */
  lockTimeoutMs?: number;
}

export async function migrate(options: MigrateOptions): Promise<MigrationReport> {
  const migrations = await readMigrations(options.migrationsDir);
  const client = new pg.Client({ connectionString: options.connectionString });
  await client.connect();
  const report: MigrationReport = { applied: [], alreadyApplied: [], warnings: [] };
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 120_000);
    try {
      await client.query(CREATE_TABLE);
      const { rows } = await client.query<Row>(
        `SELECT id, checksum, finished_at, migration_name, rolled_back_at, logs
           FROM "_prisma_migrations" ORDER BY started_at`,
      );
      const known = new Set(migrations.map((m) => m.name));
      for (const r of rows) {
        if (!known.has(r.migration_name) && r.finished_at && !r.rolled_back_at) {
          report.warnings.push(
            `Migration "${r.migration_name}" is applied in the database but missing from ${options.migrationsDir}`,
          );
        }
      }
      for (const m of migrations) {
        const mine = rows.filter((r) => r.migration_name === m.name && !r.rolled_back_at);
        const done = mine.find((r) => r.finished_at);
        if (done) {
          report.alreadyApplied.push(m.name);
          if (done.checksum !== m.checksum) {
            report.warnings.push(
              `Migration "${m.name}" was modified after it was applied (checksum ${done.checksum.slice(0, 12)}… in the database, ${m.checksum.slice(0, 12)}… on disk)`,
            );
          }
          continue;
        }
        // A failed earlier attempt ran in a transaction and left nothing behind: mark it rolled back.
        for (const failed of mine) {
          await client.query(
            `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE id = $1`,
            [failed.id],
          );
        }
        await applyOne(client, m);
        report.applied.push(m.name);
      }
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK])
        .catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return report;
}

async function acquireLock(client: pg.Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      PRISMA_ADVISORY_LOCK,
    ]);
    if (rows[0]?.ok) return;
    if (Date.now() > deadline) {
      throw new MigrationError(`Timed out after ${timeoutMs} ms waiting for the migration lock`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function applyOne(client: pg.Client, m: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 0)`,
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK').catch(() => undefined);
    const message = cause instanceof Error ? cause.message : String(cause);
    await client
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, logs, applied_steps_count)
         VALUES ($1, $2, $3, now(), $4, 0)`,
        [randomUUID(), m.checksum, m.name, message],
      )
      .catch(() => undefined);
    throw new MigrationError(`Migration "${m.name}" failed: ${message}`, m.name, { cause });
  }
}
