import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
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
  blobDir: string;
  store: LocalChunkStore;
  drive: Drive;
  tenantId: string;
  adminId: string;
  admin: Principal;
  close(): Promise<void>;
}

/** A migrated database, a blob directory in a temp folder, a Drive over both, a tenant + admin. */
export async function driveFixture(
  options: Partial<Omit<DriveOptions, 'prisma' | 'chunkStore'>> & { chunkStore?: ChunkStore } = {},
): Promise<DriveFixture> {
  const db = await createTestDatabase();
  const blobDir = await mkdtemp(path.join(os.tmpdir(), 'scaidrive-blobs-'));
  const store = new LocalChunkStore(blobDir);
  const drive = new Drive({
    prisma: db.prisma,
    chunkStore: options.chunkStore ?? store,
    chunkSizeBytes: 64 * 1024,
    ...options,
  });
  const tenant = await createTenant(db.prisma);
  const admin = await createUser(db.prisma, tenant.id, { role: 'tenant_admin' });
  return {
    db,
    blobDir,
    store,
    drive,
    tenantId: tenant.id,
    adminId: admin.id,
    admin: { tenantId: tenant.id, userId: admin.id, groupIds: [], isTenantAdmin: true },
    async close() {
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
