// SMB connector benchmark (not part of `pnpm test`; see bench/README.md):
//   node --conditions=source --import tsx bench/smb-sync/run.ts
// One run on a private loopback Samba, a scratch PostgreSQL database, the API in this process and a
// real worker in a child process (its RSS is measured):
//   1. initial sync of 10,000 files / 2 GiB (smb_to_scaidrive) vs `rclone sync` (smb backend,
//      configured through RCLONE_CONFIG_* variables) of the same tree into a local directory;
//   2. a no-change rerun over 100,000 files vs `smbclient -c 'recurse; ls'` of the same tree.
// Results: bench/results/smb-sync-<stamp>.{json,md}.
// Environment: BENCH_DATABASE_URL (admin URL, default the local PostgreSQL), SMB_SYNC_FILES (10000),
// SMB_SYNC_BYTES (2 GiB), SMB_SYNC_LIST_FILES (100000), TRANSFER_CONCURRENCY (4),
// SMB_SYNC_WORKER_NODE_OPTIONS (NODE_OPTIONS of the worker process, e.g. to profile it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, generateSecretKeySpec, loadConfig } from '../../packages/core/src/index.ts';
import { migrate } from '../../packages/db/src/index.ts';
import { composeApi } from '../../apps/api/src/index.ts';
import { createShare, createTenant, createUser } from '../../test/support/factories.ts';
import { adminQuery } from '../../test/support/pg-admin.ts';
import { freePort, startSamba, type SambaServer } from '../../test/support/samba.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const MiB = 1024 * 1024;
const FILES = Number(process.env.SMB_SYNC_FILES ?? 10_000);
const BYTES = Number(process.env.SMB_SYNC_BYTES ?? 2 * 1024 * MiB);
const LIST_FILES = Number(process.env.SMB_SYNC_LIST_FILES ?? 100_000);
const TRANSFERS = process.env.TRANSFER_CONCURRENCY ?? '4';

const log = (msg: string) =>
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const secs = (ms: number) => Math.round(ms) / 1000;

/** Deterministic sizes: 40 files of 16 MiB, the rest spread evenly around the mean. */
function sizes(n: number, total: number): number[] {
  const big = Math.min(40, Math.floor(n / 100));
  const out: number[] = Array(big).fill(16 * MiB);
  const rest = total - big * 16 * MiB;
  const m = n - big;
  const mean = rest / m;
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const s = Math.max(1, Math.round(mean * (0.05 + 1.9 * rnd())));
    out.push(s);
    sum += s;
  }
  out[out.length - 1]! += rest - sum;
  return out;
}

/** Writes `n` files into dir/dNN/sNN/ (10 × 10 folders per 10,000 files), owned by the SMB user. */
function generate(dir: string, list: number[], uid: number): void {
  const perFolder = 100;
  const buf = Buffer.allocUnsafe(16 * MiB);
  const made = new Set<string>();
  const own = (p: string) => chownSync(p, uid, 100);
  mkdirSync(dir, { recursive: true });
  own(dir);
  list.forEach((size, i) => {
    const f = Math.floor(i / perFolder);
    const a = path.join(dir, `d${String(Math.floor(f / 100)).padStart(3, '0')}`);
    const b = path.join(a, `s${String(f % 100).padStart(2, '0')}`);
    for (const d of [a, b])
      if (!made.has(d)) {
        mkdirSync(d, { recursive: true });
        own(d);
        made.add(d);
      }
    const file = path.join(b, `file-${String(i).padStart(6, '0')}.bin`);
    const view = buf.subarray(0, size);
    if (size > 0) randomFillSync(view);
    writeFileSync(file, view);
    own(file);
  });
}

function warm(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) warm(p);
    else readFileSync(p);
  }
}

function countFiles(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += statSync(path.join(e.parentPath, e.name)).size;
  }
  return { files, bytes };
}

function timed(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ms: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      for (const b of c) if (b === 10) lines++;
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ ms, lines });
    });
  });
}

/** VmRSS / VmHWM of a process in MiB. */
function memOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    host: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      node: process.version,
      loadavg: os.loadavg(),
    },
    rclone: execFileSync('rclone', ['version'], { encoding: 'utf8' }).split('\n')[0],
    samba: execFileSync('smbd', ['--version'], { encoding: 'utf8' }).trim(),
    files: FILES,
    bytes: BYTES,
    list_files: LIST_FILES,
    transfer_concurrency: Number(TRANSFERS),
  };
  const work = mkdtempSync(path.join(os.tmpdir(), 'smb-sync-bench-'));
  const adminUrl =
    process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const dbName = `scaidrive_bench_${randomBytes(4).toString('hex')}`;
  const admin = (sql: string) => adminQuery(adminUrl, sql);
  let samba: SambaServer | undefined;
  let worker: ChildProcess | undefined;
  let api: Awaited<ReturnType<typeof composeApi>> | undefined;
  let dbCreated = false;
  try {
    samba = await startSamba({ users: 1 });
    const uid = samba.user.uid;
    log(`generating ${FILES} files / ${BYTES / MiB} MiB and ${LIST_FILES} small files`);
    generate(samba.localPath('data', 'init'), sizes(FILES, BYTES), uid);
    generate(
      samba.localPath('data', 'list'),
      Array.from({ length: LIST_FILES }, (_, i) => i % 257),
      uid,
    );

    await admin(`CREATE DATABASE "${dbName}"`);
    dbCreated = true;
    const u = new URL(adminUrl);
    u.pathname = `/${dbName}`;
    const url = u.toString();
    await migrate({ connectionString: url, migrationsDir: path.join(root, 'prisma/migrations') });
    const secretSpec = generateSecretKeySpec('b1');
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: url,
      SECRET_KEYS: secretSpec,
      RATE_LIMIT_PER_MINUTE: '0',
      SCHEDULER_ENABLED: 'false',
    });
    api = await composeApi({
      config,
      logger: createLogger({ level: 'warn', format: 'json' }),
      databaseUrl: url,
      secretKeys: config.secretKeys!,
    });
    const server = await api.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${server.port}/api/v1`;
    const prisma = api.prisma;
    const tenantId = (await createTenant(prisma, 'Bench')).id;
    const userId = (await createUser(prisma, tenantId, { role: 'tenant_admin' })).id;
    const shareId = (await createShare(prisma, tenantId, userId, 'Bench')).id;
    const token = (await api.serviceTokens.issue({ tenantId, userId, name: 'bench' })).token;
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${base}${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300)
        throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const connector = async (name: string) =>
      (
        await call('POST', '/smb-connectors', {
          name,
          server_host: '127.0.0.1',
          server_port: samba!.port,
          share_name: 'data',
          base_path: name,
          domain: samba!.workgroup,
          username: samba!.user.username,
          password: samba!.user.password,
          target_share_id: shareId,
          target_path: `/${name}`,
          sync_direction: 'smb_to_scaidrive',
          conflict_resolution: 'LAST_WRITER_WINS',
          sync_interval_minutes: 0,
          sync_hidden_files: true,
        })
      ).id as string;

    // The worker: a separate process (its own RSS), as in production.
    const dataDir = path.join(work, 'data');
    mkdirSync(dataDir);
    worker = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', path.join(root, 'apps/worker/src/main.ts')],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/root',
          NODE_ENV: 'production',
          LOG_FORMAT: 'json',
          LOG_LEVEL: 'warn',
          DATABASE_URL: url,
          SECRET_KEYS: secretSpec,
          DATA_DIR: dataDir,
          SCHEDULER_ENABLED: 'false',
          HOST: '127.0.0.1',
          WORKER_PORT: String(await freePort()),
          WORKER_CONCURRENCY: '1',
          TRANSFER_CONCURRENCY: TRANSFERS,
          // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the worker.
          ...(process.env.SMB_SYNC_WORKER_NODE_OPTIONS
            ? { NODE_OPTIONS: process.env.SMB_SYNC_WORKER_NODE_OPTIONS }
            : {}),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const pid = worker.pid!;
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, memOf(pid).rss);
      } catch {
        /* exited */
      }
    }, 200);
    const sync = async (id: string) => {
      const t0 = performance.now();
      const { job_id } = (await call('POST', `/smb-connectors/${id}/sync`)) as { job_id: string };
      for (;;) {
        const job = await prisma.syncJob.findUniqueOrThrow({ where: { id: job_id as string } });
        if (['completed', 'failed', 'cancelled'].includes(job.status)) {
          const e2eMs = performance.now() - t0;
          if (job.status !== 'completed') throw new Error(`job ${job.status}: ${job.message}`);
          return {
            job_seconds: secs(job.finishedAt!.getTime() - job.startedAt!.getTime()),
            end_to_end_seconds: secs(e2eMs),
            files_scanned: job.filesScanned,
            files_synced: job.filesSynced,
            bytes: Number(job.bytesTransferred),
            errors: job.errorCount,
          };
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    const smbConn = samba.connectorFields();
    const authFile = path.join(work, 'auth');
    writeFileSync(
      authFile,
      `username = ${samba.user.username}\npassword = ${samba.user.password}\ndomain = ${samba.workgroup}\n`,
      { mode: 0o600 },
    );
    /** The SMB Source + engine into a local directory, in a child process (see engine-child.ts). */
    const engineRuns = async (basePath: string, runs: number) => {
      const targetDir = path.join(work, `engine-${basePath}`);
      mkdirSync(targetDir);
      const out: Record<string, any>[] = [];
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--conditions=source', '--import', 'tsx', path.join(here, 'engine-child.ts')],
          {
            cwd: root,
            env: {
              ...process.env,
              BENCH_CHILD: JSON.stringify({
                smb: { ...smbConn, basePath },
                targetDir,
                runs,
                transferConcurrency: Number(TRANSFERS),
              }),
            },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let buf = '';
        child.stdout.on('data', (c: Buffer) => {
          buf += c.toString();
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            const r = JSON.parse(line) as Record<string, any>;
            log(`engine run ${r.run}: ${line}`);
            out.push(r);
          }
        });
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`engine child ${code}`)),
        );
      });
      rmSync(targetDir, { recursive: true, force: true });
      for (const r of out)
        if (r.status !== 'completed') throw new Error(`engine run: ${r.message}`);
      return out;
    };
    const smbclientLs = (dir: string) =>
      timed('smbclient', [
        '//127.0.0.1/data',
        '-s',
        samba!.confPath,
        '-p',
        String(samba!.port),
        '-A',
        authFile,
        '-c',
        `cd ${dir}; recurse; ls`,
      ]);
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const mibps = (bytes: number, s: number) => Math.round((bytes / MiB / s) * 10) / 10;

    // 1. Initial sync of 10,000 files / 2 GiB: rclone, the connector + engine, the product path.
    const init = samba.localPath('data', 'init');
    warm(init); // every contender reads from a warm page cache
    const rcloneDir = path.join(work, 'rclone-init');
    const rcloneEnv = {
      RCLONE_CONFIG_BENCH_TYPE: 'smb',
      RCLONE_CONFIG_BENCH_HOST: '127.0.0.1',
      RCLONE_CONFIG_BENCH_PORT: String(samba.port),
      RCLONE_CONFIG_BENCH_USER: samba.user.username,
      RCLONE_CONFIG_BENCH_PASS: execFileSync('rclone', ['obscure', samba.user.password], {
        encoding: 'utf8',
      }).trim(),
      RCLONE_CONFIG_BENCH_DOMAIN: samba.workgroup,
    };
    log('rclone sync (initial)');
    const rclone = await timed(
      'rclone',
      ['sync', 'bench:data/init', rcloneDir, '--transfers', TRANSFERS, '--config', '/dev/null'],
      rcloneEnv,
    );
    const rcloneCopied = countFiles(rcloneDir);
    rmSync(rcloneDir, { recursive: true, force: true });
    log(`rclone: ${secs(rclone.ms)} s, ${rcloneCopied.files} files`);
    log('connector + engine → local dir (initial + no-change rerun)');
    const [engInit, engRerun] = await engineRuns('init', 2);
    const initId = await connector('init');
    log('product path: API + worker + ScaiDrive store (initial)');
    const ours = await sync(initId);
    const rssAfterInit = memOf(pid);
    log(`ours: ${JSON.stringify(ours)}`);
    results.initial = {
      rclone: {
        seconds: secs(rclone.ms),
        files: rcloneCopied.files,
        bytes: rcloneCopied.bytes,
        mib_per_s: mibps(rcloneCopied.bytes, secs(rclone.ms)),
      },
      engine_local: {
        ...engInit,
        mib_per_s: mibps(engInit!.bytes, engInit!.seconds),
        ratio_vs_rclone: ratio(engInit!.seconds, secs(rclone.ms)),
      },
      product: {
        ...ours,
        mib_per_s: mibps(ours.bytes, ours.job_seconds),
        ratio_job_vs_rclone: ratio(ours.job_seconds, secs(rclone.ms)),
        worker_rss_mib: { now: Math.round(rssAfterInit.rss), peak: Math.round(rssAfterInit.hwm) },
      },
    };

    // 2. No-change reruns vs smbclient's recursive listing of the same tree.
    log('smbclient recurse; ls (10,000-file tree)');
    const lsInit = await smbclientLs('init');
    log('product path (no-change rerun, 10,000 files)');
    const rerunInit = await sync(initId);
    if (rerunInit.files_synced !== 0) throw new Error('the no-change rerun copied files');
    results.rerun_init = {
      files: FILES,
      smbclient_seconds: secs(lsInit.ms),
      engine_local: { ...engRerun, ratio_vs_smbclient: ratio(engRerun!.seconds, secs(lsInit.ms)) },
      product: {
        ...rerunInit,
        ratio_job_vs_smbclient: ratio(rerunInit.job_seconds, secs(lsInit.ms)),
      },
    };
    log(
      `smbclient ${secs(lsInit.ms)} s; engine ${engRerun!.seconds} s; product ${JSON.stringify(rerunInit)}`,
    );

    log(`smbclient recurse; ls (${LIST_FILES}-file tree)`);
    const lsList = await smbclientLs('list');
    log(`smbclient: ${secs(lsList.ms)} s, ${lsList.lines} lines`);
    log(`connector + engine → local dir (${LIST_FILES} files: initial + no-change rerun)`);
    const [engListSeed, engList] = await engineRuns('list', 2);
    results.rerun_list = {
      files: LIST_FILES,
      smbclient_seconds: secs(lsList.ms),
      smbclient_lines: lsList.lines,
      engine_local: {
        seed: engListSeed,
        ...engList,
        ratio_vs_smbclient: ratio(engList!.seconds, secs(lsList.ms)),
      },
    };
    if (process.env.SMB_SYNC_PRODUCT_LIST === '1') {
      const listId = await connector('list');
      log(`product path (initial sync of ${LIST_FILES} files)`);
      const seed = await sync(listId);
      log(`seeded: ${JSON.stringify(seed)}`);
      const hwmBefore = memOf(pid).hwm;
      log('product path (no-change rerun)');
      const rerun = await sync(listId);
      const rss = memOf(pid);
      if (rerun.files_synced !== 0) throw new Error('the no-change rerun copied files');
      (results.rerun_list as Record<string, unknown>).product = {
        seed,
        ...rerun,
        ratio_job_vs_smbclient: ratio(rerun.job_seconds, secs(lsList.ms)),
        worker_rss_mib: {
          now: Math.round(rss.rss),
          peak_before: Math.round(hwmBefore),
          peak: Math.round(rss.hwm),
        },
      };
    }
    clearInterval(sampler);
    results.worker_peak_rss_mib = Math.round(Math.max(peakRss, memOf(pid).hwm));
    results.loadavg_end = os.loadavg();
  } finally {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker!.once('exit', r));
    }
    await api?.shutdown().catch(() => undefined);
    if (dbCreated)
      await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await samba?.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  const stamp = String(results.date).replace(/[:.]/g, '-');
  const outDir = path.join(root, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `smb-sync-${stamp}.json`), JSON.stringify(results, null, 2));
  const i = results.initial as Record<string, any>;
  const ri = results.rerun_init as Record<string, any>;
  const rl = results.rerun_list as Record<string, any>;
  const md = [
    `SMB sync benchmark ${results.date} (one run; loopback Samba; ${os.cpus().length} CPUs; load ${(results.host as any).loadavg[0].toFixed(1)} at start; TRANSFER_CONCURRENCY ${TRANSFERS})`,
    '',
    '| case | baseline | connector + engine → local dir | ratio | product path (API + worker + ScaiDrive) | ratio (job) |',
    '|---|---|---|---|---|---|',
    `| initial sync, ${FILES} files / ${Math.round(BYTES / MiB)} MiB | rclone sync ${i.rclone.seconds} s (${i.rclone.mib_per_s} MiB/s) | ${i.engine_local.seconds} s (${i.engine_local.mib_per_s} MiB/s) | ${i.engine_local.ratio_vs_rclone}× | ${i.product.job_seconds} s job, ${i.product.end_to_end_seconds} s end to end (${i.product.mib_per_s} MiB/s) | ${i.product.ratio_job_vs_rclone}× |`,
    `| no-change rerun, ${FILES} files | smbclient recurse ls ${ri.smbclient_seconds} s | ${ri.engine_local.seconds} s | ${ri.engine_local.ratio_vs_smbclient}× | ${ri.product.job_seconds} s job, ${ri.product.end_to_end_seconds} s end to end | ${ri.product.ratio_job_vs_smbclient}× |`,
    `| no-change rerun, ${LIST_FILES} files | smbclient recurse ls ${rl.smbclient_seconds} s | ${rl.engine_local.seconds} s | ${rl.engine_local.ratio_vs_smbclient}× | ${rl.product ? `${rl.product.job_seconds} s job` : 'not run (SMB_SYNC_PRODUCT_LIST=1)'} | ${rl.product ? `${rl.product.ratio_job_vs_smbclient}×` : '–'} |`,
    '',
    `Worker process RSS (product path): ${i.product.worker_rss_mib.now} MiB after the initial sync, peak ${results.worker_peak_rss_mib} MiB. Connector + engine process peak RSS: ${i.engine_local.peak_rss_mib} MiB (10,000 files / 2 GiB), ${rl.engine_local.peak_rss_mib} MiB (${LIST_FILES} files).`,
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, `smb-sync-${stamp}.md`), md);
  process.stdout.write(`\n${md}\n`);
}

await main();
