// Share-store benchmark (packages/drive). Not part of `pnpm test`; see bench/README.md.
//
//   pnpm exec tsc -b packages/drive packages/sync packages/db
//   node bench/drive/run.mjs [--cases small,engine,big] [--runs 3] [--files 1000]
//        [--engine-files 2000] [--size-mib 1024] [--chunk-mib 4] [--db pool|prisma] [--dir /tmp]
//
// Cases (each measurement runs in a fresh child process over the built packages, as a worker does,
// so its peak RSS (VmHWM) is its own):
//   small  — N × 8 KiB files (distinct random content, 10 folders) through `ShareTree.write`, at
//            concurrency 1 and 4 (files/s, process CPU per file);
//   engine — `runSync` local directory → ShareTree, 2,000 × 8 KiB files (transfer concurrency 4,
//            PostgreSQL StateStore over a pg pool, as the worker composes it);
//   big    — a 1 GiB file streamed into the store (chunked, hashed, fsynced, committed) and back out
//            to a file, next to `cp` of the same file on the same disk in the same run (as root the
//            page cache is dropped before every timed step: cold reads for all).
// `--db pool` runs the drive over a pg pool (createSqlClient), `--db prisma` over Prisma.
// Uses BENCH_DATABASE_URL (an admin URL; a scratch database is created and dropped) or the local
// PostgreSQL on 127.0.0.1:5432. Writes bench/results/drive-<timestamp>.json and prints a table.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..', '..');
const load = (pkg) => import(pathToFileURL(path.join(root, 'packages', pkg, 'dist/index.js')).href);
const require_ = (await import('node:module')).createRequire(
  path.join(root, 'packages/db/package.json'),
);
const pg = require_('pg');

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: 'small,engine,big' },
    runs: { type: 'string', default: '3' },
    files: { type: 'string', default: '1000' },
    'engine-files': { type: 'string', default: '2000' },
    'size-mib': { type: 'string', default: '1024' },
    'chunk-mib': { type: 'string', default: '4' },
    'file-kib': { type: 'string', default: '8' },
    db: { type: 'string', default: 'pool' },
    dir: { type: 'string', default: os.tmpdir() },
    'no-drop-caches': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    'no-prepare': { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const MiB = 1024 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function vmHwmMiB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function dropCaches() {
  if (values['no-drop-caches']) return false;
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

// ───────────────────────────── child: one measurement ─────────────────────────────

/** CPU seconds of the PostgreSQL backends serving this database (same machine), by pid. */
async function backendCpu(url) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    const out = new Map();
    for (const { pid } of rows) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
      } catch {
        // gone
      }
    }
    return out;
  } finally {
    await c.end();
  }
}

async function openDrive(setup, blobDir) {
  const [db, drive] = await Promise.all([load('db'), load('drive')]);
  const chunkStore = new drive.LocalChunkStore(blobDir);
  const common = { chunkStore, chunkSizeBytes: Number(values['chunk-mib']) * MiB };
  if (values.db === 'prisma') {
    const prisma = db.createPrismaClient({ connectionString: setup.url, poolSize: 10 });
    return {
      drive: new drive.Drive({ prisma, ...common }),
      close: () => prisma.$disconnect(),
    };
  }
  const pool = new pg.Pool({ connectionString: setup.url, max: 10 });
  return {
    drive: new drive.Drive({
      db: db.createSqlClient(pool, { prepare: !values['no-prepare'] }),
      ...common,
    }),
    pool,
    close: () => pool.end(),
  };
}

async function childMain(kind) {
  const setup = JSON.parse(process.env.DRIVE_BENCH_SETUP);
  const out = { case: kind };
  if (kind === 'small-1' || kind === 'small-4') {
    const concurrency = Number(kind.slice(6));
    const { drive, close } = await openDrive(setup, setup.blobDir);
    const share = await drive.shares.create(
      setup.tenantId,
      { name: `small ${setup.tag}`, ownerId: setup.userId },
      {},
    );
    const tree = drive.shareTree({
      tenantId: setup.tenantId,
      shareId: share.id,
      rootPath: '/',
      origin: 'connector:bench',
    });
    const n = setup.files;
    const size = setup.fileKiB * 1024;
    const contents = Array.from({ length: n }, () => randomBytes(size));
    for (let f = 0; f < 10; f++) await tree.mkdir(`folder-${f}`);
    // Warm-up (JIT, pool connections), not timed.
    for (let i = 0; i < 20; i++)
      await tree.write(`warm-${i}.bin`, Readable.from([randomBytes(size)]), {
        size,
        mtimeMs: Date.now(),
        ifMatch: null,
      });
    const rssBefore = vmHwmMiB();
    const pgBefore = await backendCpu(setup.url);
    let next = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const e = await tree.write(
            `folder-${i % 10}/file-${i}.bin`,
            Readable.from([contents[i]]),
            {
              size,
              mtimeMs: Date.now(),
              ifMatch: null,
            },
          );
          if (e.size !== size) throw new Error('size mismatch');
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    const pgAfter = await backendCpu(setup.url);
    let pgCpu = 0;
    for (const [pid, t] of pgAfter) pgCpu += t - (pgBefore.get(pid) ?? 0);
    Object.assign(out, {
      files: n,
      pg_cpu_ms_per_file: (pgCpu * 1000) / n,
      seconds: secs,
      files_per_s: n / secs,
      cpu_ms_per_file: (cpu.user + cpu.system) / 1000 / n,
      rss_before_mib: rssBefore,
      peak_rss_mib: vmHwmMiB(),
    });
    await close();
  } else if (kind === 'engine') {
    const [{ createFileStateStore }, { createLocalTree, runSync }] = await Promise.all([
      load('db'),
      load('sync'),
    ]);
    const { drive, close } = await openDrive(setup, setup.blobDir);
    const statePool = new pg.Pool({ connectionString: setup.url, max: 10 });
    const share = await drive.shares.create(
      setup.tenantId,
      { name: `engine ${setup.tag}`, ownerId: setup.userId },
      {},
    );
    const connectorId = `cnn_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
    await statePool.query(
      `INSERT INTO connectors (id, tenant_id, kind, name, target_share_id, target_path,
                               sync_direction, updated_at)
       VALUES ($1, $2, 'smb', 'bench', $3, '/', 'smb_to_scaidrive', now())`,
      [connectorId, setup.tenantId, share.id],
    );
    const target = drive.shareTree({
      tenantId: setup.tenantId,
      shareId: share.id,
      rootPath: '/',
      origin: `connector:${connectorId}`,
    });
    const state = createFileStateStore(statePool, { tenantId: setup.tenantId, connectorId });
    const pgBefore = await backendCpu(setup.url);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const summary = await runSync({
      source: createLocalTree(setup.engineSrc),
      target,
      state,
      options: {
        direction: 'source_to_target',
        conflictResolution: 'LAST_WRITER_WINS',
        transferConcurrency: 4,
      },
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    const pgAfter = await backendCpu(setup.url);
    let pgCpu = 0;
    for (const [pid, t] of pgAfter) pgCpu += t - (pgBefore.get(pid) ?? 0);
    out.pg_cpu_ms_per_file = (pgCpu * 1000) / setup.engineFiles;
    if (summary.progress.filesSynced !== setup.engineFiles)
      throw new Error(
        `engine synced ${summary.progress.filesSynced} of ${setup.engineFiles} (${summary.status})`,
      );
    Object.assign(out, {
      files: setup.engineFiles,
      seconds: secs,
      files_per_s: setup.engineFiles / secs,
      cpu_ms_per_file: (cpu.user + cpu.system) / 1000 / setup.engineFiles,
      peak_rss_mib: vmHwmMiB(),
    });
    await statePool.end();
    await close();
  } else if (kind === 'big-write') {
    const { drive, close } = await openDrive(setup, setup.blobDir);
    const share = await drive.shares.create(
      setup.tenantId,
      { name: `big ${setup.tag}`, ownerId: setup.userId },
      {},
    );
    const rssBefore = vmHwmMiB();
    dropCaches();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const { node, version } = await drive.files.writeFile(
      setup.tenantId,
      share.id,
      { path: '/' },
      'big.bin',
      createReadStream(setup.bigSrc, { highWaterMark: MiB }),
      { userId: setup.userId },
      { size: setup.bigBytes },
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (version.sha256 !== setup.bigHash) throw new Error('hash mismatch on write');
    Object.assign(out, {
      nodeId: node.id,
      seconds: secs,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      rss_before_mib: rssBefore,
      peak_rss_mib: vmHwmMiB(),
    });
    await close();
  } else if (kind === 'big-read') {
    const { drive, close } = await openDrive(setup, setup.blobDir);
    const rssBefore = vmHwmMiB();
    dropCaches();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const { stream } = await drive.files.open(setup.tenantId, setup.nodeId);
    await pipeline(stream, createWriteStream(setup.readOut, { highWaterMark: MiB }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    Object.assign(out, {
      seconds: secs,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      rss_before_mib: rssBefore,
      peak_rss_mib: vmHwmMiB(),
    });
    await close();
  } else throw new Error(`unknown case ${kind}`);
  process.stdout.write(`\nRESULT ${JSON.stringify(out)}\n`);
}

// ───────────────────────────── parent ─────────────────────────────

function runChild(kind, setup) {
  return new Promise((resolve, reject) => {
    const flags = values['node-flags'].split(' ').filter(Boolean);
    const args = [
      ...flags,
      here,
      '--child',
      kind,
      '--db',
      values.db,
      '--chunk-mib',
      values['chunk-mib'],
    ];
    if (values['no-drop-caches']) args.push('--no-drop-caches');
    if (values['no-prepare']) args.push('--no-prepare');
    const child = spawn(process.execPath, args, {
      env: { ...process.env, DRIVE_BENCH_SETUP: JSON.stringify(setup) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = text.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${kind} failed (${code}): ${text}`));
      resolve(JSON.parse(line.slice(7)));
    });
  });
}

async function timedShell(cmd) {
  const t = process.hrtime.bigint();
  execFileSync('sh', ['-c', cmd]);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function parentMain() {
  const cases = values.cases.split(',').filter(Boolean);
  const runs = Number(values.runs);
  const adminUrl =
    process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const work = await mkdtemp(path.join(values.dir, 'scaidrive-drive-bench-'));
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  const results = { small1: [], small4: [], engine: [], cp: [], cpSync: [], write: [], read: [] };
  const loadBefore = os.loadavg();
  try {
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const { migrate } = await load('db');
    await migrate({ connectionString: url, migrationsDir: path.join(root, 'prisma/migrations') });
    const id = (p) => `${p}_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
    const tenantId = id('tnt');
    const userId = id('usr');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`INSERT INTO tenants (id, name, updated_at) VALUES ($1, 'bench', now())`, [
      tenantId,
    ]);
    await c.query(`INSERT INTO users (id, tenant_id, updated_at) VALUES ($1, $2, now())`, [
      userId,
      tenantId,
    ]);
    await c.end();
    const base = { url, tenantId, userId };
    const files = Number(values.files);
    const fileKiB = Number(values['file-kib']);

    let engineSrc;
    const engineFiles = Number(values['engine-files']);
    if (cases.includes('engine')) {
      engineSrc = path.join(work, 'engine-src');
      for (let i = 0; i < engineFiles; i++) {
        const dir = path.join(engineSrc, `folder-${String(i % 10).padStart(3, '0')}`);
        if (i < 10) await mkdir(dir, { recursive: true });
        await writeFile(
          path.join(dir, `file-${String(i).padStart(5, '0')}.bin`),
          randomBytes(fileKiB * 1024),
        );
      }
    }
    let bigSrc, bigHash, bigBytes;
    if (cases.includes('big')) {
      bigSrc = path.join(work, 'source.bin');
      execFileSync('sh', [
        '-c',
        `head -c ${Number(values['size-mib']) * MiB} /dev/urandom > "${bigSrc}" && sync`,
      ]);
      bigHash = execFileSync('sha256sum', [bigSrc]).toString().split(' ')[0];
      bigBytes = (await stat(bigSrc)).size;
    }

    for (let run = 0; run < runs; run++) {
      const tag = `${run}`;
      if (cases.includes('small')) {
        for (const conc of [1, 4]) {
          const blobDir = path.join(work, `blobs-small-${conc}-${run}`);
          const r = await runChild(`small-${conc}`, {
            ...base,
            tag: `${conc}-${tag}`,
            blobDir,
            files,
            fileKiB,
          });
          console.error(
            `small c=${conc} run ${run}: ${r.files_per_s.toFixed(0)} files/s, ${r.cpu_ms_per_file.toFixed(2)} ms CPU/file, load ${os.loadavg()[0].toFixed(1)}`,
          );
          results[`small${conc}`].push(r);
          await rm(blobDir, { recursive: true, force: true });
        }
      }
      if (cases.includes('engine')) {
        const blobDir = path.join(work, `blobs-engine-${run}`);
        const r = await runChild('engine', { ...base, tag, blobDir, engineSrc, engineFiles });
        console.error(
          `engine run ${run}: ${r.files_per_s.toFixed(0)} files/s, ${r.cpu_ms_per_file.toFixed(2)} ms CPU/file, peak RSS ${r.peak_rss_mib.toFixed(0)} MiB, load ${os.loadavg()[0].toFixed(1)}`,
        );
        results.engine.push(r);
        await rm(blobDir, { recursive: true, force: true });
      }
      if (cases.includes('big')) {
        const cpDst = path.join(work, `cp-${run}.bin`);
        dropCaches();
        results.cp.push(await timedShell(`cp "${bigSrc}" "${cpDst}"`));
        await rm(cpDst);
        dropCaches();
        results.cpSync.push(await timedShell(`cp "${bigSrc}" "${cpDst}" && sync`));
        await rm(cpDst);
        // A fresh blob dir per run, so every chunk is really written (no dedupe).
        const blobDir = path.join(work, `blobs-big-${run}`);
        const w = await runChild('big-write', {
          ...base,
          tag,
          blobDir,
          bigSrc,
          bigHash,
          bigBytes,
        });
        results.write.push(w);
        const readOut = path.join(work, `out-${run}.bin`);
        const r = await runChild('big-read', { ...base, blobDir, nodeId: w.nodeId, readOut });
        results.read.push(r);
        const outHash = execFileSync('sha256sum', [readOut]).toString().split(' ')[0];
        if (outHash !== bigHash) throw new Error('hash mismatch on read');
        await rm(readOut);
        await rm(blobDir, { recursive: true, force: true });
        console.error(
          `big run ${run}: cp ${results.cp.at(-1).toFixed(2)} s, write ${w.seconds.toFixed(2)} s (${w.peak_rss_mib.toFixed(0)} MiB), read ${r.seconds.toFixed(2)} s (${r.peak_rss_mib.toFixed(0)} MiB), load ${os.loadavg()[0].toFixed(1)}`,
        );
      }
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await rm(work, { recursive: true, force: true });
  }

  const loadAfter = os.loadavg();
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const report = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    db: values.db,
    runs,
    load_average: { before: loadBefore, after: loadAfter },
    results,
  };
  const lines = [
    `\n${runs} runs (medians), db=${values.db}, chunk ${values['chunk-mib']} MiB, ${os.cpus().length} CPUs, load ${loadBefore[0].toFixed(1)} → ${loadAfter[0].toFixed(1)}\n`,
  ];
  if (results.small1.length) {
    lines.push(
      '| case | files/s | CPU ms/file (ours) | CPU ms/file (PostgreSQL) | peak RSS MiB |',
      '|---|---|---|---|---|',
    );
    for (const [name, xs] of [
      [`ShareTree.write ${values['file-kib']} KiB, concurrency 1`, results.small1],
      [`ShareTree.write ${values['file-kib']} KiB, concurrency 4`, results.small4],
      [`runSync local → ShareTree (${values['engine-files']} files)`, results.engine],
    ]) {
      if (!xs.length) continue;
      lines.push(
        `| ${name} | ${med(xs, 'files_per_s').toFixed(0)} | ${med(xs, 'cpu_ms_per_file').toFixed(2)} | ${med(xs, 'pg_cpu_ms_per_file').toFixed(2)} | ${med(xs, 'peak_rss_mib').toFixed(0)} |`,
      );
    }
  } else if (results.engine.length) {
    lines.push(
      `runSync local → ShareTree: ${med(results.engine, 'files_per_s').toFixed(0)} files/s, ${med(results.engine, 'cpu_ms_per_file').toFixed(2)} ms CPU/file`,
    );
  }
  if (results.write.length) {
    const sizeMiB = Number(values['size-mib']);
    const cp = sizeMiB / median(results.cp);
    const row = (name, secs, rss) =>
      `| ${name} | ${secs.toFixed(2)} | ${(sizeMiB / secs).toFixed(0)} | ${(sizeMiB / secs / cp).toFixed(2)}× | ${rss} |`;
    lines.push('', '| step | seconds | MiB/s | vs cp | peak RSS MiB |', '|---|---|---|---|---|');
    lines.push(row('cp (no fsync)', median(results.cp), ''));
    lines.push(row('cp + sync', median(results.cpSync), ''));
    lines.push(
      row(
        `store write (${sizeMiB} MiB: hash, fsync, commit)`,
        med(results.write, 'seconds'),
        med(results.write, 'peak_rss_mib').toFixed(0),
      ),
    );
    lines.push(
      row(
        'store read (to a file)',
        med(results.read, 'seconds'),
        med(results.read, 'peak_rss_mib').toFixed(0),
      ),
    );
    lines.push(
      `\nprocess CPU: write ${med(results.write, 'cpu_s').toFixed(2)} s, read ${med(results.read, 'cpu_s').toFixed(2)} s; RSS before the step: ${med(results.write, 'rss_before_mib').toFixed(0)} MiB`,
    );
  }
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `drive-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(lines.join('\n'));
  console.log(`\n${file}`);
}

if (values.child) await childMain(values.child);
else await parentMain();
void createHash;
void randomFillSync;
void Readable;
