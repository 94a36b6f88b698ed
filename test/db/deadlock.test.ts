import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { classifyError } from '@scaidrive/core';
import { createTestDatabase, type TestDatabase } from '@scaidrive/testkit';

/**
 * A real PostgreSQL deadlock, through both drivers the code uses (pg and Prisma): it is classified
 * as retryable — PostgreSQL rolled the loser's transaction back whole — not as an internal error
 * that fails a long sync or answers 500.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.prisma.$executeRawUnsafe(
    'CREATE TABLE deadlock_probe (id int PRIMARY KEY, v int); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)',
  );
});
afterAll(async () => {
  await db?.drop();
});

/** Two transactions lock rows 1 and 2 in opposite order; resolves with what the loser threw. */
async function deadlock(
  a: (sql: string) => Promise<unknown>,
  b: (sql: string) => Promise<unknown>,
): Promise<unknown> {
  await Promise.all([
    a('UPDATE deadlock_probe SET v = v + 1 WHERE id = 1'),
    b('UPDATE deadlock_probe SET v = v + 1 WHERE id = 2'),
  ]);
  const results = await Promise.allSettled([
    a('UPDATE deadlock_probe SET v = v + 1 WHERE id = 2'),
    b('UPDATE deadlock_probe SET v = v + 1 WHERE id = 1'),
  ]);
  const lost = results.find((r) => r.status === 'rejected');
  return lost?.status === 'rejected' ? lost.reason : undefined;
}

describe('a deadlock', () => {
  it('through pg is retryable', async () => {
    const [c1, c2] = [new pg.Client(db.url), new pg.Client(db.url)];
    await Promise.all([c1.connect(), c2.connect()]);
    try {
      await Promise.all([c1.query('BEGIN'), c2.query('BEGIN')]);
      const err = await deadlock(
        (q) => c1.query(q),
        (q) => c2.query(q),
      );
      expect((err as { code?: string }).code).toBe('40P01');
      expect(classifyError(err)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', action: 'retry' });
    } finally {
      await Promise.all([
        c1.query('ROLLBACK').catch(() => undefined),
        c2.query('ROLLBACK').catch(() => undefined),
      ]);
      await Promise.all([c1.end(), c2.end()]);
    }
  });

  it('through Prisma interactive transactions is retryable', async () => {
    let release!: () => void;
    const bothLocked = new Promise<void>((r) => (release = r));
    let locked = 0;
    const step = async (first: number, second: number) =>
      db.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`UPDATE deadlock_probe SET v = v + 1 WHERE id = ${first}`);
        if (++locked === 2) release();
        await bothLocked;
        await tx.$executeRawUnsafe(`UPDATE deadlock_probe SET v = v + 1 WHERE id = ${second}`);
      });
    const results = await Promise.allSettled([step(1, 2), step(2, 1)]);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost).toBeDefined();
    const err = (lost as PromiseRejectedResult).reason;
    expect(classifyError(err)).toMatchObject({ action: 'retry' });
  });
});
