import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, migrationsDir, type TestDatabase } from '@scaidrive/testkit';
import { checksum, migrate, readMigrations } from './migrate.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  await db.drop();
});

async function rows(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT migration_name, checksum, finished_at, applied_steps_count, logs, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
    );
    return r.rows;
  } finally {
    await c.end();
  }
}

describe('migrate', () => {
  it('applies concurrently exactly once, with Prisma-compatible rows, and is idempotent', async () => {
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => migrate({ connectionString: db.url, migrationsDir })),
    );
    const files = await readMigrations(migrationsDir);
    const appliedCounts = runs.map((r) => r.applied.length);
    expect(appliedCounts.filter((n) => n === files.length)).toHaveLength(1);
    expect(appliedCounts.filter((n) => n === 0)).toHaveLength(3);
    const r = await rows(db.url);
    expect(r).toHaveLength(files.length);
    for (const [i, row] of r.entries()) {
      expect(row.migration_name).toBe(files[i]!.name);
      expect(row.checksum).toBe(files[i]!.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).not.toBeNull();
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
    }
    const again = await migrate({ connectionString: db.url, migrationsDir });
    expect(again.applied).toEqual([]);
    expect(again.warnings).toEqual([]);
  });

  it('warns, naming the migration, when an applied migration was edited', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mig-'));
    cpSync(migrationsDir, dir, { recursive: true });
    const [first] = await readMigrations(dir);
    appendFileSync(path.join(dir, first!.name, 'migration.sql'), '\n-- edited\n');
    const report = await migrate({ connectionString: db.url, migrationsDir: dir });
    expect(report.warnings).toEqual([
      expect.stringContaining(`"${first!.name}" was modified after it was applied`),
    ]);
  });

  it('stops on a failing migration, leaves nothing behind, records it, and retries once fixed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mig-'));
    cpSync(migrationsDir, dir, { recursive: true });
    const bad = path.join(dir, '99990101000000_broken');
    mkdirSync(bad);
    writeFileSync(
      path.join(bad, 'migration.sql'),
      'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n',
    );
    await expect(migrate({ connectionString: db.url, migrationsDir: dir })).rejects.toThrow(
      /Migration "99990101000000_broken" failed: function no_such_function\(\) does not exist/,
    );
    const failed = (await rows(db.url)).filter((r) => r.migration_name === '99990101000000_broken');
    expect(failed).toHaveLength(1);
    expect(failed[0].finished_at).toBeNull();
    expect(failed[0].logs).toMatch(/no_such_function/);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const t = await c.query("SELECT to_regclass('public.half_done') AS t");
    await c.end();
    expect(t.rows[0].t).toBeNull();

    writeFileSync(path.join(bad, 'migration.sql'), 'CREATE TABLE half_done (id int);\n');
    const report = await migrate({ connectionString: db.url, migrationsDir: dir });
    expect(report.applied).toEqual(['99990101000000_broken']);
    const after = (await rows(db.url)).filter((r) => r.migration_name === '99990101000000_broken');
    expect(after.map((r) => Boolean(r.rolled_back_at))).toEqual([true, false]);
    expect(after[1].checksum).toBe(checksum('CREATE TABLE half_done (id int);\n'));
  });
});
