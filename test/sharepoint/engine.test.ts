import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import {
  createMemoryStateStore,
  runSync,
  type FileTree,
  type MemoryStateStore,
  type SyncOptions,
} from '@scaidrive/sync';
import { driveFixture, streamOf, type DriveFixture } from '../drive/support.js';
import { readAll, startSharePointFixture, type SpFixture } from './fixture.js';

// The real sync engine with the SharePoint Source against the emulator and a ScaiDrive share
// (Postgres + chunk store) as the target: both sides have change feeds, so runs are incremental.
let fx: SpFixture;
let f: DriveFixture;
let shareId: string;
let target: FileTree;
let state: MemoryStateStore;
let cursor: string | null = null;
let targetCursor: string | null = null;
let fullRunListings = 0;
const ROOT = '/Connectors/SharePoint';
const userOp = () => ({ userId: f.adminId, origin: 'manual' });

/** A ScaiDrive user (not the connector: origin "manual") writes a file below the connector root. */
async function userWrite(folder: string, name: string, text: string): Promise<void> {
  const parent = await f.drive.tree.mkdirp(f.tenantId, shareId, `${ROOT}/${folder}`, userOp());
  await f.drive.files.writeFile(
    f.tenantId,
    shareId,
    { folderId: parent.id },
    name,
    streamOf(Buffer.from(text)),
    userOp(),
  );
}

beforeAll(async () => {
  fx = await startSharePointFixture({
    maxPageSize: 50,
    // SharePoint rewrites Office files it receives (property promotion).
    officeMutation: (name) => name.endsWith('.docx'),
  });
  f = await driveFixture();
  const share = await f.drive.shares.create(
    f.tenantId,
    { name: 'Marketing', ownerId: f.adminId },
    userOp(),
  );
  shareId = share.id;
  target = f.drive.shareTree({
    tenantId: f.tenantId,
    shareId,
    rootPath: ROOT,
    origin: 'connector:cnn_sp',
    actorUserId: f.adminId,
  });
  await target.mkdir('');
  state = createMemoryStateStore();
  const m = fx.emu.model;
  m.putFile(fx.driveId, 'Lib/readme.txt', 'read me');
  for (let i = 0; i < 30; i++) m.putFile(fx.driveId, `Lib/docs/d${i}.txt`, `doc ${i}`);
  m.putFile(fx.driveId, 'Lib/old/keep.txt', 'keep');
  m.putFile(fx.driveId, 'Lib/trash/x.txt', 'x');
  m.putFile(fx.driveId, 'Outside/not-synced.txt', 'no');
});
afterAll(async () => {
  await fx.close();
  await f.close();
  expect(fx.guard.violations).toEqual([]);
});

async function localFiles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const e of target.list(rel)) {
      if (e.kind === 'folder') await walk(e.path);
      else out[e.path] = (await readAll((await target.read(e.path)).stream)).toString();
    }
  };
  await walk('');
  return out;
}

function remoteFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, it] of fx.emu.model.listAll(fx.driveId)) {
    if (it.kind === 'file' && p.startsWith('Lib/')) out[p.slice(4)] = it.content.toString();
  }
  return out;
}

async function sync(over: Partial<SyncOptions> = {}) {
  const source = fx.source({ basePath: 'Lib' }, state);
  try {
    const summary = await runSync({
      source,
      target,
      state,
      options: {
        direction: 'both',
        conflictResolution: 'LAST_WRITER_WINS',
        cursors: { source: cursor, target: targetCursor },
        ...over,
      },
    });
    if (summary.status === 'completed') {
      if (summary.cursors.source) cursor = summary.cursors.source;
      if (summary.cursors.target) targetCursor = summary.cursors.target;
    }
    return { summary, source };
  } finally {
    await source.close();
  }
}

describe('engine + SharePoint source', () => {
  it('initial sync mirrors the library folder', async () => {
    const before = fx.emu.graphRequests().length;
    const { summary } = await sync();
    fullRunListings = fx.emu.graphRequests(before).filter((r) => r.route === 'children').length;
    expect(summary.status).toBe('completed');
    expect(summary.mode).toBe('full');
    expect(await localFiles()).toEqual(remoteFiles());
    expect(Object.keys(await localFiles())).toHaveLength(33);
    expect(cursor).toContain('/root/delta');
  });

  it('incremental run after adds, edits, renames, moves and a folder delete', async () => {
    const m = fx.emu.model;
    m.putFile(fx.driveId, 'Lib/new.txt', 'new');
    m.putFile(fx.driveId, 'Lib/docs/d1.txt', 'doc 1 edited');
    m.move(fx.driveId, 'Lib/old', 'Lib/renamed');
    m.move(fx.driveId, 'Lib/docs/d2.txt', 'Lib/moved-d2.txt');
    m.remove(fx.driveId, 'Lib/trash');
    m.putFile(fx.driveId, 'Outside/other.txt', 'ignored');
    const before = fx.emu.graphRequests().length;
    const { summary } = await sync();
    expect(summary.status).toBe('completed');
    expect(summary.mode).toBe('incremental');
    expect(await localFiles()).toEqual(remoteFiles());
    // No full walk: one delta page, and fewer folder listings than the initial walk.
    const log = fx.emu.graphRequests(before);
    expect(log.filter((r) => r.route === 'delta').map((r) => r.url)).toEqual([
      expect.stringContaining('token=s.'),
    ]);
    expect(log.filter((r) => r.route === 'children').length).toBeLessThan(fullRunListings);
  });

  it('a delta token expired (410) makes the engine walk everything and reconcile', async () => {
    fx.emu.model.putFile(fx.driveId, 'Lib/after-expiry.txt', 'late');
    fx.emu.model.expireDeltaTokens(fx.driveId);
    const { summary } = await sync();
    expect(summary.status).toBe('completed');
    expect(summary.mode).toBe('full');
    expect(summary.modeReason).toBe('cursor_expired');
    expect(await localFiles()).toEqual(remoteFiles());
  });

  it('bidirectional: a local edit and a local new file reach SharePoint', async () => {
    // A ScaiDrive user edits a file and adds one (not the connector: origin "manual").
    await userWrite('docs', 'd3.txt', 'edited in ScaiDrive');
    await userWrite('from-local', 'hello.txt', 'hello SharePoint');
    const { summary } = await sync();
    expect(summary.status).toBe('completed');
    expect(fx.emu.model.get(fx.driveId, 'Lib/docs/d3.txt')!.content.toString()).toBe(
      'edited in ScaiDrive',
    );
    expect(fx.emu.model.get(fx.driveId, 'Lib/from-local/hello.txt')!.content.toString()).toBe(
      'hello SharePoint',
    );
    // The next run sees nothing to do: the post-write fingerprints are the base.
    const again = await sync();
    expect(again.summary.progress.filesSynced ?? 0).toBe(0);
    expect(await localFiles()).toEqual(remoteFiles());
  });

  it('an Office file SharePoint rewrites on upload is sent once, not again run after run', async () => {
    await userWrite('office', 'report.docx', 'the report as written');
    const uploads = () =>
      fx.emu.graphRequests().filter((r) => /upload|content/i.test(r.route) && r.method === 'PUT')
        .length;
    const before = uploads();
    const first = await sync();
    expect(first.summary.status).toBe('completed');
    const remote = fx.emu.model.get(fx.driveId, 'Lib/office/report.docx')!.content.toString();
    expect(remote).toMatch(/^the report as written<!-- promoted by SharePoint /);
    expect(uploads() - before).toBe(1);
    // Two more runs: nothing moves either way (no re-upload, no download over the original).
    for (let i = 0; i < 2; i++) {
      const again = await sync();
      expect(again.summary.status).toBe('completed');
      expect(again.summary.progress.filesSynced).toBe(0);
    }
    expect(uploads() - before).toBe(1);
    expect(fx.emu.model.get(fx.driveId, 'Lib/office/report.docx')!.content.toString()).toBe(remote);
    expect((await localFiles())['office/report.docx']).toBe('the report as written');
    // Deleted on SharePoint, it goes on ScaiDrive too: the sides agree again for the next tests.
    fx.emu.model.remove(fx.driveId, 'Lib/office');
    expect((await sync()).summary.status).toBe('completed');
    expect(await localFiles()).toEqual(remoteFiles());
  });

  it('a SharePoint edit that lands between listing and upload (412) is decided again, not overwritten', async () => {
    fx.emu.model.putFile(fx.driveId, 'Lib/race/r.txt', 'base');
    expect((await sync()).summary.status).toBe('completed');
    await userWrite('race', 'r.txt', 'edited in ScaiDrive');
    // Someone saves on SharePoint after the run listed it and before the upload's If-Match.
    const source = fx.source({ basePath: 'Lib' }, state);
    let raced = false;
    const racing = new Proxy(source, {
      get(t, prop, receiver) {
        if (prop === 'write')
          return async (...args: Parameters<typeof source.write>) => {
            if (args[0] === 'race/r.txt' && !raced) {
              raced = true;
              fx.emu.model.putFile(fx.driveId, 'Lib/race/r.txt', 'edited on SharePoint');
            }
            return t.write(...args);
          };
        const v = Reflect.get(t, prop, receiver);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    try {
      const summary = await runSync({
        source: racing,
        target,
        state,
        options: {
          direction: 'both',
          conflictResolution: 'KEEP_BOTH',
          cursors: { source: cursor, target: targetCursor },
        },
      });
      expect(raced).toBe(true);
      expect(summary.status).toBe('completed');
      if (summary.cursors.source) cursor = summary.cursors.source;
      if (summary.cursors.target) targetCursor = summary.cursors.target;
    } finally {
      await source.close();
    }
    // Both edits survive (KEEP_BOTH): the SharePoint save was not overwritten by the upload.
    const contents = Object.entries(remoteFiles())
      .filter(([p]) => p.startsWith('race/'))
      .map(([, c]) => c)
      .sort();
    expect(contents).toEqual(['edited in ScaiDrive', 'edited on SharePoint']);
    expect((await sync()).summary.status).toBe('completed');
    expect(await localFiles()).toEqual(remoteFiles());
    const quiet = await sync();
    expect(quiet.summary.progress.filesSynced).toBe(0);
  });

  it('completes under a throttling storm, slower, with the waits counted', async () => {
    for (let i = 0; i < 10; i++)
      fx.emu.model.putFile(fx.driveId, `Lib/storm/s${i}.txt`, `storm ${i}`);
    const off = fx.emu.addFault({
      status: 429,
      retryAfterSec: 0.03,
      probability: 0.3,
      routes: ['delta', 'children', 'item', 'download', 'simpleUpload'],
    });
    try {
      const { summary, source } = await sync();
      expect(summary.status).toBe('completed');
      expect(source.stats.throttleEvents).toBeGreaterThan(0);
      expect(source.stats.throttleWaitMs).toBeGreaterThan(0);
    } finally {
      off();
    }
    expect(await localFiles()).toEqual(remoteFiles());
  });
});
