// Share-store streaming benchmark: a 1 GiB file streamed into the store (chunked, hashed, fsynced,
// committed as a version) and back out to a file, next to a plain `cp` of the same file on the same
// disk in the same run. Reports MiB/s and the process's peak RSS. Not part of `pnpm test`.
//
//   node --import ./test/drive/ts-loader.mjs bench/drive/run.ts [--size-mib 1024] [--runs 3] [--dir /tmp]
//
// Uses BENCH_DATABASE_URL (an admin URL; a scratch database is created and dropped) or the local
// PostgreSQL on 127.0.0.1:5432. Writes bench/results/drive-<timestamp>.json and prints a table.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPrismaClient, migrate } from '@scaidrive/db';
import { Drive, LocalChunkStore } from '@scaidrive/drive';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: os.tmpdir() },
    'chunk-mib': { type: 'string', default: '4' },
  },
});
const sizeMiB = Number(values['size-mib']);
const runs = Number(values.runs);
const MiB = 1024 * 1024;

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
async function admin(sql: string): Promise<void> {
  const c = createPrismaClient({ connectionString: adminUrl, poolSize: 1 });
  try {
    await c.$executeRawUnsafe(sql);
  } finally {
    await c.$disconnect();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

const work = await mkdtemp(path.join(values.dir!, 'scaidrive-bench-'));
const src = path.join(work, 'source.bin');
await admin(`CREATE DATABASE "${dbName}"`);
const u = new URL(adminUrl);
u.pathname = `/${dbName}`;
const prisma = createPrismaClient({ connectionString: u.toString(), poolSize: 8 });
try {
  await migrate({
    connectionString: u.toString(),
    migrationsDir: path.join(root, 'prisma/migrations'),
  });
  // Source file: incompressible, written in 4 MiB blocks (never held whole).
  {
    const fh = await open(src, 'w');
    for (let i = 0; i < sizeMiB / 4; i++) await fh.write(randomBytes(4 * MiB));
    await fh.sync();
    await fh.close();
  }
  const srcHash = await sha256File(src);
  const bytes = (await stat(src)).size;

  const tenant = `tnt_${randomBytes(8).toString('hex').toUpperCase()}`;
  const user = `usr_${randomBytes(8).toString('hex').toUpperCase()}`;
  await prisma.tenant.create({ data: { id: tenant, name: 'bench' } });
  await prisma.user.create({ data: { id: user, tenantId: tenant } });
  const results = {
    cp: [] as number[],
    cpSync: [] as number[],
    write: [] as number[],
    read: [] as number[],
  };
  const cachesDropped = dropCaches();

  for (let run = 0; run < runs; run++) {
    // cp baseline (page cache, no fsync) and cp + sync (durable, like the store).
    const cpDst = path.join(work, `cp-${run}.bin`);
    results.cp.push(await timed(() => void execFileSync('cp', [src, cpDst])));
    await rm(cpDst);
    dropCaches();
    results.cpSync.push(
      await timed(() => void execFileSync('sh', ['-c', `cp "${src}" "${cpDst}" && sync`])),
    );
    await rm(cpDst);

    // A fresh blob dir per run, so every chunk is really written (no dedupe against the last run).
    const blobDir = path.join(work, `blobs-${run}`);
    const drive = new Drive({
      prisma,
      chunkStore: new LocalChunkStore(blobDir),
      chunkSizeBytes: Number(values['chunk-mib']) * MiB,
    });
    const share = await drive.shares.create(tenant, { name: `bench ${run}`, ownerId: user }, {});
    dropCaches();
    let fileId = '';
    results.write.push(
      await timed(async () => {
        const { node, version } = await drive.files.writeFile(
          tenant,
          share.id,
          { path: '/' },
          'big.bin',
          createReadStream(src, { highWaterMark: MiB }),
          { userId: user },
          { size: bytes },
        );
        if (version.sha256 !== srcHash) throw new Error('hash mismatch on write');
        fileId = node.id;
      }),
    );
    dropCaches();
    const out = path.join(work, `out-${run}.bin`);
    results.read.push(
      await timed(async () => {
        const { stream } = await drive.files.open(tenant, fileId);
        await pipeline(stream, createWriteStream(out, { highWaterMark: MiB }));
      }),
    );
    if ((await sha256File(out)) !== srcHash) throw new Error('hash mismatch on read');
    await rm(out);
    await rm(blobDir, { recursive: true });
  }

  clearInterval(rssTimer);
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  const mibs = (s: number) => sizeMiB / s;
  const cp = mibs(median(results.cp));
  const row = (name: string, xs: number[]) => {
    const m = mibs(median(xs));
    return `| ${name} | ${median(xs).toFixed(2)} | ${m.toFixed(0)} | ${(m / cp).toFixed(2)}× |`;
  };
  const report = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    size_mib: sizeMiB,
    chunk_mib: Number(values['chunk-mib']),
    runs,
    page_cache_dropped_between_steps: cachesDropped,
    seconds: results,
    mib_per_s: {
      cp: cp,
      cp_sync: mibs(median(results.cpSync)),
      store_write: mibs(median(results.write)),
      store_read: mibs(median(results.read)),
    },
    ratio_vs_cp: {
      store_write: mibs(median(results.write)) / cp,
      store_read: mibs(median(results.read)) / cp,
    },
    peak_rss_mib: peakRss / MiB,
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `drive-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(
    `\n${sizeMiB} MiB, ${runs} runs (medians), chunk ${values['chunk-mib']} MiB, ${os.cpus().length} CPUs\n`,
  );
  console.log('| step | seconds | MiB/s | vs cp |');
  console.log('|---|---|---|---|');
  console.log(row('cp (page cache)', results.cp));
  console.log(row('cp + sync', results.cpSync));
  console.log(row('store write (stream in, fsync, commit)', results.write));
  console.log(row('store read (stream out to a file)', results.read));
  console.log(`\npeak RSS: ${(peakRss / MiB).toFixed(0)} MiB — ${file}`);
} finally {
  clearInterval(rssTimer);
  await prisma.$disconnect();
  await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await rm(work, { recursive: true, force: true });
}
