// Sync engine benchmark: a local source of N files in N/100 folders synced into a local target with
// the PostgreSQL StateStore — first sync, then unchanged reruns measured side by side with a bare
// recursive directory walk of the same tree (readdir + lstat, what a listing needs). Each tree size
// runs in its own child process so peak RSS is per size. Not part of `pnpm test`.
//
//   pnpm exec tsc -b packages/sync packages/db [packages/drive]
//   node bench/sync/run.mjs [--sizes 10000,100000] [--runs 3] [--dir /tmp] [--concurrency 8]
//        [--no-fsync] [--drive 10000]
//
// It runs the built packages (dist/), as a worker does: memory numbers include no TypeScript loader.
// `--drive N` also syncs N files into the share store (packages/drive ShareTree) as the target.
// BENCH_DATABASE_URL (admin URL; scratch databases are created and dropped) defaults to the local
// PostgreSQL. Writes bench/results/sync-<timestamp>.json and prints a Markdown table.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (pkg) => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist/index.js')).href);
const { createFileStateStore, createPrismaClient, migrate } = await load('db');
const { createLocalTree, runSync } = await load('sync');
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: os.tmpdir() },
    concurrency: { type: 'string', default: '8' },
    'no-fsync': { type: 'boolean', default: false },
    drive: { type: 'string', default: '0' },
    child: { type: 'string' },
    target: { type: 'string', default: 'local' },
  },
});
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

/** The baseline: one recursive walk with the stats a listing needs. */
async function bareWalk(dir) {
  let n = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    const entries = await fs.readdir(d, { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(d, e.name);
        const st = await fs.lstat(p);
        n++;
        if (st.isDirectory()) stack.push(p);
      }),
    );
  }
  return n;
}

/** Counts what the engine asks of the store (statements it sends). */
function counting(store) {
  const c = { upsertRows: 0, removeRows: 0, writes: 0, reads: 0 };
  const wrapped = {
    children: (k) => (c.reads++, store.children(k)),
    get: (k) => (c.reads++, store.get(k)),
    getBySourceId: (k) => (c.reads++, store.getBySourceId(k)),
    getByTargetId: (k) => (c.reads++, store.getByTargetId(k)),
    upsert: (r) => ((c.writes++, (c.upsertRows += r.length)), store.upsert(r)),
    remove: (k) => ((c.writes++, (c.removeRows += k.length)), store.remove(k)),
    descendants: (k, b) => (c.reads++, store.descendants(k, b)),
    listByStatus: (s, b) => (c.reads++, store.listByStatus(s, b)),
    count: (s, k) => (c.reads++, store.count(s, k)),
  };
  return { store: wrapped, c };
}

async function makeTree(dir, files) {
  const perFolder = 100;
  const folders = Math.ceil(files / perFolder);
  const groups = 10;
  const pool = randomBytes(1 << 16);
  let bytes = 0;
  let made = 0;
  for (let f = 0; f < folders; f++) {
    const d = path.join(dir, `g${f % groups}`, `folder-${String(f).padStart(5, '0')}`);
    await fs.mkdir(d, { recursive: true });
    const batch = [];
    for (let i = 0; i < perFolder && made < files; i++, made++) {
      const size = 200 + ((made * 7919) % 3800);
      const off = (made * 104729) % (pool.length - size);
      bytes += size;
      batch.push(fs.writeFile(path.join(d, `file-${i}.dat`), pool.subarray(off, off + size)));
    }
    await Promise.all(batch);
  }
  return { folders: folders + groups, bytes };
}

/** Rows inserted/updated/deleted in file_states (over a fresh connection; stats flush on exit). */
async function pgTuplesWritten(url) {
  const c = createPrismaClient({ connectionString: url, poolSize: 1 });
  try {
    const r = await c.$queryRawUnsafe(
      `SELECT (n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables WHERE relname = 'file_states'`,
    );
    return Number(r[0]?.n ?? 0);
  } finally {
    await c.$disconnect();
  }
}

async function adminSql(sql) {
  const c = createPrismaClient({ connectionString: adminUrl, poolSize: 1 });
  try {
    await c.$executeRawUnsafe(sql);
  } finally {
    await c.$disconnect();
  }
}

async function child(files, targetKind) {
  const runs = Number(values.runs);
  const concurrency = Number(values.concurrency);
  const fsync = !values['no-fsync'];
  const work = await fs.mkdtemp(path.join(values.dir, 'scaidrive-sync-bench-'));
  const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  await adminSql(`CREATE DATABASE "${dbName}"`);
  let prisma = null;
  let peak = 0;
  const rss = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    await migrate({ connectionString: url, migrationsDir: path.join(root, 'prisma/migrations') });
    prisma = createPrismaClient({ connectionString: url, poolSize: 10 });
    const id = (p) => `${p}_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
    const tenantId = id('tnt');
    const userId = id('usr');
    const shareId = id('shr');
    const connectorId = id('cnn');
    await prisma.tenant.create({ data: { id: tenantId, name: 'bench' } });
    await prisma.user.create({ data: { id: userId, tenantId } });
    let target;
    let drive = null;
    if (targetKind === 'drive') {
      const { Drive, LocalChunkStore } = await load('drive');
      const d = new Drive({ prisma, chunkStore: new LocalChunkStore(path.join(work, 'blobs')) });
      const share = await d.shares.create(tenantId, { name: 'bench', ownerId: userId }, {});
      await prisma.connector.create({
        data: {
          id: connectorId,
          tenantId,
          kind: 'smb',
          name: 'bench',
          targetShareId: share.id,
          targetPath: '',
          syncDirection: 'smb_to_scaidrive',
        },
      });
      target = d.shareTree({
        tenantId,
        shareId: share.id,
        rootPath: '',
        origin: `connector:${connectorId}`,
        actorUserId: userId,
      });
      drive = d;
    } else {
      await prisma.share.create({
        data: { id: shareId, tenantId, name: 'bench', ownerId: userId },
      });
      await prisma.connector.create({
        data: {
          id: connectorId,
          tenantId,
          kind: 'smb',
          name: 'bench',
          targetShareId: shareId,
          targetPath: '',
          syncDirection: 'smb_to_scaidrive',
        },
      });
      await fs.mkdir(path.join(work, 'target'));
      target = createLocalTree(path.join(work, 'target'), { fsync });
    }
    const srcDir = path.join(work, 'source');
    const { folders, bytes } = await makeTree(srcDir, files);
    const source = createLocalTree(srcDir, { fsync });
    const base = createFileStateStore(prisma, { tenantId, connectorId });
    const options = {
      direction: 'source_to_target',
      conflictResolution: 'LAST_WRITER_WINS',
      transferConcurrency: concurrency,
    };

    peak = process.memoryUsage.rss();
    const [firstSyncSeconds, first] = await timed(() =>
      runSync({ source, target, state: base, options }),
    );
    if (first.status !== 'completed') throw new Error(`first sync: ${first.message}`);
    const firstSyncPeakRssMiB = peak / 2 ** 20;

    globalThis.gc?.();
    await bareWalk(srcDir); // warm both trees and the database once
    const walks = [];
    const reruns = [];
    let planned = 0;
    const counted = counting(base);
    await prisma.$disconnect(); // flush this pool's table statistics
    const tuplesBefore = await pgTuplesWritten(url);
    peak = process.memoryUsage.rss();
    for (let r = 0; r < runs; r++) {
      walks.push((await timed(() => bareWalk(srcDir)))[0]);
      const [s, summary] = await timed(() =>
        runSync({
          source,
          target,
          state: counted.store,
          options,
          onEvent: (e) => void (e.type === 'plan' && planned++),
        }),
      );
      if (summary.status !== 'completed') throw new Error(`rerun: ${summary.message}`);
      reruns.push(s);
    }
    const rerunPeakRssMiB = peak / 2 ** 20;
    await prisma.$disconnect();
    const tuplesAfter = await pgTuplesWritten(url);
    await drive?.close?.();
    return {
      target: targetKind,
      files,
      folders,
      bytes,
      concurrency,
      fsync,
      firstSyncSeconds,
      firstSyncFilesPerSecond: files / firstSyncSeconds,
      firstSyncPeakRssMiB,
      bareWalkSeconds: walks,
      rerunSeconds: reruns,
      rerunOverWalk: median(reruns) / median(walks),
      rerunPeakRssMiB,
      rerunPlanned: planned,
      rerunStoreWrites: {
        upsertRows: counted.c.upsertRows,
        removeRows: counted.c.removeRows,
        statements: counted.c.writes,
      },
      rerunStoreReads: { statements: counted.c.reads },
      rerunPgTuplesWritten: tuplesAfter - tuplesBefore,
      firstSummary: { status: first.status, progress: first.progress, message: first.message },
    };
  } finally {
    clearInterval(rss);
    await prisma?.$disconnect().catch(() => undefined);
    await adminSql(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await fs.rm(work, { recursive: true, force: true });
  }
}

if (values.child) {
  const r = await child(Number(values.child), values.target === 'drive' ? 'drive' : 'local');
  process.stdout.write(`\nRESULT ${JSON.stringify(r)}\n`);
  process.exit(0);
}

const jobs = values.sizes.split(',').map((s) => ({ files: Number(s), target: 'local' }));
if (Number(values.drive) > 0) jobs.push({ files: Number(values.drive), target: 'drive' });
const results = [];
for (const job of jobs) {
  const args = [
    '--expose-gc',
    fileURLToPath(import.meta.url),
    '--child',
    String(job.files),
    '--target',
    job.target,
    '--runs',
    values.runs,
    '--dir',
    values.dir,
    '--concurrency',
    values.concurrency,
    ...(values['no-fsync'] ? ['--no-fsync'] : []),
  ];
  process.stderr.write(`${job.target} target, ${job.files} files …\n`);
  const out = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) {
    process.stderr.write(out.stdout + out.stderr);
    throw new Error(`child for ${job.files} files failed`);
  }
  results.push(JSON.parse(line.slice('RESULT '.length)));
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const file = path.join(root, 'bench/results', `sync-${stamp}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      load: os.loadavg(),
      results,
    },
    null,
    2,
  ),
);
const f = (n, d = 2) => n.toFixed(d);
console.log(
  '| target | files | folders | first sync s | files/s | peak RSS first MiB | bare walk s (median) | rerun s (median) | rerun / walk | peak RSS rerun MiB | rerun plan | rerun store writes | rerun pg tuples written |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.target} | ${r.files} | ${r.folders} | ${f(r.firstSyncSeconds, 1)} | ${f(r.firstSyncFilesPerSecond, 0)} | ${f(r.firstSyncPeakRssMiB, 0)} | ${f(median(r.bareWalkSeconds))} | ${f(median(r.rerunSeconds))} | ${f(r.rerunOverWalk)} | ${f(r.rerunPeakRssMiB, 0)} | ${r.rerunPlanned} | ${r.rerunStoreWrites.statements} | ${r.rerunPgTuplesWritten} |`,
  );
console.log(
  `\nload average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; results in ${path.relative(root, file)}`,
);
