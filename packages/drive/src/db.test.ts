import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlClient, createSqlPool } from '@scaidrive/db';
import { createTestDatabase, type TestDatabase } from '@scaidrive/testkit';
import { inTx, isRetryableTxError, isUniqueViolation, sqlState, type DbClient } from './db.js';

// The drive's error classification and transaction retries, over both clients it runs on.

let db: TestDatabase;
let pool: ReturnType<typeof createSqlPool>;
let clients: [string, DbClient][];

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  pool = createSqlPool({ connectionString: db.url, poolSize: 3 });
  pool.on('error', () => undefined);
  clients = [
    ['pool', createSqlClient(pool)],
    ['prisma', db.prisma],
  ];
  await pool.query(`CREATE TABLE u (id text PRIMARY KEY, n int NOT NULL DEFAULT 0)`);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const raise = (code: string): string =>
  `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '${code}'; END $$`;

describe('SQLSTATE detection', () => {
  it('finds unique violations and retryable failures behind either client', async () => {
    for (const [name, client] of clients) {
      await client.$executeRawUnsafe(`INSERT INTO u (id) VALUES ($1)`, `dup-${name}`);
      const dup = await client
        .$executeRawUnsafe(`INSERT INTO u (id) VALUES ($1)`, `dup-${name}`)
        .catch((e: unknown) => e);
      expect([name, sqlState(dup)]).toEqual([name, '23505']);
      expect(isUniqueViolation(dup)).toBe(true);
      expect(isRetryableTxError(dup)).toBe(false);
      for (const code of ['40001', '40P01']) {
        const err = await client.$executeRawUnsafe(raise(code)).catch((e: unknown) => e);
        expect([name, sqlState(err)]).toEqual([name, code]);
        expect(isRetryableTxError(err)).toBe(true);
      }
    }
  });
});

describe('inTx', () => {
  it('retries a transaction that fails with a serialization failure or deadlock, rolling back the failed attempt', async () => {
    for (const [name, client] of clients) {
      for (const code of ['40001', '40P01']) {
        const id = `retry-${name}-${code}`;
        let attempts = 0;
        const result = await inTx(client, async (tx) => {
          attempts++;
          await tx.$executeRawUnsafe(`INSERT INTO u (id, n) VALUES ($1, $2)`, id, attempts);
          if (attempts < 3) await tx.$executeRawUnsafe(raise(code));
          return attempts;
        });
        expect(result).toBe(3);
        const rows = await client.$queryRawUnsafe<{ n: number }[]>(
          `SELECT n FROM u WHERE id = $1`,
          id,
        );
        expect(rows).toEqual([{ n: 3 }]);
      }
    }
  });

  it('gives up after the attempts and does not retry other errors', async () => {
    for (const [, client] of clients) {
      let attempts = 0;
      const failed = await inTx(
        client,
        async (tx) => {
          attempts++;
          await tx.$executeRawUnsafe(raise('40001'));
        },
        { attempts: 2 },
      ).catch((e: unknown) => e);
      expect(sqlState(failed)).toBe('40001');
      expect(attempts).toBe(2);
      attempts = 0;
      const unique = await inTx(client, async (tx) => {
        attempts++;
        await tx.$executeRawUnsafe(raise('23505'));
      }).catch((e: unknown) => e);
      expect(isUniqueViolation(unique)).toBe(true);
      expect(attempts).toBe(1);
    }
  });
});
