// Share-store streaming benchmark: a 1 GiB file streamed into the store (chunked, hashed, fsynced,
// committed as a version) and back out to a file, next to a plain `cp` of the same file on the same
// disk in the same run. Reports MiB/s and the process's peak RSS. Not part of `pnpm test`.
//
//   pnpm exec tsc -b packages/drive && node bench/drive/run.mjs [--size-mib 1024] [--runs 3] [--dir /tmp]
//
// Uses BENCH_DATABASE_URL (an admin URL; a scratch database is created and dropped) or the local
// PostgreSQL on 127.0.0.1:5432. Writes bench/results/drive-<timestamp>.json and prints a table.
// The source file is made and hashed by child processes (`head`, `sha256sum`), so the RSS measured
// is the store's. As root, the page cache is dropped before every timed step (cold reads for all).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (pkg) => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist/index.js')).href);
const [{ createPrismaClient, migrate }, { Drive, LocalChunkStore }] = await Promise.all([
  dist('db'),
  dist('drive'),
]);

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
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage.rss()));
const rssTimer = setInterval(sampleRss, 10);

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
async function admin(sql) {
  const c = createPrismaClient({ connectionString: adminUrl, poolSize: 1 });
  try {
    await c.$executeRawUnsafe(sql);
  } finally {
    await c.$disconnect();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpu = { write: [], read: [] };
async function timed(fn, cpuInto) {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  await fn();
  if (cpuInto) {
    const d = process.cpuUsage(c);
    cpuInto.push((d.user + d.system) / 1e6);
    console.log(`cpu user ${(d.user / 1e6).toFixed(2)} s, sys ${(d.system / 1e6).toFixed(2)} s`);
  }
  return Number(process.hrtime.bigint() - t) / 1e9;
}
const sha256File = (file) => execFileSync('sha256sum', [file]).toString().split(' ')[0];
function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

const work = await mkdtemp(path.join(values.dir, 'scaidrive-bench-'));
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
  execFileSync('sh', ['-c', `head -c ${sizeMiB * MiB} /dev/urandom > "${src}" && sync`]);
  const srcHash = sha256File(src);
  const bytes = (await stat(src)).size;
  const tenant = `tnt_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
  const user = `usr_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
  await prisma.tenant.create({ data: { id: tenant, name: 'bench' } });
  await prisma.user.create({ data: { id: user, tenantId: tenant } });
  const results = { cp: [], cpSync: [], write: [], read: [] };
  const peaks = { write: 0, read: 0 };
  const cachesDropped = dropCaches();
  const loadBefore = os.loadavg()[0];
  sampleRss();
  const baselineRss = process.memoryUsage.rss();
  peakRss = baselineRss;

  for (let run = 0; run < runs; run++) {
    const cpDst = path.join(work, `cp-${run}.bin`);
    dropCaches();
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
      sealConcurrency: Number(process.env.BENCH_SEALS ?? 4),
    });
    const share = await drive.shares.create(tenant, { name: `bench ${run}`, ownerId: user }, {});
    dropCaches();
    let fileId = '';
    peakRss = process.memoryUsage.rss();
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
      }, cpu.write),
    );
    sampleRss();
    peaks.write = Math.max(peaks.write, peakRss);
    dropCaches();
    const out = path.join(work, `out-${run}.bin`);
    peakRss = process.memoryUsage.rss();
    results.read.push(
      await timed(async () => {
        const { stream } = await drive.files.open(tenant, fileId);
        await pipeline(stream, createWriteStream(out, { highWaterMark: MiB }));
      }, cpu.read),
    );
    sampleRss();
    peaks.read = Math.max(peaks.read, peakRss);
    if (sha256File(out) !== srcHash) throw new Error('hash mismatch on read');
    await rm(out);
    await rm(blobDir, { recursive: true });
  }

  clearInterval(rssTimer);
  const mibs = (s) => sizeMiB / s;
  const cp = mibs(median(results.cp));
  const row = (name, xs) => {
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
      cp,
      cp_sync: mibs(median(results.cpSync)),
      store_write: mibs(median(results.write)),
      store_read: mibs(median(results.read)),
    },
    ratio_vs_cp: {
      store_write: mibs(median(results.write)) / cp,
      store_read: mibs(median(results.read)) / cp,
    },
    process_cpu_seconds: { store_write: median(cpu.write), store_read: median(cpu.read) },
    rss_mib: {
      before_first_step: baselineRss / MiB,
      peak_during_write: peaks.write / MiB,
      peak_during_read: peaks.read / MiB,
    },
    load_average_1m: { before: loadBefore, after: os.loadavg()[0] },
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `drive-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(
    `\n${sizeMiB} MiB, ${runs} runs (medians), chunk ${values['chunk-mib']} MiB, ${os.cpus().length} CPUs, load ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}\n`,
  );
  console.log('| step | seconds | MiB/s | vs cp |');
  console.log('|---|---|---|---|');
  console.log(row('cp (no fsync)', results.cp));
  console.log(row('cp + sync', results.cpSync));
  console.log(row('store write (stream in, hash, fsync, commit)', results.write));
  console.log(row('store read (stream out to a file)', results.read));
  console.log(
    `\nprocess CPU (user+sys, all threads): write ${median(cpu.write).toFixed(2)} s, read ${median(cpu.read).toFixed(2)} s`,
  );
  console.log(
    `peak RSS: write ${(peaks.write / MiB).toFixed(0)} MiB, read ${(peaks.read / MiB).toFixed(0)} MiB (process before the first step: ${(baselineRss / MiB).toFixed(0)} MiB) — ${file}`,
  );
} finally {
  clearInterval(rssTimer);
  await prisma.$disconnect();
  await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await rm(work, { recursive: true, force: true });
}
