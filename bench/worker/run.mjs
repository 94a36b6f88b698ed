// Worker fleet throughput: the same 20 local-directory connectors synced into the share store by
// 1 and by 2 worker processes (built apps/worker/dist/main.js, as production runs it), one fresh
// database per round. Reports files/s and the speed-up. Not part of `pnpm test`.
//
//   pnpm build && node bench/worker/run.mjs [--connectors 20] [--files 200] [--size 8192] [--workers 1,2]
//        [--shares 1]   (connector i writes into share i mod N: writes into one share serialise)
//
// BENCH_DATABASE_URL (admin URL; scratch databases are created and dropped) defaults to the local
// PostgreSQL. Writes bench/results/worker-<timestamp>.json and prints a Markdown table.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (rel) => import(pathToFileURL(path.join(root, rel)).href);
const { values } = parseArgs({
  options: {
    connectors: { type: 'string', default: '20' },
    files: { type: 'string', default: '200' },
    size: { type: 'string', default: '8192' },
    workers: { type: 'string', default: '1,2' },
    shares: { type: 'string', default: '1' },
  },
});
const CONNECTORS = Number(values.connectors);
const FILES = Number(values.files);
const SIZE = Number(values.size);
const SHARES = Number(values.shares);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const { newId, generateSecretKeySpec } = await load('packages/core/dist/index.js');
const { migrate, createPrismaClient, defaultMigrationsDir } = await load(
  'packages/db/dist/index.js',
);
const { createBoss, enqueueSync } = await load('packages/jobs/dist/index.js');
const { ShareService, PrincipalService } = await load('packages/drive/dist/index.js');
const pg = (
  await import(pathToFileURL(path.join(root, 'packages/db/node_modules/pg/esm/index.mjs')).href)
).default;

async function admin(sql) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

function withDb(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function writeTree(dir, seed) {
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(dir, `d${i % 10}`);
    await fs.mkdir(sub, { recursive: true });
    await fs.writeFile(path.join(sub, `f${i}.bin`), Buffer.alloc(SIZE, `${seed}:${i}`));
  }
}

function startWorker(env) {
  const child = spawn(process.execPath, [path.join(root, 'apps/worker/dist/main.js')], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('"worker started"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${buf.slice(-500)}`)));
  });
  child.stderr.resume();
  return { child, ready };
}

async function round(workers, srcRoot) {
  const db = `bench_worker_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${db}`);
  const url = withDb(adminUrl, db);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-worker-data-'));
  try {
    await migrate({ connectionString: url, migrationsDir: defaultMigrationsDir() });
    const prisma = createPrismaClient({ connectionString: url, poolSize: 4 });
    const tenantId = newId('tnt');
    await prisma.tenant.create({ data: { id: tenantId, name: 'bench' } });
    const user = await new PrincipalService(prisma).createUser(tenantId, { role: 'tenant_admin' });
    const shares = [];
    for (let i = 0; i < SHARES; i++)
      shares.push(
        await new ShareService(prisma).create(
          tenantId,
          { name: `bench ${i}`, ownerId: user.id },
          { userId: user.id },
        ),
      );
    const connectors = [];
    for (let i = 0; i < CONNECTORS; i++) {
      connectors.push(
        await prisma.connector.create({
          data: {
            id: newId('cnn'),
            tenantId,
            kind: 'local',
            name: `c${i}`,
            basePath: path.join(srcRoot, `c${i}`),
            targetShareId: shares[i % SHARES].id,
            targetPath: `/c${i}`,
            syncDirection: 'bidirectional',
            syncIntervalMinutes: 0,
          },
        }),
      );
    }
    const env = {
      DATABASE_URL: url,
      SECRET_KEYS: generateSecretKeySpec('b1'),
      ENABLE_LOCAL_CONNECTORS: 'true',
      HOST: '127.0.0.1',
      WORKER_PORT: '0',
      DATA_DIR: dataDir,
      SCHEDULER_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    };
    const procs = [];
    for (let i = 0; i < workers; i++) procs.push(startWorker({ ...env, LOG_LEVEL: 'info' }));
    await Promise.all(procs.map((p) => p.ready));
    const boss = createBoss({ connectionString: url, role: 'api' });
    boss.on('error', () => undefined);
    await boss.start();
    const t0 = performance.now();
    const jobIds = [];
    for (const c of connectors) {
      const r = await prisma.$transaction((tx) =>
        enqueueSync(tx, boss, {
          tenantId,
          connectorId: c.id,
          fullSync: false,
          confirmDeletes: false,
          trigger: 'manual',
        }),
      );
      jobIds.push(r.jobId);
    }
    let jobs;
    for (;;) {
      jobs = await prisma.syncJob.findMany({ where: { id: { in: jobIds } } });
      if (jobs.some((j) => j.status === 'failed'))
        throw new Error(`a job failed: ${jobs.find((j) => j.status === 'failed').message}`);
      if (jobs.every((j) => j.status === 'completed')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - t0) / 1000;
    const files = jobs.reduce((n, j) => n + j.filesSynced, 0);
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => p.child.once('exit', r))));
    await boss.stop({ graceful: false });
    await prisma.$disconnect();
    return { workers, files, seconds, filesPerSecond: files / seconds };
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

const srcRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-worker-src-'));
try {
  for (let i = 0; i < CONNECTORS; i++) await writeTree(path.join(srcRoot, `c${i}`), `c${i}`);
  const results = [];
  for (const w of values.workers.split(',').map(Number)) {
    const r = await round(w, srcRoot);
    results.push(r);
    console.error(
      `${w} worker(s): ${r.files} files in ${r.seconds.toFixed(1)} s = ${r.filesPerSecond.toFixed(0)} files/s`,
    );
  }
  const base = results[0].filesPerSecond;
  const table = [
    `| worker processes | files | seconds | files/s | vs ${results[0].workers} |`,
    '|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.workers} | ${r.files} | ${r.seconds.toFixed(1)} | ${r.filesPerSecond.toFixed(0)} | ${(r.filesPerSecond / base).toFixed(2)}× |`,
    ),
  ].join('\n');
  console.log(table);
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    path.join(root, `bench/results/worker-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify(
      {
        connectors: CONNECTORS,
        filesPerConnector: FILES,
        size: SIZE,
        cpus: os.cpus().length,
        load: os.loadavg(),
        results,
      },
      null,
      2,
    ),
  );
} finally {
  await fs.rm(srcRoot, { recursive: true, force: true });
}
