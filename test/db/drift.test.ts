import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@scaidrive/testkit';
// @ts-expect-error -- plain ESM script shared with `pnpm db:migration`
import { diffSql, readSchema } from '../../scripts/prisma6-diff.mjs';

/**
 * No drift: the database the migrations build is exactly the database Prisma derives from
 * schema.prisma. (Prisma's own drift check needs a native schema engine that is not available
 * offline, so both databases are built and their catalogs compared.)
 */
const CATALOG = `
SELECT 'column' AS kind, c.table_name || '.' || c.column_name AS name,
       concat_ws(' ', c.data_type, c.udt_name, c.character_maximum_length, c.datetime_precision,
                 c.is_nullable, c.column_default) AS def
  FROM information_schema.columns c
 WHERE c.table_schema = 'public' AND c.table_name <> '_prisma_migrations'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'
UNION ALL
SELECT 'index', indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
UNION ALL
SELECT 'sequence', sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = 'public'
ORDER BY 1, 2`;

async function catalog(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ kind: string; name: string; def: string }>(CATALOG);
    return rows.map((r) => `${r.kind} ${r.name}: ${r.def}`);
  } finally {
    await c.end();
  }
}

let migrated: TestDatabase;
let fromSchema: TestDatabase;
beforeAll(async () => {
  migrated = await createTestDatabase();
  fromSchema = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  await migrated.drop();
  await fromSchema.drop();
});

describe('schema drift', () => {
  it('migrations produce exactly what schema.prisma describes', async () => {
    const sql: string = diffSql(null, readSchema());
    const c = new pg.Client({ connectionString: fromSchema.url });
    await c.connect();
    await c.query(sql);
    await c.end();
    const [a, b] = await Promise.all([catalog(migrated.url), catalog(fromSchema.url)]);
    expect(a.length).toBeGreaterThan(50);
    expect(a).toEqual(b);
  });
});
