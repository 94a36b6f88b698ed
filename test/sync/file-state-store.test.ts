import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newId } from '@scaidrive/core';
import pg from 'pg';
import { createFileStateStore } from '@scaidrive/db';
import { createLocalTree, runSync, type FileStateRecord } from '@scaidrive/sync';
import {
  createShare,
  createTenant,
  createTestDatabase,
  createUser,
  type TestDatabase,
} from '@scaidrive/testkit';

let db: TestDatabase;
let pool: pg.Pool;
let tenantId: string;
let otherTenantId: string;
let connectorId: string;

async function connector(tenant: string): Promise<string> {
  const user = await createUser(db.prisma, tenant);
  const share = await createShare(db.prisma, tenant, user.id);
  const id = newId('cnn');
  await db.prisma.connector.create({
    data: {
      id,
      tenantId: tenant,
      kind: 'smb',
      name: 'c',
      targetShareId: share.id,
      targetPath: '',
      syncDirection: 'bidirectional',
    },
  });
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  tenantId = (await createTenant(db.prisma)).id;
  otherTenantId = (await createTenant(db.prisma, 'Other')).id;
  connectorId = await connector(tenantId);
  // Idle connections close quickly, so their backends exit and flush their table statistics.
  pool = new pg.Pool({ connectionString: db.url, max: 4, idleTimeoutMillis: 50 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function rec(p: string, extra: Partial<FileStateRecord> = {}): FileStateRecord {
  const parts = p.split('/');
  return {
    path: p,
    pathKey: p.toLowerCase(),
    parentKey: parts.slice(0, -1).join('/').toLowerCase(),
    kind: 'file',
    status: 'synced',
    source: {
      id: `s-${p}`,
      version: 'v1',
      size: 12_345_678_901,
      mtimeMs: 1_700_000_000_123,
      hash: 'sha256:ab',
    },
    target: { id: `t-${p}`, size: 12_345_678_901, mtimeMs: 1_700_000_000_123 },
    aclHash: null,
    metadataHash: null,
    lastSyncedAtMs: 1_700_000_001_000,
    lastError: null,
    lastErrorCode: null,
    conflict: null,
    ...extra,
  };
}

describe.each(['prisma', 'pg pool'] as const)(
  'createFileStateStore over %s (PostgreSQL)',
  (via) => {
    const client = () => (via === 'prisma' ? db.prisma : pool);
    it('stores names with unpaired surrogates exactly, apart from the U+FFFD name', async () => {
      const cid = await connector(tenantId);
      const store = createFileStateStore(client(), { tenantId, connectorId: cid });
      const lone = 'L\ud800/x\udc01.txt';
      const names = [lone, 'L\ud800', 'L\ufffd', 'L\ufffd/x\ufffd.txt', 'L\u0001d800'];
      await store.upsert(
        names.map((n) =>
          rec(n, {
            kind: n.includes('/') ? 'file' : 'folder',
            status: n === lone ? 'conflict' : 'error',
            lastError: `"${n}" cannot be created`,
            conflict: n === lone ? { [n]: { path: n, names: [n] } } : null,
          }),
        ),
      );
      expect(await store.count()).toBe(5);
      const got = await store.get(lone.toLowerCase());
      expect(got).toMatchObject({ path: lone, parentKey: 'l\ud800' });
      expect(got?.conflict).toEqual({ [lone]: { path: lone, names: [lone] } });
      expect(got?.lastError).toBe(`"${lone}" cannot be created`);
      // Item ids may carry such names too (a connector that uses paths as ids): kept exactly.
      expect((await store.getBySourceId(`s-${lone}`))?.path).toBe(lone);
      expect((await store.getByTargetId(`t-L\ud800`))?.source?.id).toBe('s-L\ud800');
      expect((await store.getBySourceId('s-L\ufffd'))?.path).toBe('L\ufffd');
      expect((await store.children('l\ud800')).map((r) => r.path)).toEqual([lone]);
      expect((await store.children('l\ufffd')).map((r) => r.path)).toEqual(['L\ufffd/x\ufffd.txt']);
      const under: string[] = [];
      for await (const b of store.descendants('l\ud800', 10)) under.push(...b.map((r) => r.path));
      expect(under).toEqual([lone]);
      await store.remove(['l\ud800']);
      expect(await store.get('l\ud800')).toBeNull();
      expect((await store.get('l\ufffd'))?.path).toBe('L\ufffd');
      expect((await store.get('l\u0001d800'))?.path).toBe('L\u0001d800');
      expect(await store.count()).toBe(4);
    });

    it('round-trips rows, orders by code point, and stays inside its tenant and connector', async () => {
      const cid = await connector(tenantId);
      const ocid = await connector(otherTenantId);
      const store = createFileStateStore(client(), { tenantId, connectorId: cid, chunkSize: 2 });
      const other = createFileStateStore(client(), { tenantId: otherTenantId, connectorId: ocid });
      // A row of another connector of the same tenant is not seen either.
      await createFileStateStore(client(), { tenantId, connectorId }).upsert([rec('D/y.txt')]);
      await store.upsert([
        rec('D/b.txt'),
        rec('D/a-1.txt', { conflict: { source: { size: 1 } }, status: 'conflict' }),
        rec('D/a.txt', {
          target: null,
          status: 'error',
          lastError: 'locked',
          lastErrorCode: 'ITEM_LOCKED',
        }),
        rec('D', { kind: 'folder', parentKey: '' }),
        rec('D/É.txt'),
      ]);
      await other.upsert([rec('D/zz.txt')]);
      const children = await store.children('d');
      expect(children.map((r) => r.pathKey)).toEqual([
        'd/a-1.txt',
        'd/a.txt',
        'd/b.txt',
        'd/é.txt',
      ]);
      const b = await store.get('d/b.txt');
      expect(b).toEqual({ ...rec('D/b.txt'), aclHash: null, metadataHash: null });
      expect((await store.get('d/a-1.txt'))?.conflict).toEqual({ source: { size: 1 } });
      expect((await store.get('d/a.txt'))?.target).toBeNull();
      expect((await store.getBySourceId('s-D/b.txt'))?.pathKey).toBe('d/b.txt');
      expect((await store.getByTargetId('t-D/b.txt'))?.pathKey).toBe('d/b.txt');
      // Tenant/connector isolation, both ways.
      expect(await store.get('d/zz.txt')).toBeNull();
      expect(await other.get('d/b.txt')).toBeNull();
      expect(await other.count()).toBe(1);
      expect(await store.count()).toBe(5);
      expect(await store.count(['synced'], 'file')).toBe(2);
      expect(await store.count(['synced', 'error'])).toBe(4);
      // Update in place.
      await store.upsert([rec('D/b.txt', { status: 'excluded', lastError: 'hidden item' })]);
      expect((await store.get('d/b.txt'))?.status).toBe('excluded');
      // Batches.
      const batches: string[][] = [];
      for await (const batch of store.descendants('d', 2))
        batches.push(batch.map((r) => r.pathKey));
      expect(batches).toEqual([
        ['d/a-1.txt', 'd/a.txt'],
        ['d/b.txt', 'd/é.txt'],
      ]);
      const all: string[] = [];
      for await (const batch of store.descendants('', 3)) all.push(...batch.map((r) => r.pathKey));
      expect(all).toEqual(['d', 'd/a-1.txt', 'd/a.txt', 'd/b.txt', 'd/é.txt']);
      const bad: string[] = [];
      for await (const batch of store.listByStatus(['error', 'conflict'], 10))
        bad.push(...batch.map((r) => r.pathKey));
      expect(bad).toEqual(['d/a-1.txt', 'd/a.txt']);
      await store.remove(['d/a.txt', 'd/zz.txt']);
      expect(await store.count()).toBe(4);
      expect(await other.count()).toBe(1); // the other connector's d/zz.txt is untouched
    });

    it('backs a real sync: an unchanged rerun plans nothing and writes no row', async () => {
      const id = await connector(tenantId);
      const store = createFileStateStore(client(), { tenantId, connectorId: id });
      const root = await mkdtemp(path.join(tmpdir(), 'sd-pg-sync-'));
      try {
        await mkdir(path.join(root, 's/sub'), { recursive: true });
        await mkdir(path.join(root, 't'));
        for (let i = 0; i < 30; i++)
          await writeFile(path.join(root, 's/sub', `f${i}.txt`), `content ${i}`);
        await writeFile(path.join(root, 't', 'from-target.txt'), 'T');
        const source = createLocalTree(path.join(root, 's'), { fsync: false });
        const target = createLocalTree(path.join(root, 't'), { fsync: false });
        const options = {
          direction: 'both' as const,
          conflictResolution: 'KEEP_BOTH' as const,
          batchSize: 7,
        };
        const first = await runSync({ source, target, state: store, options });
        expect(first.status).toBe('completed');
        expect(first.progress.filesSynced).toBe(31);
        expect(await readFile(path.join(root, 's', 'from-target.txt'), 'utf8')).toBe('T');
        expect(await store.count(['synced'])).toBe(32);

        const stats = async () => {
          const r = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
            `SELECT (n_tup_ins + n_tup_upd + n_tup_del)::bigint AS n FROM pg_stat_user_tables WHERE relname = 'file_states'`,
          );
          return Number(r[0]?.n ?? 0);
        };
        // A backend flushes its table statistics when it exits (idle ones only every ~10 s):
        // close the pool, and read the counters over a fresh connection.
        const settle = async () => {
          await db.prisma.$disconnect();
          await new Promise((r) => setTimeout(r, 300));
        };
        const fingerprint = () =>
          db.prisma.$queryRawUnsafe<{ n: number; m: Date }[]>(
            `SELECT count(*)::int AS n, max(updated_at) AS m FROM file_states WHERE connector_id = $1`,
            id,
          );
        await settle();
        const before = await stats();
        expect(before).toBeGreaterThan(0); // the first run's writes are counted
        const rowsBefore = await fingerprint();
        const events: string[] = [];
        const second = await runSync({
          source,
          target,
          state: store,
          options,
          onEvent: (e) => events.push(e.type),
        });
        expect(second.status).toBe('completed');
        expect(events.filter((e) => e === 'plan')).toEqual([]);
        await settle();
        expect(await stats()).toBe(before);
        expect(await fingerprint()).toEqual(rowsBefore);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  },
);
