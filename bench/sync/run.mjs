// Sync engine benchmark: a local source of N files in N/100 folders (10 top folders) synced one way
// into a target with the PostgreSQL StateStore — a first sync, then unchanged reruns measured side
// by side with a bare recursive directory walk of the same tree (readdir + lstat: what a listing
// needs). Not part of `pnpm test`.
//
//   pnpm exec tsc -b packages/sync packages/db   (and packages/drive for --drive)
//   node bench/sync/run.mjs [--sizes 10000,100000] [--runs 3] [--dir /tmp] [--concurrency 8]
//        [--no-fsync] [--drive 10000] [--node-flags "--max-old-space-size=128"]
//
// Besides peak RSS, each phase reports the live heap after a forced GC at its end: RSS follows V8's
// heap-sizing policy (how much garbage it lets accumulate), the live heap is what the engine holds.
// `--node-flags` passes flags to the phase processes (e.g. a heap cap, as a worker may set).
// Runs the built packages (dist/) as a worker does, so memory numbers include no TypeScript loader.
// Each size runs in two fresh child processes — the first sync, then the reruns — so each peak RSS
// is that phase's own. `--drive N` also runs N files into the share store (packages/drive ShareTree,
// local chunk store) as the target. BENCH_DATABASE_URL (admin URL; scratch databases are created
// and dropped) defaults to the local PostgreSQL. Writes bench/results/sync-<timestamp>.json and
// prints a Markdown table.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (pkg) => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist/index.js')).href);
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: os.tmpdir() },
    concurrency: { type: 'string', default: '8' },
    'no-fsync': { type: 'boolean', default: false },
    drive: { type: 'string', default: '0' },
    phase: { type: 'string' },
    setup: { type: 'string' },
    files: { type: 'string' },
    target: { type: 'string', default: 'local' },
    'node-flags': { type: 'string', default: '' },
  },
});
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const MiB = 2 ** 20;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

/** Baseline 1: a recursive walk with fs.promises (readdir + lstat of every entry). */
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

/** Baseline 2: the same walk with synchronous lstat (no thread-pool round trips). */
async function bareWalkSync(dir) {
  let n = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      n++;
      if (lstatSync(p).isDirectory()) stack.push(p);
    }
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

const pg = createRequire(path.join(root, 'packages/db/package.json'))('pg');

/** Admin and statistics SQL over a short-lived pg connection (not Prisma: it would add memory). */
async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/** Rows inserted/updated/deleted in file_states (backends flush their statistics on exit). */
async function pgTuplesWritten(url) {
  const r = await sql(
    url,
    `SELECT (n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables WHERE relname = 'file_states'`,
  );
  return Number(r[0]?.n ?? 0);
}

/** Peak RSS, plus a timeline (every second: seconds, RSS, heap used, heap total — MiB). */
function rssSampler() {
  const s = { peak: process.memoryUsage.rss(), timeline: [] };
  const t0 = Date.now();
  let last = 0;
  const t = setInterval(() => {
    const m = process.memoryUsage();
    s.peak = Math.max(s.peak, m.rss);
    if (Date.now() - last >= 1000) {
      last = Date.now();
      s.timeline.push([
        Math.round((last - t0) / 1000),
        Math.round(m.rss / MiB),
        Math.round(m.heapUsed / MiB),
        Math.round(m.heapTotal / MiB),
      ]);
    }
  }, 20);
  return {
    reset: () => (s.peak = process.memoryUsage.rss()),
    peakMiB: () => s.peak / MiB,
    timeline: () => s.timeline,
    stop: () => clearInterval(t),
  };
}

/**
 * Opens the benchmark's trees and state store (both phases). The state store runs on a pg pool
 * (its fast path); Prisma is connected as well, as in a worker process, so its memory counts.
 */
async function open(setup, existing) {
  const { createFileStateStore, createPrismaClient } = await load('db');
  const { createLocalTree } = await load('sync');
  const prisma = existing ?? createPrismaClient({ connectionString: setup.url, poolSize: 4 });
  await prisma.$queryRawUnsafe('SELECT 1');
  const fsync = setup.fsync;
  const env = {
    prisma,
    pool: null,
    state: null,
    source: createLocalTree(setup.srcDir, { fsync }),
    target: null,
    options: {
      direction: 'source_to_target',
      conflictResolution: 'LAST_WRITER_WINS',
      transferConcurrency: setup.concurrency,
    },
  };
  if (setup.target === 'drive') {
    const { Drive, LocalChunkStore } = await load('drive');
    const d = new Drive({
      prisma,
      chunkStore: new LocalChunkStore(path.join(setup.work, 'blobs')),
    });
    env.target = d.shareTree({
      tenantId: setup.tenantId,
      shareId: setup.shareId,
      rootPath: '',
      origin: `connector:${setup.connectorId}`,
      actorUserId: setup.userId,
    });
  } else env.target = createLocalTree(path.join(setup.work, 'target'), { fsync });
  /** A fresh pool: closing the previous one makes its backends exit and flush their statistics. */
  env.newPool = async () => {
    await env.pool?.end();
    env.pool = new pg.Pool({ connectionString: setup.url, max: 10 });
    env.state = createFileStateStore(env.pool, {
      tenantId: setup.tenantId,
      connectorId: setup.connectorId,
    });
  };
  env.close = async () => {
    await env.pool?.end();
    await prisma.$disconnect();
  };
  await env.newPool();
  return env;
}

/** Phase 1 (own process): database, tree, first sync. */
async function first(files, targetKind) {
  const { createPrismaClient, migrate } = await load('db');
  const { runSync } = await load('sync');
  const work = await fs.mkdtemp(path.join(values.dir, 'scaidrive-sync-bench-'));
  const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  await sql(adminUrl, `CREATE DATABASE "${dbName}"`);
  await migrate({
    connectionString: u.toString(),
    migrationsDir: path.join(root, 'prisma/migrations'),
  });
  const id = (p) => `${p}_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
  const setup = {
    work,
    dbName,
    url: u.toString(),
    target: targetKind,
    srcDir: path.join(work, 'source'),
    fsync: !values['no-fsync'],
    concurrency: Number(values.concurrency),
    tenantId: id('tnt'),
    userId: id('usr'),
    shareId: id('shr'),
    connectorId: id('cnn'),
    files,
  };
  const prisma = createPrismaClient({ connectionString: setup.url, poolSize: 2 });
  await prisma.tenant.create({ data: { id: setup.tenantId, name: 'bench' } });
  await prisma.user.create({ data: { id: setup.userId, tenantId: setup.tenantId } });
  if (targetKind === 'drive') {
    const { Drive, LocalChunkStore } = await load('drive');
    const d = new Drive({ prisma, chunkStore: new LocalChunkStore(path.join(work, 'blobs')) });
    setup.shareId = (
      await d.shares.create(setup.tenantId, { name: 'bench', ownerId: setup.userId }, {})
    ).id;
  } else {
    await prisma.share.create({
      data: { id: setup.shareId, tenantId: setup.tenantId, name: 'bench', ownerId: setup.userId },
    });
    await fs.mkdir(path.join(work, 'target'));
  }
  await prisma.connector.create({
    data: {
      id: setup.connectorId,
      tenantId: setup.tenantId,
      kind: 'smb',
      name: 'bench',
      targetShareId: setup.shareId,
      targetPath: '',
      syncDirection: 'smb_to_scaidrive',
    },
  });
  Object.assign(setup, await makeTree(setup.srcDir, files));
  const env = await open(setup, prisma); // one Prisma client per process, as in a worker
  const rss = rssSampler();
  const [seconds, summary] = await timed(() =>
    runSync({ source: env.source, target: env.target, state: env.state, options: env.options }),
  );
  rss.stop();
  globalThis.gc?.();
  const liveHeapMiB = process.memoryUsage().heapUsed / MiB;
  await env.close();
  if (summary.status !== 'completed') throw new Error(`first sync: ${summary.message}`);
  return {
    setup,
    firstSyncSeconds: seconds,
    firstSyncFilesPerSecond: files / seconds,
    firstSyncPeakRssMiB: rss.peakMiB(),
    firstSyncLiveHeapMiB: liveHeapMiB,
    firstSyncMemoryTimeline: rss.timeline(),
    firstSummary: { status: summary.status, progress: summary.progress, message: summary.message },
  };
}

/** Phase 2 (own process): unchanged reruns interleaved with the bare walks, then cleanup. */
async function reruns(setup) {
  const { runSync } = await load('sync');
  try {
    // Warm the page cache, the database and the JIT once; closing the pools makes the backends
    // exit, which flushes their table statistics before the measured runs.
    const env = await open(setup);
    await bareWalk(setup.srcDir);
    await runSync({
      source: env.source,
      target: env.target,
      state: env.state,
      options: env.options,
    });
    await env.newPool();
    const tuplesBefore = await pgTuplesWritten(setup.url);
    const counted = counting(env.state);
    const walks = [];
    const walksSync = [];
    const runs = [];
    let planned = 0;
    let liveHeap = 0;
    const rss = rssSampler();
    for (let r = 0; r < Number(values.runs); r++) {
      walks.push((await timed(() => bareWalk(setup.srcDir)))[0]);
      walksSync.push((await timed(() => bareWalkSync(setup.srcDir)))[0]);
      const [s, summary] = await timed(() =>
        runSync({
          source: env.source,
          target: env.target,
          state: counted.store,
          options: env.options,
          onEvent: (e) => void (e.type === 'plan' && planned++),
        }),
      );
      if (summary.status !== 'completed') throw new Error(`rerun: ${summary.message}`);
      runs.push(s);
      globalThis.gc?.();
      liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed / MiB);
    }
    rss.stop();
    await env.close();
    await new Promise((r) => setTimeout(r, 300));
    const tuplesAfter = await pgTuplesWritten(setup.url);
    return {
      bareWalkSeconds: walks,
      bareWalkSyncSeconds: walksSync,
      rerunSeconds: runs,
      rerunOverWalk: median(runs) / median(walks),
      rerunOverSyncWalk: median(runs) / median(walksSync),
      rerunPeakRssMiB: rss.peakMiB(),
      rerunLiveHeapMiB: liveHeap,
      rerunMemoryTimeline: rss.timeline(),
      rerunPlanned: planned,
      rerunStoreWrites: {
        upsertRows: counted.c.upsertRows,
        removeRows: counted.c.removeRows,
        statements: counted.c.writes,
      },
      rerunStoreReadStatements: counted.c.reads,
      rerunPgTuplesWritten: tuplesAfter - tuplesBefore,
    };
  } finally {
    await sql(adminUrl, `DROP DATABASE IF EXISTS "${setup.dbName}" WITH (FORCE)`).catch(
      () => undefined,
    );
    await fs.rm(setup.work, { recursive: true, force: true });
  }
}

if (values.phase) {
  const r =
    values.phase === 'first'
      ? await first(Number(values.files), values.target === 'drive' ? 'drive' : 'local')
      : await reruns(JSON.parse(readFileSync(values.setup, 'utf8')));
  process.stdout.write(`\nRESULT ${JSON.stringify(r)}\n`);
  process.exit(0);
}

function phase(args) {
  const out = spawnSync(
    process.execPath,
    ['--expose-gc', fileURLToPath(import.meta.url), ...args],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  );
  const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) {
    process.stderr.write(out.stdout + out.stderr);
    throw new Error(`benchmark phase failed: ${args.join(' ')}`);
  }
  return JSON.parse(line.slice('RESULT '.length));
}

const jobs = values.sizes
  .split(',')
  .filter(Boolean)
  .map((s) => ({ files: Number(s), target: 'local' }));
if (Number(values.drive) > 0) jobs.push({ files: Number(values.drive), target: 'drive' });
const common = ['--runs', values.runs, '--dir', values.dir, '--concurrency', values.concurrency];
if (values['no-fsync']) common.push('--no-fsync');
const results = [];
for (const job of jobs) {
  process.stderr.write(`${job.target} target, ${job.files} files: first sync …\n`);
  const a = phase([
    '--phase',
    'first',
    '--files',
    String(job.files),
    '--target',
    job.target,
    ...common,
  ]);
  const setupFile = path.join(a.setup.work, 'setup.json');
  writeFileSync(setupFile, JSON.stringify(a.setup));
  process.stderr.write(`${job.target} target, ${job.files} files: reruns …\n`);
  const b = phase(['--phase', 'rerun', '--setup', setupFile, ...common]);
  results.push({
    target: job.target,
    files: job.files,
    folders: a.setup.folders,
    bytes: a.setup.bytes,
    fsync: a.setup.fsync,
    concurrency: a.setup.concurrency,
    ...a,
    ...b,
    setup: undefined,
  });
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
  '| target | files | folders | first sync s | files/s | first sync: peak RSS / live heap MiB | walk s (async / sync lstat) | rerun s | rerun ÷ async walk | rerun ÷ sync walk | rerun: peak RSS / live heap MiB | rerun plan | rerun rows written (store / pg) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.target} | ${r.files} | ${r.folders} | ${f(r.firstSyncSeconds, 1)} | ${f(r.firstSyncFilesPerSecond, 0)} | ${f(r.firstSyncPeakRssMiB, 0)} / ${f(r.firstSyncLiveHeapMiB, 0)} | ${f(median(r.bareWalkSeconds))} / ${f(median(r.bareWalkSyncSeconds))} | ${f(median(r.rerunSeconds))} | ${f(r.rerunOverWalk)} | ${f(r.rerunOverSyncWalk)} | ${f(r.rerunPeakRssMiB, 0)} / ${f(r.rerunLiveHeapMiB, 0)} | ${r.rerunPlanned} | ${r.rerunStoreWrites.upsertRows + r.rerunStoreWrites.removeRows} / ${r.rerunPgTuplesWritten} |`,
  );
console.log(
  `\nload average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; results in ${path.relative(root, file)}`,
);
