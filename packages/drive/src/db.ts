/**
 * Anything that runs raw SQL: a Prisma client, a `SqlClient` over a pg pool (`createSqlClient` of
 * @scaidrive/db), or an open transaction of either. The drive uses nothing else of Prisma.
 */
export interface Db {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): Promise<T>;
}

/**
 * A database client the drive runs on: `PrismaClient` or `createSqlClient(pool)` (the fast path:
 * a pg round trip costs a fraction of a Prisma raw query).
 */
export interface DbClient extends Db {
  $transaction<T>(
    fn: (tx: Db) => Promise<T>,
    options?: { timeout?: number; maxWait?: number },
  ): Promise<T>;
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/** The PostgreSQL SQLSTATE behind a Prisma / driver error, if any. */
export function sqlState(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 6 && cur && typeof cur === 'object'; depth++) {
    const o = cur as Record<string, unknown>;
    for (const key of ['sqlState', 'originalCode']) {
      if (typeof o[key] === 'string' && /^[0-9A-Z]{5}$/.test(o[key])) return o[key];
    }
    if (typeof o.code === 'string' && /^[0-9A-Z]{5}$/.test(o.code) && !o.code.startsWith('P'))
      return o.code;
    const meta = o.meta as Record<string, unknown> | undefined;
    if (meta && typeof meta === 'object') {
      if (typeof meta.code === 'string' && /^[0-9A-Z]{5}$/.test(meta.code)) return meta.code;
      const de = meta.driverAdapterError as Record<string, unknown> | undefined;
      if (de) {
        const s = sqlState(de);
        if (s) return s;
      }
    }
    if (o.code === 'P2002') return '23505';
    if (o.code === 'P2034') return '40001';
    cur = o.cause;
  }
  return undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}

export function isRetryableTxError(err: unknown): boolean {
  const s = sqlState(err);
  return s !== undefined && RETRYABLE_SQLSTATES.has(s);
}

export interface TxOptions {
  /** Attempts on deadlock / serialization failure (default 5). */
  attempts?: number;
  timeoutMs?: number;
}

/**
 * Runs `fn` in an interactive transaction (READ COMMITTED) and retries it when PostgreSQL aborts
 * it for a deadlock or a serialization failure. `fn` must be safe to run again.
 */
export async function inTx<T>(
  db: DbClient,
  fn: (tx: Db) => Promise<T>,
  options: TxOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(fn, {
        timeout: options.timeoutMs ?? 60_000,
        maxWait: 30_000,
      });
    } catch (err) {
      if (attempt >= attempts || !isRetryableTxError(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}
