import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createLocalTree,
  createMemoryStateStore,
  runSync,
  type SyncOptions,
} from '@scaidrive/sync';
import { driveFixture, readAll, streamOf, type DriveFixture } from './support.js';

/** The real sync engine between a local folder (source) and a ScaiDrive share (target). */
let f: DriveFixture;
let dir: string;
let shareId: string;

beforeAll(async () => {
  f = await driveFixture();
  dir = await mkdtemp(path.join(os.tmpdir(), 'scaidrive-engine-src-'));
  shareId = (await f.drive.shares.create(f.tenantId, { name: 'Mirror', ownerId: f.adminId }, {}))
    .id;
});
afterAll(async () => {
  await f.close();
  await rm(dir, { recursive: true, force: true });
});

describe('sync engine → ShareTree', () => {
  it('mirrors a tree, plans nothing on a rerun, and carries ScaiDrive-side edits back', async () => {
    await mkdir(path.join(dir, 'Docs/2026'), { recursive: true });
    await writeFile(path.join(dir, 'Docs/2026/report.txt'), 'quarterly');
    await writeFile(path.join(dir, 'Docs/readme.md'), '# hi');
    await writeFile(path.join(dir, 'top.bin'), Buffer.alloc(200_000, 7));
    const source = createLocalTree(dir, { label: 'smb' });
    const target = f.drive.shareTree({
      tenantId: f.tenantId,
      shareId,
      rootPath: '/From SMB',
      origin: 'connector:cnn_engine',
      actorUserId: f.adminId,
    });
    await target.mkdir('');
    const state = createMemoryStateStore();
    const options: SyncOptions = { direction: 'both', conflictResolution: 'LAST_WRITER_WINS' };

    const first = await runSync({ source, target, state, options });
    expect(first.status).toBe('completed');
    expect(first.progress.errorCount).toBe(0);
    const report = await f.drive.tree.resolve(
      f.tenantId,
      shareId,
      '/From SMB/Docs/2026/report.txt',
    );
    expect(report).not.toBeNull();
    expect(
      (await readAll((await f.drive.files.open(f.tenantId, report!.id)).stream)).toString(),
    ).toBe('quarterly');

    const second = await runSync({
      source,
      target,
      state,
      options: { ...options, cursors: first.cursors },
    });
    expect(second.status).toBe('completed');
    const copies = Object.entries(second.plan).filter(([k, v]) => k !== 'none' && (v ?? 0) > 0);
    expect(copies).toEqual([]);

    // An operator edits a file in ScaiDrive: the next incremental run copies it back to the source.
    await f.drive.files.writeFile(
      f.tenantId,
      shareId,
      { path: '/From SMB/Docs' },
      'readme.md',
      streamOf(Buffer.from('# edited in ScaiDrive')),
      { userId: f.adminId, origin: 'manual' },
      { modifiedAt: new Date(Date.now() + 60_000) },
    );
    const third = await runSync({
      source,
      target,
      state,
      options: { ...options, cursors: second.cursors },
    });
    expect(third.status).toBe('completed');
    expect(await readFile(path.join(dir, 'Docs/readme.md'), 'utf8')).toBe('# edited in ScaiDrive');

    // A delete on the source goes to the ScaiDrive trash.
    await rm(path.join(dir, 'top.bin'));
    const fourth = await runSync({
      source,
      target,
      state,
      options: { ...options, cursors: third.cursors },
    });
    expect(fourth.status).toBe('completed');
    expect(await f.drive.tree.resolve(f.tenantId, shareId, '/From SMB/top.bin')).toBeNull();
    const trash = await f.drive.tree.listTrash(f.tenantId, shareId);
    expect(trash.items.map((i) => i.name)).toContain('top.bin');
    await expect(stat(path.join(dir, 'top.bin'))).rejects.toThrow();
  });
});
