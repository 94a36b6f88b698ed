import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSqlClient } from '@scaidrive/db';
import {
  Drive,
  LocalChunkStore,
  NameConflictError,
  PreconditionFailedError,
  type ChunkStore,
  type StagedChunk,
} from '@scaidrive/drive';
import { bytes, countRows, driveFixture, readAll, sha256, type DriveFixture } from './support.js';

// The write hot path: buffers sized to the content, one digest for single-chunk content, the
// one-statement lock of the write slot with the general path behind it, bounded seals, and the
// number of statements a small write costs.

const MiB = 1024 * 1024;
const CHUNK = 1 * MiB; // larger than the first buffer of content of unknown size (64 KiB)
let f: DriveFixture;
let shareId: string;
const actor = { userId: null, origin: 'manual' };

beforeAll(async () => {
  f = await driveFixture({ chunkSizeBytes: CHUNK, versionRetention: 3 });
  shareId = (await f.drive.shares.create(f.tenantId, { name: 'Hot', ownerId: f.adminId }, actor))
    .id;
});
afterAll(async () => {
  await f.close();
});

/** `data` in pieces of `piece` bytes (an odd size, so pieces straddle chunk boundaries). */
function pieces(data: Buffer, piece: number): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (let off = 0; off < data.length; off += piece) yield data.subarray(off, off + piece);
  }
  return Readable.from(gen(), { objectMode: false });
}

describe('content sizes and chunking', () => {
  const sizes = [0, 1, 100_000, 300_000, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 12_345];
  for (const announced of [true, false])
    it(`stores ${sizes.length} sizes exactly, ${announced ? 'with' : 'without'} the size announced`, async () => {
      for (const [i, size] of sizes.entries()) {
        const data = bytes(size, 1000 + size);
        const name = `s-${announced}-${i}.bin`;
        const { node, version } = await f.drive.files.writeFile(
          f.tenantId,
          shareId,
          { path: '/sizes' },
          name,
          pieces(data, 7_777),
          actor,
          announced ? { size } : {},
        );
        expect([name, version.size, version.sha256]).toEqual([name, size, sha256(data)]);
        expect(node.sha256).toBe(sha256(data));
        // Chunks: full chunks, then the rest; each stored under the SHA-256 of its bytes.
        const chunks = await f.db.prisma.$queryRawUnsafe<{ hash: string; size: number }[]>(
          `SELECT hash, size FROM version_chunks WHERE version_id = $1 ORDER BY idx`,
          version.id,
        );
        const expected: number[] = [];
        for (let off = 0; off < size; off += CHUNK) expected.push(Math.min(CHUNK, size - off));
        expect(chunks.map((c) => c.size)).toEqual(expected);
        let off = 0;
        for (const c of chunks) {
          const stored = await f.store.readBuffer(f.tenantId, c.hash);
          expect(stored.equals(data.subarray(off, off + c.size))).toBe(true);
          expect(createHash('sha256').update(stored).digest('hex')).toBe(c.hash);
          off += c.size;
        }
        const back = await readAll((await f.drive.files.open(f.tenantId, node.id)).stream);
        expect(back.equals(data)).toBe(true);
      }
    });

  it('fails content longer or shorter than announced, and a wrong SHA-256, for small content too', async () => {
    const data = bytes(5000, 5);
    for (const [size, sha] of [
      [4999, undefined],
      [5001, undefined],
      [5000, sha256(Buffer.from('other'))],
    ] as const) {
      await expect(
        f.drive.files.writeFile(
          f.tenantId,
          shareId,
          { path: '/bad' },
          'x.bin',
          pieces(data, 999),
          actor,
          {
            size,
            expectedSha256: sha,
          },
        ),
      ).rejects.toMatchObject({ code: sha ? 'CHECKSUM_MISMATCH' : 'ITEM_CHANGED_DURING_READ' });
    }
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/bad/x.bin')).toBeNull();
  });
});

describe('write slot', () => {
  it('writes into existing folders, creates missing ones, and returns the path as the store spells it', async () => {
    await f.drive.tree.mkdirp(f.tenantId, shareId, '/Spelled/Deep', actor);
    const tree = f.drive.shareTree({
      tenantId: f.tenantId,
      shareId,
      rootPath: '/spelled',
      origin: 'connector:cnn_w',
    });
    const data = bytes(3000, 9);
    const e1 = await tree.write('deep/File.TXT', Readable.from([data]), {
      size: data.length,
      mtimeMs: 1_700_000_000_000,
    });
    expect(e1).toMatchObject({ path: 'Deep/File.TXT', name: 'File.TXT', version: '1' });
    // Same file, other case: a new version of it, path still as stored.
    const e2 = await tree.write('DEEP/file.txt', Readable.from([data]), {
      size: data.length,
      mtimeMs: 1_700_000_000_000,
      ifMatch: '1',
    });
    expect(e2).toMatchObject({ id: e1.id, path: 'Deep/File.TXT', version: '2' });
    // Missing folders are created (the general path) and reported in the change feed.
    const e3 = await tree.write('new/a/b.bin', Readable.from([data]), {
      size: data.length,
      mtimeMs: 1_700_000_000_000,
    });
    expect(e3).toMatchObject({ path: 'new/a/b.bin', version: '1' });
    const feed = await f.drive.changes(f.tenantId, shareId, '');
    const created = feed.changes
      .filter((c) => c.changeType === 'created')
      .map((c) => c.newPath)
      .filter((p) => p?.startsWith('/spelled/new'));
    expect(created).toEqual(['/spelled/new', '/spelled/new/a', '/spelled/new/a/b.bin']);
    // At the share root.
    const root = await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/' },
      'at-root.bin',
      Readable.from([data]),
      actor,
      { size: data.length },
    );
    expect(root.path).toBe('/at-root.bin');
  });

  it('refuses a file where a folder is, a folder where the file goes, and a failed ifMatch', async () => {
    const data = bytes(100, 3);
    await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/slot' },
      'plain',
      Readable.from([data]),
      actor,
      {
        size: 100,
      },
    );
    await expect(
      f.drive.files.writeFile(
        f.tenantId,
        shareId,
        { path: '/slot/plain' },
        'x',
        Readable.from([data]),
        actor,
        {
          size: 100,
        },
      ),
    ).rejects.toBeInstanceOf(NameConflictError);
    await f.drive.tree.mkdirp(f.tenantId, shareId, '/slot/dir', actor);
    await expect(
      f.drive.files.writeFile(
        f.tenantId,
        shareId,
        { path: '/slot' },
        'DIR',
        Readable.from([data]),
        actor,
        {
          size: 100,
        },
      ),
    ).rejects.toBeInstanceOf(NameConflictError);
    for (const ifMatch of [null, '7'])
      await expect(
        f.drive.files.writeFile(
          f.tenantId,
          shareId,
          { path: '/slot' },
          'PLAIN',
          Readable.from([data]),
          actor,
          {
            size: 100,
            ifMatch,
          },
        ),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(
      f.drive.files.writeFile(
        f.tenantId,
        shareId,
        { path: '/slot' },
        'none',
        Readable.from([data]),
        actor,
        {
          size: 100,
          ifMatch: '1',
        },
      ),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('keeps the retention exact when imported history sits below the current version', async () => {
    const v = (n: number): Buffer => bytes(2000, 500 + n);
    const w = await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/ret' },
      'h.bin',
      Readable.from([v(1)]),
      actor,
      {
        size: 2000,
      },
    );
    for (const k of [2, 3])
      await f.drive.files.addVersion(f.tenantId, w.node.id, Readable.from([v(k)]), actor, {
        origin: `test:${k}`,
        size: 2000,
        modifiedAt: new Date(Date.UTC(2020, 0, k)),
      });
    expect(await countRows(f.db, 'file_versions', 'node_id = $1', w.node.id)).toBe(3);
    // The current version is still number 1: a count, not the number, decides pruning.
    const next = await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/ret' },
      'h.bin',
      Readable.from([v(4)]),
      actor,
      {
        size: 2000,
      },
    );
    expect(next.version.versionNumber).toBe(2);
    expect(await countRows(f.db, 'file_versions', 'node_id = $1', w.node.id)).toBe(3);
    const live = await f.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM chunks c WHERE tenant_id = $1 AND ref_count > 0
          AND NOT EXISTS (SELECT 1 FROM version_chunks vc WHERE vc.tenant_id = c.tenant_id AND vc.hash = c.hash)`,
      f.tenantId,
    );
    expect(live[0]!.n).toBe(0n);
  });
});

describe('chunk rows gone stale before the commit', () => {
  /** A store that ages the chunk's row (as if the upload took longer than the grace period). */
  function agingStore(options: { dropBytes: boolean }): ChunkStore {
    const local = new LocalChunkStore(f.blobDir);
    return Object.assign(Object.create(local) as LocalChunkStore, {
      async put(t: string, h: string, d: Uint8Array): Promise<void> {
        await local.put(t, h, d);
        await f.db.prisma.$executeRawUnsafe(
          `UPDATE chunks SET touched_at = now() - interval '3 hours' WHERE tenant_id = $1 AND hash = $2`,
          t,
          h,
        );
        if (options.dropBytes) await local.delete(t, h);
      },
    });
  }
  const driveOver = (store: ChunkStore): Drive =>
    new Drive({
      db: f.pool ? createSqlClient(f.pool) : f.db.prisma,
      chunkStore: store,
      chunkSizeBytes: CHUNK,
      gcGraceMs: 60 * 60 * 1000,
    });

  it('verifies the bytes in the store and commits when they are there', async () => {
    const data = bytes(4000, 880);
    const { node, version } = await driveOver(agingStore({ dropBytes: false })).files.writeFile(
      f.tenantId,
      shareId,
      { path: '/stale' },
      'kept.bin',
      Readable.from([data]),
      actor,
      { size: data.length },
    );
    expect(version.sha256).toBe(sha256(data));
    const rows = await f.db.prisma.$queryRawUnsafe<{ ref_count: number; fresh: boolean }[]>(
      `SELECT ref_count, touched_at > now() - interval '1 minute' AS fresh FROM chunks
        WHERE tenant_id = $1 AND hash = $2`,
      f.tenantId,
      sha256(data),
    );
    expect(rows).toEqual([{ ref_count: 1, fresh: true }]);
    expect(
      (await readAll((await f.drive.files.open(f.tenantId, node.id)).stream)).equals(data),
    ).toBe(true);
  });

  it('fails the commit (retryable) and commits nothing when GC took the bytes', async () => {
    const data = bytes(4000, 881);
    await expect(
      driveOver(agingStore({ dropBytes: true })).files.writeFile(
        f.tenantId,
        shareId,
        { path: '/stale' },
        'lost.bin',
        Readable.from([data]),
        actor,
        { size: data.length },
      ),
    ).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', action: 'retry' });
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/stale/lost.bin')).toBeNull();
    expect(
      await countRows(
        f.db,
        'chunks',
        'tenant_id = $1 AND hash = $2 AND ref_count > 0',
        f.tenantId,
        sha256(data),
      ),
    ).toBe(0);
  });
});

describe('costs', () => {
  it('a small write into an existing folder takes three statements besides BEGIN/COMMIT', async () => {
    if (!f.pool) return; // counted on the pool client
    const sql = createSqlClient(f.pool);
    const seen: string[] = [];
    const count = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, p, r) {
          const v = Reflect.get(t, p, r) as unknown;
          if (p === '$transaction')
            return (fn: (tx: unknown) => Promise<unknown>, o: unknown) =>
              (v as (fn: (tx: unknown) => Promise<unknown>, o: unknown) => Promise<unknown>).call(
                t,
                (tx) => fn(count(tx as object)),
                o,
              );
          if (typeof p === 'string' && p.startsWith('$') && typeof v === 'function')
            return (...args: unknown[]) => {
              seen.push(String(args[0]).trim().split(/\s+/).slice(0, 3).join(' '));
              return (v as (...a: unknown[]) => unknown).apply(t, args);
            };
          return v;
        },
      });
    const drive = new Drive({ db: count(sql), chunkStore: f.store, chunkSizeBytes: CHUNK });
    const tree = drive.shareTree({ tenantId: f.tenantId, shareId, rootPath: '/', origin: 'c:x' });
    await tree.mkdir('costs/sub');
    const write = (name: string, seed: number, ifMatch: string | null) =>
      tree.write(`costs/sub/${name}`, Readable.from([bytes(8192, seed)]), {
        size: 8192,
        mtimeMs: 0,
        ifMatch,
      });
    seen.length = 0;
    await write('new.bin', 77, null);
    // Touch the chunk; lock the slot + write the file, version and chunk list; take the chunk
    // references + update the share + append the change.
    expect(seen).toEqual(['INSERT INTO chunks', 'WITH chain AS', 'WITH d AS']);
    seen.length = 0;
    await write('new.bin', 78, '1');
    expect(seen).toHaveLength(3);
    // Concurrent writes share their chunk touches.
    seen.length = 0;
    const entries = await Promise.all(
      Array.from({ length: 8 }, (_, i) => write(`c${i}.bin`, 100 + i, null)),
    );
    expect(entries.map((e) => e.version)).toEqual(Array(8).fill('1'));
    const touches = seen.filter((s) => s === 'INSERT INTO chunks').length;
    expect(touches).toBeGreaterThanOrEqual(1);
    expect(touches).toBeLessThan(8);
    expect(seen.filter((s) => s === 'WITH chain AS')).toHaveLength(8);
  });

  it('keeps at most sealConcurrency chunk seals in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const local = new LocalChunkStore(f.blobDir);
    const store: ChunkStore = Object.assign(Object.create(local) as LocalChunkStore, {
      async stage(t: string, h: string, d: Uint8Array): Promise<StagedChunk> {
        const staged = await local.stage(t, h, d);
        return {
          async seal() {
            peak = Math.max(peak, ++inFlight);
            await new Promise((r) => setTimeout(r, 20));
            try {
              await staged.seal();
            } finally {
              inFlight--;
            }
          },
          discard: () => staged.discard(),
        };
      },
    });
    const drive = new Drive({
      db: f.pool ? createSqlClient(f.pool) : f.db.prisma,
      chunkStore: store,
      chunkSizeBytes: 64 * 1024,
      writeConcurrency: 4,
      sealConcurrency: 2,
    });
    const data = bytes(64 * 1024 * 12, 4242);
    const { version } = await drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/' },
      'seals.bin',
      pieces(data, 50_000),
      actor,
      {
        size: data.length,
      },
    );
    expect(version.sha256).toBe(sha256(data));
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(2);
  });
});
