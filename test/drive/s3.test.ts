import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newId } from '@scaidrive/core';
import type { Drive } from '@scaidrive/drive';
import { S3ChunkStore } from '@scaidrive/drive';
import {
  bytes,
  countRows,
  driveFixture,
  readAll,
  sha256,
  streamOf,
  type DriveFixture,
} from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BUCKET = 'scaidrive-chunks';
let server: ChildProcess;
let dir: string;
let store: S3ChunkStore;
let f: DriveFixture;
let drive: Drive;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scaidrive-s3rver-'));
  server = fork(path.join(here, 's3rver-child.mjs'), [dir, BUCKET], {
    execArgv: ['--openssl-legacy-provider'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('message', (m) => resolve((m as { port: number }).port));
    server.once('exit', (code) => reject(new Error(`s3rver exited (${code})`)));
  });
  store = new S3ChunkStore({
    bucket: BUCKET,
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    listPageSize: 7,
  });
  f = await driveFixture({ chunkStore: store });
  drive = f.drive;
});
afterAll(async () => {
  await store?.close();
  await f?.close();
  server?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('S3 chunk store (s3rver)', () => {
  it('puts, checks, reads ranges, lists (paged) and deletes chunks', async () => {
    const tenant = newId('tnt');
    const data = bytes(100_000, 1);
    const hash = sha256(data);
    expect(await store.has(tenant, hash)).toBe(false);
    await store.put(tenant, hash, data);
    expect(await store.has(tenant, hash)).toBe(true);
    expect((await readAll(await store.read(tenant, hash))).equals(data)).toBe(true);
    expect(
      (await readAll(await store.read(tenant, hash, { start: 1000, end: 2500 }))).equals(
        data.subarray(1000, 2500),
      ),
    ).toBe(true);
    await expect(store.read(tenant, 'a'.repeat(64))).rejects.toMatchObject({ code: 'INTERNAL' });
    await store.delete(tenant, hash);
    expect(await store.has(tenant, hash)).toBe(false);
  });

  it('stores bodies byte-exact (no aws-chunked framing), as the server keeps them on disk', async () => {
    const tenant = newId('tnt');
    const data = bytes(70_000, 3);
    const hash = sha256(data);
    await store.put(tenant, hash, data);
    const key = `chunks/${tenant}/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
    const onDisk = await readFile(path.join(dir, BUCKET, `${key}._S3rver_object`));
    expect(onDisk.equals(data)).toBe(true);
    await store.delete(tenant, hash);
  });

  it('runs the share store on S3: round trip, dedupe, versions, GC', async () => {
    const share = await drive.shares.create(f.tenantId, { name: 'S3', ownerId: f.adminId }, {});
    const data = bytes(64 * 1024 * 3 + 99, 2);
    const { node } = await drive.files.writeFile(
      f.tenantId,
      share.id,
      { path: '/x' },
      'a.bin',
      streamOf(data),
      {},
    );
    await drive.files.writeFile(f.tenantId, share.id, { path: '/x' }, 'b.bin', streamOf(data), {});
    const r = await drive.files.open(f.tenantId, node.id, {
      range: { start: 70_000, end: 140_000 },
    });
    expect((await readAll(r.stream)).equals(data.subarray(70_000, 140_000))).toBe(true);
    const listed = [];
    for await (const c of store.list(f.tenantId)) listed.push(c.hash);
    expect(listed.length).toBe(4); // 4 distinct chunks, stored once, listed across pages of 7
    // Purge both files: everything becomes garbage and leaves the bucket.
    for (const name of ['a.bin', 'b.bin']) {
      const n = (await drive.tree.resolve(f.tenantId, share.id, `/x/${name}`))!;
      await drive.tree.trash(f.tenantId, n.id, {});
      await drive.tree.purge(f.tenantId, n.id);
    }
    await f.db.prisma.$executeRawUnsafe(`UPDATE chunks SET touched_at = now() - interval '1 day'`);
    const gc = await drive.collectGarbage();
    expect(gc.chunksDeleted).toBeGreaterThanOrEqual(4);
    const after = [];
    for await (const c of store.list(f.tenantId)) after.push(c.hash);
    expect(after).toEqual([]);
    expect(await countRows(f.db, 'chunks', 'tenant_id = $1', f.tenantId)).toBe(0);
    expect((await drive.shares.get(f.tenantId, share.id)).usedBytes).toBe(0);
  });

  it('lists more than one page of objects', async () => {
    const tenant = newId('tnt');
    const hashes = [];
    for (let i = 0; i < 20; i++) {
      const d = bytes(100, 1000 + i);
      hashes.push(sha256(d));
      await store.put(tenant, sha256(d), d);
    }
    const listed = [];
    for await (const c of store.list(tenant)) listed.push(c.hash);
    expect(listed.sort()).toEqual(hashes.sort());
  });
});
