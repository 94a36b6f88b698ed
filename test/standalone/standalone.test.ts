import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@scaidrive/db';
import { spawnApp, type ChildApp } from '@scaidrive/testkit';

/**
 * `pnpm start` — the embedded default a newcomer runs: PostgreSQL under DATA_DIR, migrations, a
 * bootstrap admin token printed once, API and worker in one process; and a clean stop, also while
 * it is still starting (the embedded PostgreSQL must not be left running).
 */
const children: ChildApp[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function launch(): Promise<{ child: ChildApp; dataDir: string; port: number }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'standalone-'));
  dirs.push(dataDir);
  const port = await freePort();
  const child = spawnApp('standalone', {
    DATA_DIR: dataDir,
    PORT: String(port),
    WORKER_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
  children.push(child);
  return { child, dataDir, port };
}

const postmasterPid = (dataDir: string) => path.join(dataDir, 'postgres', 'postmaster.pid');

describe('pnpm start (embedded default)', () => {
  it('comes up with a working admin token and stops cleanly, PostgreSQL included', async () => {
    const { child, dataDir, port } = await launch();
    const banner = await child.waitForLog(
      (l) => typeof l.raw === 'string' && l.raw.startsWith('admin token:'),
      120_000,
    );
    const token = String(banner.raw).split(/\s+/).pop()!;
    expect(token.length).toBeGreaterThan(20);
    const base = `http://127.0.0.1:${port}/api/v1`;
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const list = await fetch(`${base}/smb-connectors`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(list.status).toBe(200);
    expect(existsSync(postmasterPid(dataDir))).toBe(true);
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(postmasterPid(dataDir))).toBe(false);
  }, 180_000);

  it('a SIGTERM while PostgreSQL is still starting stops it too (exit 0, nothing left running)', async () => {
    const { child, dataDir } = await launch();
    await child.waitForLog(
      (l) => l.message === 'no DATABASE_URL: starting embedded PostgreSQL',
      60_000,
    );
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(postmasterPid(dataDir))).toBe(false);
    expect(child.logs.some((l) => l.message === 'signal received')).toBe(true);
  }, 180_000);
});
