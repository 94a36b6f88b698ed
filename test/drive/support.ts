import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createSqlClient } from '@scaidrive/db';
import {
  Drive,
  LocalChunkStore,
  type ChunkStore,
  type DriveOptions,
  type Principal,
} from '@scaidrive/drive';
import {
  createTenant,
  createTestDatabase,
  createUser,
  type TestDatabase,
} from '@scaidrive/testkit';

export interface DriveFixture {
  db: TestDatabase;
  /** The pool the drive runs on (`createSqlClient`), unless DRIVE_TEST_DB=prisma. */
  pool: pg.Pool | null;
  blobDir: string;
  store: LocalChunkStore;
  drive: Drive;
  tenantId: string;
  adminId: string;
  admin: Principal;
  close(): Promise<void>;
}

/** Which client the fixture's drive runs on: `pool` (default, as the worker runs it) or `prisma`. */
export const DRIVE_TEST_DB = process.env.DRIVE_TEST_DB === 'prisma' ? 'prisma' : 'pool';

/**
 * A migrated database, a blob directory in a temp folder, a Drive over both, a tenant + admin.
 * The drive runs on a pg pool through `createSqlClient` (the worker's composition), or on the
 * Prisma client with DRIVE_TEST_DB=prisma (the API's) or `{ client: 'prisma' }`.
 */
export async function driveFixture(
  options: Partial<Omit<DriveOptions, 'db' | 'prisma' | 'chunkStore'>> & {
    chunkStore?: ChunkStore;
    client?: 'pool' | 'prisma';
  } = {},
): Promise<DriveFixture> {
  const { client = DRIVE_TEST_DB, ...driveOptions } = options;
  const db = await createTestDatabase();
  const blobDir = await mkdtemp(path.join(os.tmpdir(), 'scaidrive-blobs-'));
  const store = new LocalChunkStore(blobDir);
  let pool: pg.Pool | null = null;
  if (client === 'pool') {
    pool = new pg.Pool({ connectionString: db.url, max: 5 });
    pool.on('error', () => undefined); // idle clients killed by DROP DATABASE … FORCE
  }
  const drive = new Drive({
    db: pool ? createSqlClient(pool) : db.prisma,
    chunkStore: driveOptions.chunkStore ?? store,
    chunkSizeBytes: 64 * 1024,
    ...driveOptions,
  });
  const tenant = await createTenant(db.prisma);
  const admin = await createUser(db.prisma, tenant.id, { role: 'tenant_admin' });
  return {
    db,
    pool,
    blobDir,
    store,
    drive,
    tenantId: tenant.id,
    adminId: admin.id,
    admin: { tenantId: tenant.id, userId: admin.id, groupIds: [], isTenantAdmin: true },
    async close() {
      await pool?.end().catch(() => undefined);
      await db.drop();
      await rm(blobDir, { recursive: true, force: true });
    },
  };
}

export function bytes(n: number, seed = 1): Buffer {
  // Deterministic pseudo-random content (incompressible, chunk-distinct).
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(`seed-${seed}`).digest();
  for (let off = 0; off < n; off += 32) {
    block.copy(out, off, 0, Math.min(32, n - off));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A byte stream of `data` in pieces of `piece` bytes. */
export function streamOf(data: Buffer, piece = 16 * 1024): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (let off = 0; off < data.length; off += piece) yield data.subarray(off, off + piece);
  }
  return Readable.from(gen(), { objectMode: false });
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p as Uint8Array));
  return Buffer.concat(parts);
}

export function randomName(): string {
  return randomBytes(4).toString('hex');
}

export async function countRows(
  db: TestDatabase,
  table: string,
  where = 'true',
  ...params: unknown[]
): Promise<number> {
  const rows = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM ${table} WHERE ${where}`,
    ...params,
  );
  return Number(rows[0]!.n);
}
