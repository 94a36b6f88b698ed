import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createSqlClient, type SqlClient } from '@scaidrive/db';
import { createTestDatabase, type TestDatabase } from '@scaidrive/testkit';

// The pg adapter the share store runs on in the worker: Prisma's raw-query surface over a pg pool,
// with Prisma's result types.

let db: TestDatabase;
let pool: pg.Pool;
let sql: SqlClient;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  pool.on('error', () => undefined);
  sql = createSqlClient(pool);
  await sql.$executeRawUnsafe(
    `CREATE TABLE t (id text PRIMARY KEY, n int8 NOT NULL DEFAULT 0, i int4, at timestamptz,
                     j jsonb, tags text[], big int8[])`,
  );
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const TYPED = `SELECT 9007199254740993::int8 AS big, 42::int4 AS small, 1.5::float8 AS f,
    '2026-01-02T03:04:05.678Z'::timestamptz AS at, '{"a":[1,{"b":null}]}'::jsonb AS j,
    ARRAY['x','y']::text[] AS tags, ARRAY[1, -2, NULL]::int8[] AS bigs, count(*) AS n,
    true AS yes, NULL::text AS nothing, 'é'::text AS s
    FROM generate_series(1, 3)`;

describe('createSqlClient', () => {
  it('returns the types Prisma returns (int8 → bigint, timestamptz → Date, jsonb parsed)', async () => {
    const [row] = await sql.$queryRawUnsafe<Record<string, unknown>[]>(TYPED);
    expect(row).toEqual({
      big: 9007199254740993n,
      small: 42,
      f: 1.5,
      at: new Date('2026-01-02T03:04:05.678Z'),
      j: { a: [1, { b: null }] },
      tags: ['x', 'y'],
      bigs: [1n, -2n, null],
      n: 3n,
      yes: true,
      nothing: null,
      s: 'é',
    });
    // The same statement through Prisma gives the same values.
    const [viaPrisma] = await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(TYPED);
    expect(row).toEqual(viaPrisma);
  });

  it('does not change the pool’s or pg’s global type parsers', async () => {
    const { rows } = await pool.query('SELECT 5::int8 AS n');
    expect(rows[0].n).toBe('5');
  });

  it('binds Date, bigint, array, null and JSON-text parameters', async () => {
    const at = new Date('2025-06-07T08:09:10.111Z');
    const n = await sql.$executeRawUnsafe(
      `INSERT INTO t (id, n, at, j, tags, big) VALUES ($1, $2, $3, $4::jsonb, $5::text[], $6::int8[]),
              ($7, 1, NULL, NULL, NULL, NULL)`,
      'p1',
      2n ** 62n,
      at,
      JSON.stringify({ k: 'v' }),
      ['a', 'b,c', 'd"e'],
      [1n, 2n],
      'p2',
    );
    expect(n).toBe(2);
    const rows = await sql.$queryRawUnsafe<
      { id: string; n: bigint; at: Date | null; j: unknown; tags: string[] | null; big: bigint[] }[]
    >(`SELECT id, n, at, j, tags, big FROM t WHERE id = ANY($1::text[]) ORDER BY id`, ['p1', 'p2']);
    expect(rows).toEqual([
      { id: 'p1', n: 2n ** 62n, at, j: { k: 'v' }, tags: ['a', 'b,c', 'd"e'], big: [1n, 2n] },
      { id: 'p2', n: 1n, at: null, j: null, tags: null, big: null },
    ]);
  });

  it('runs tagged templates with numbered parameters', async () => {
    const ids = ['p1', 'p2', 'nope'];
    const rows = await sql.$queryRaw<{ id: string }[]>`
      SELECT id FROM t WHERE id = ANY(${ids}::text[]) AND n >= ${1} ORDER BY id`;
    expect(rows.map((r) => r.id)).toEqual(['p1', 'p2']);
    expect(await sql.$executeRaw`UPDATE t SET i = ${7} WHERE id = ${'p2'}`).toBe(1);
    const fragment = { strings: ['x'], values: [] };
    await expect(sql.$queryRaw`SELECT ${fragment}`).rejects.toThrow(/fragments/);
  });

  it('commits a transaction on one connection, and rolls it back when the function throws', async () => {
    const pids = await sql.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`INSERT INTO t (id) VALUES ('tx1')`);
      const a = await tx.$queryRawUnsafe<{ p: number }[]>('SELECT pg_backend_pid() AS p');
      const b = await tx.$queryRawUnsafe<{ p: number }[]>('SELECT pg_backend_pid() AS p');
      // Not visible outside before COMMIT.
      const outside = await sql.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM t WHERE id = 'tx1'`);
      expect(outside).toHaveLength(0);
      return [a[0]!.p, b[0]!.p];
    });
    expect(pids[0]).toBe(pids[1]);
    expect(await sql.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM t WHERE id = 'tx1'`)).toHaveLength(
      1,
    );

    await expect(
      sql.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`INSERT INTO t (id) VALUES ('tx2')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await sql.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM t WHERE id = 'tx2'`)).toHaveLength(
      0,
    );
    // A failed statement aborts the transaction; the connection goes back to the pool clean.
    await expect(
      sql.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`INSERT INTO t (id) VALUES ('tx3')`);
        await tx.$executeRawUnsafe(`INSERT INTO t (id) VALUES ('tx3')`);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await sql.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM t WHERE id = 'tx3'`)).toHaveLength(
      0,
    );
    const idle = await sql.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(idle[0]!.n).toBe(0n);
  });

  it('refuses statements on a transaction that has ended or timed out', async () => {
    let leaked: Parameters<Parameters<SqlClient['$transaction']>[0]>[0] | undefined;
    await sql.$transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.$queryRawUnsafe('SELECT 1')).rejects.toThrow(/transaction is closed/);

    await expect(
      sql.$transaction(
        async (tx) => {
          await tx.$executeRawUnsafe(`INSERT INTO t (id) VALUES ('slow')`);
          await new Promise((r) => setTimeout(r, 80));
          await tx.$executeRawUnsafe(`UPDATE t SET i = 1 WHERE id = 'slow'`);
        },
        { timeout: 30 },
      ),
    ).rejects.toThrow(/timed out/);
    expect(await sql.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM t WHERE id = 'slow'`)).toHaveLength(
      0,
    );
  });

  it('surfaces SQLSTATEs as `code` (unique violation, serialization failure)', async () => {
    await expect(sql.$executeRawUnsafe(`INSERT INTO t (id) VALUES ('p1')`)).rejects.toMatchObject({
      code: '23505',
    });
    await expect(
      sql.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$`),
    ).rejects.toMatchObject({ code: '40001' });
  });

  it('runs statements as named prepared statements when asked', async () => {
    const prepared = createSqlClient(pool, { prepare: true });
    for (let i = 0; i < 3; i++) {
      const rows = await prepared.$queryRawUnsafe<{ v: bigint }[]>(
        'SELECT $1::int8 + 1 AS v',
        BigInt(i),
      );
      expect(rows[0]!.v).toBe(BigInt(i) + 1n);
    }
    const names = await prepared.$transaction(async (tx) => {
      await tx.$queryRawUnsafe<{ v: bigint }[]>('SELECT $1::int8 + 1 AS v', 5n);
      return tx.$queryRawUnsafe<{ name: string }[]>(
        `SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT $1::int8 + 1 AS v'`,
      );
    });
    expect(names).toEqual([{ name: expect.stringMatching(/^sqlc_\d+$/) }]);
  });
});
