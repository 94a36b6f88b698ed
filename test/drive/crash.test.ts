import { fork } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countRows, driveFixture, type DriveFixture } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let f: DriveFixture;
let shareId: string;

beforeAll(async () => {
  f = await driveFixture();
  shareId = (await f.drive.shares.create(f.tenantId, { name: 'Crash', ownerId: f.adminId }, {})).id;
});
afterAll(async () => {
  await f.close();
});

async function blobFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else out.push(e.name);
    }
  }
  await walk(dir);
  return out;
}

describe('crash between chunk write and commit', () => {
  it('leaves no visible file, and GC collects the chunks after the grace period', async () => {
    const child = fork(
      path.join(here, 'crash-child.ts'),
      [f.db.url, f.blobDir, f.tenantId, shareId],
      {
        execArgv: ['--import', path.join(here, 'ts-loader.mjs')],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const messages: unknown[] = [];
    child.on('message', (m) => messages.push(m));
    // Wait until the child has stored its 10 distinct chunks (rows and bytes).
    const deadline = Date.now() + 30_000;
    while ((await countRows(f.db, 'chunks', 'tenant_id = $1', f.tenantId)) < 10) {
      if (Date.now() > deadline) throw new Error('child never stored its chunks');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(messages).not.toContain('committed?!');

    // A leftover temp file as a write interrupted before its rename would leave.
    const tmpDir = path.join(f.blobDir, 'chunks', f.tenantId, 'aa', 'bb');
    await mkdir(tmpDir, { recursive: true });
    await writeFile(path.join(tmpDir, '.tmp-deadbeef-000000'), 'partial');

    // Nothing is visible: no file, no version; the chunks are unreferenced.
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/crash/half.bin')).toBeNull();
    expect(await countRows(f.db, 'file_versions')).toBe(0);
    expect(await countRows(f.db, 'chunks', 'tenant_id = $1 AND ref_count > 0', f.tenantId)).toBe(0);
    expect((await blobFiles(f.blobDir)).filter((n) => !n.startsWith('.tmp-')).length).toBe(10);

    // Within the grace period GC keeps them (an upload might still commit).
    expect((await f.drive.collectGarbage()).chunksDeleted).toBe(0);
    // After it, everything goes: rows, bytes and the temp file.
    await f.db.prisma.$executeRawUnsafe(
      `UPDATE chunks SET touched_at = now() - interval '2 hours' WHERE tenant_id = $1`,
      f.tenantId,
    );
    const { utimes } = await import('node:fs/promises');
    const old = new Date(Date.now() - 3 * 3600_000);
    await utimes(path.join(tmpDir, '.tmp-deadbeef-000000'), old, old);
    const result = await f.drive.collectGarbage();
    expect(result.chunksDeleted).toBe(10);
    expect(result.tempFilesRemoved).toBe(1);
    expect(await countRows(f.db, 'chunks', 'tenant_id = $1', f.tenantId)).toBe(0);
    expect(await blobFiles(f.blobDir)).toEqual([]);
  });
});
