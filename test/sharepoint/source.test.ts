import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { CursorExpiredError, type ReadResult } from '@scaidrive/sync';
import { classifyError } from '@scaidrive/core';
import {
  MAX_DOWNLOAD_RESUMES,
  quickXorHash,
  probeSharePoint,
  searchGroups,
  searchUsers,
} from '@scaidrive/connector-sharepoint';
import {
  IdPathStore,
  collect,
  drain,
  readAll,
  startSharePointFixture,
  type SpFixture,
} from './fixture.js';

// Contract of the SharePoint Source against the emulator. Small pages force paging everywhere.
let fx: SpFixture;

beforeAll(async () => {
  fx = await startSharePointFixture({
    maxPageSize: 7,
    officeMutation: (name) => name.endsWith('.docx'),
  });
});
afterAll(async () => {
  await fx.close();
  expect(fx.guard.violations).toEqual([]);
});

const body = (s: string | Buffer) => Readable.from([Buffer.from(s)]);

describe('location and probe', () => {
  it('resolves site_url → site id, library → drive id, base_path → folder', async () => {
    fx.emu.model.mkdirp(fx.driveId, 'Team/Projects');
    const src = fx.source({ basePath: 'Team' });
    const loc = await src.location();
    expect(loc.siteId).toMatch(/^contoso\.sharepoint\.com,/);
    expect(loc.driveId).toBe(fx.driveId);
    expect(loc.basePath).toBe('Team');
    expect(loc.baseItemId).toBe(fx.emu.model.get(fx.driveId, 'Team')!.id);
    const probe = await probeSharePoint(src);
    expect(probe).toMatchObject({ success: true, error: null, drive_id: fx.driveId });
    expect(probe.message).toContain('folder "Team" of library "Documents"');
  });

  it('reports a missing library and a missing base path in operator terms', async () => {
    const p1 = await probeSharePoint(fx.source({ libraryName: 'Nope' }));
    expect(p1).toMatchObject({ success: false, error: 'CONNECTOR_SHARE_NOT_FOUND' });
    expect(p1.message).toContain('Documents');
    const p2 = await probeSharePoint(fx.source({ basePath: 'Missing/Folder' }));
    expect(p2.success).toBe(false);
    expect(p2.message).toContain('Missing/Folder');
    const p3 = await probeSharePoint(
      fx.source({ auth: { ...fx.config().auth, clientSecret: 'bad' } }),
    );
    expect(p3).toMatchObject({ success: false, error: 'CONNECTOR_AUTH_FAILED' });
  });
});

describe('enumeration', () => {
  it('lists a folder across pages, with eTag, quickXorHash and mtime', async () => {
    const mtime = new Date('2026-01-02T03:04:05Z');
    for (let i = 0; i < 20; i++)
      fx.emu.model.putFile(fx.driveId, `Enum/f${i}.txt`, `file ${i}`, { mtime });
    const src = fx.source();
    const before = fx.emu.graphRequests().length;
    const entries = await collect(src.list('Enum'));
    expect(entries).toHaveLength(20);
    expect(
      fx.emu.graphRequests(before).filter((r) => r.route === 'children').length,
    ).toBeGreaterThanOrEqual(3);
    const f3 = entries.find((e) => e.name === 'f3.txt')!;
    expect(f3).toMatchObject({
      path: 'Enum/f3.txt',
      kind: 'file',
      size: 6,
      mtimeMs: mtime.getTime(),
    });
    expect(f3.hash).toBe(`quickxor:${quickXorHash(Buffer.from('file 3'))}`);
    expect(f3.version).toMatch(/^"\{[0-9A-F-]+\},\d+"$/);
    await expect(collect(src.list('does/not/exist'))).rejects.toMatchObject({
      code: 'ITEM_NOT_FOUND',
    });
    expect(await src.stat('Enum/none.txt')).toBeNull();
  });
});

describe('change feed (delta)', () => {
  it('reports adds, edits, renames, moves and a folder delete, tracking items by id', async () => {
    const m = fx.emu.model;
    m.putFile(fx.driveId, 'Feed/a.txt', 'a');
    m.putFile(fx.driveId, 'Feed/sub/b.txt', 'b');
    m.putFile(fx.driveId, 'Feed/old/c.txt', 'c');
    m.putFile(fx.driveId, 'Feed/gone/d.txt', 'd');
    const store = new IdPathStore();
    const src = fx.source({}, store.asStateStore());
    // Initial state through a full delta enumeration.
    const first = await drain(src, await src.initialCursor(), store);
    expect(first.pages).toBeGreaterThan(1);
    expect(store.paths()).toEqual(
      expect.arrayContaining(['Feed/a.txt', 'Feed/sub/b.txt', 'Feed/old/c.txt']),
    );

    m.putFile(fx.driveId, 'Feed/new.txt', 'new'); // add
    m.putFile(fx.driveId, 'Feed/a.txt', 'a v2'); // edit
    m.move(fx.driveId, 'Feed/old', 'Feed/renamed'); // folder rename (children not reported)
    m.move(fx.driveId, 'Feed/sub/b.txt', 'Feed/b-moved.txt'); // move + rename
    m.remove(fx.driveId, 'Feed/gone'); // folder delete
    m.putFile(fx.driveId, 'Feed/renamed/c.txt', 'c v2'); // edit below the renamed folder

    const inc = await drain(src, first.cursor, store);
    const upserts = inc.changes
      .filter((c) => c.type === 'upsert')
      .map((c) => (c.type === 'upsert' ? c.entry.path : ''));
    expect(upserts).toEqual(
      expect.arrayContaining([
        'Feed/new.txt',
        'Feed/a.txt',
        'Feed/renamed',
        'Feed/b-moved.txt',
        'Feed/renamed/c.txt',
      ]),
    );
    const deletes = inc.changes.filter((c) => c.type === 'delete');
    expect(deletes.length).toBeGreaterThanOrEqual(2); // the folder and its file
    const expected = [...m.listAll(fx.driveId).keys()].sort();
    expect(store.paths()).toEqual(expected);
    // Nothing left: the next round is empty.
    const again = await drain(src, inc.cursor, store);
    expect(again.changes.filter((c) => c.type === 'upsert' && c.entry.kind === 'file')).toEqual([]);
  });

  it('scopes the feed to base_path: outside items are ignored, moving out is a delete', async () => {
    const m = fx.emu.model;
    m.putFile(fx.driveId, 'Scoped/in.txt', 'in');
    m.putFile(fx.driveId, 'Elsewhere/out.txt', 'out');
    const store = new IdPathStore();
    const src = fx.source({ basePath: 'Scoped' }, store.asStateStore());
    const cursor = await src.latestCursor();
    for (const e of await collect(src.list(''))) store.set(e.id!, e.path, e.kind);
    m.putFile(fx.driveId, 'Elsewhere/out.txt', 'out v2');
    m.putFile(fx.driveId, 'Scoped/in2.txt', 'in2');
    m.move(fx.driveId, 'Scoped/in.txt', 'Elsewhere/in.txt');
    const inc = await drain(src, cursor, store);
    const paths = inc.changes.map((c) =>
      c.type === 'upsert' ? c.entry.path : `-${c.path ?? c.id}`,
    );
    expect(paths).toContain('in2.txt');
    expect(paths).toContain('-in.txt');
    expect(paths.some((p) => p.includes('out.txt'))).toBe(false);
  });

  it('a token that expires mid-way fails with CursorExpiredError (the engine then walks everything)', async () => {
    for (let i = 0; i < 30; i++) fx.emu.model.putFile(fx.driveId, `Expire/x${i}.txt`, `${i}`);
    const src = fx.source();
    const it = src.changes(await src.initialCursor())[Symbol.asyncIterator]();
    const p1 = await it.next();
    expect(p1.done).toBe(false);
    fx.emu.model.expireDeltaTokens(fx.driveId);
    await expect(it.next()).rejects.toBeInstanceOf(CursorExpiredError);
    // The fresh enumeration works.
    const fresh = await drain(src, await src.initialCursor());
    expect(fresh.changes.length).toBeGreaterThan(30);
  });
});

describe('reads', () => {
  it('downloads through the pre-authorised URL without the bearer token and verifies quickXorHash', async () => {
    const data = randomBytes(100_000);
    fx.emu.model.putFile(fx.driveId, 'Read/blob.bin', data);
    const src = fx.source();
    const before = fx.emu.requests.length;
    const r = await src.read('Read/blob.bin');
    expect((await readAll(r.stream)).equals(data)).toBe(true);
    const spCalls = fx.emu.requests.slice(before).filter((q) => q.host === 'sharepoint');
    expect(spCalls.length).toBe(1);
    expect(spCalls.every((q) => !q.bearer)).toBe(true);
  });

  it('fails the stream when the bytes do not match the reported hash', async () => {
    const it = fx.emu.model.putFile(fx.driveId, 'Read/corrupt.txt', 'good content');
    it.content = Buffer.from('evil content'); // same size, hash left stale: a corrupted transfer
    const src = fx.source();
    const r = await src.read('Read/corrupt.txt');
    await expect(readAll(r.stream)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
  });

  it('resumes a download cut midway where it stopped (Range), instead of starting over', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    fx.emu.model.putFile(fx.driveId, 'Read/long.bin', data);
    const src = fx.source();
    await src.stat('Read/long.bin'); // warm up: the read below is the download alone
    const before = fx.emu.requests.length;
    const off = [fx.emu.addFault({ routes: ['download'], cutAfterBytes: 1_000_000, count: 1 })];
    try {
      const r = await src.read('Read/long.bin');
      off.push(fx.emu.addFault({ routes: ['download'], cutAfterBytes: 700_000, count: 1 }));
      expect((await readAll(r.stream)).equals(data)).toBe(true);
    } finally {
      for (const o of off) o();
    }
    const downloads = fx.emu.requests.slice(before).filter((q) => q.route === 'download');
    expect(downloads.map((q) => q.fault ?? 'ok')).toEqual(['cut:1000000', 'cut:700000', 'ok']);
    expect(src.stats.downloadResumes).toBe(2);
    // Only what was missing was fetched again: the bytes on the wire add up to the file once.
    const ranges = downloads.map((q) => q.range ?? null);
    expect(ranges[0]).toBeNull();
    const first = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    const second = Number(/^bytes=(\d+)-$/.exec(ranges[2] ?? '')?.[1]);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(1_000_000);
    expect(second).toBeGreaterThan(first);
    expect(second).toBeLessThanOrEqual(first + 700_000);
  });

  it('does not splice a resumed download onto content that changed meanwhile', async () => {
    const v1 = randomBytes(2 * 1024 * 1024);
    fx.emu.model.putFile(fx.driveId, 'Read/swapped.bin', v1);
    const src = fx.source();
    const off = fx.emu.addFault({ routes: ['download'], cutAfterBytes: 500_000, count: 1 });
    try {
      const r = await src.read('Read/swapped.bin');
      // The file is replaced while the first connection is being cut.
      fx.emu.model.putFile(fx.driveId, 'Read/swapped.bin', randomBytes(2 * 1024 * 1024));
      await expect(readAll(r.stream)).rejects.toMatchObject({ code: 'ITEM_CHANGED_DURING_READ' });
    } finally {
      off();
    }
  });

  it('gives up after a bounded number of resumes and reports the network failure', async () => {
    const data = randomBytes(1024 * 1024);
    fx.emu.model.putFile(fx.driveId, 'Read/flaky.bin', data);
    const src = fx.source();
    const off = fx.emu.addFault({ routes: ['download'], cutAfterBytes: 10_000 });
    try {
      const r = await src.read('Read/flaky.bin');
      const err = await readAll(r.stream).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).not.toBeNull();
      expect(classifyError(err).action).toBe('retry');
      expect(src.stats.downloadResumes).toBe(MAX_DOWNLOAD_RESUMES);
    } finally {
      off();
    }
  });

  it('a file changed since it was listed is reported as changed-during-read', async () => {
    fx.emu.model.putFile(fx.driveId, 'Read/moving.txt', 'version one');
    const src = fx.source();
    await collect(src.list('Read'));
    fx.emu.model.putFile(fx.driveId, 'Read/moving.txt', 'version two!');
    const r = await src.read('Read/moving.txt');
    await expect(readAll(r.stream)).rejects.toMatchObject({ code: 'ITEM_CHANGED_DURING_READ' });
  });
});

describe('reads with short-lived download links', () => {
  let short: SpFixture;
  beforeAll(async () => {
    short = await startSharePointFixture({ downloadUrlLifetimeMs: 3000 });
  });
  afterAll(async () => {
    await short?.close();
    expect(short?.guard.violations ?? []).toEqual([]);
  });

  /**
   * Reads `expected` with `read` while the first download is cut after 400,000 bytes and the resume
   * arrives after the link's lifetime (the SharePoint host answers 401); returns the requests of
   * `routes` made meanwhile, as `route:status[ range]`.
   */
  async function readThroughExpiry(
    read: (src: ReturnType<SpFixture['source']>) => Promise<ReadResult>,
    expected: Buffer,
    routes: string[],
  ): Promise<string[]> {
    const src = short.source();
    const off = [
      short.emu.addFault({ routes: ['download'], cutAfterBytes: 400_000, count: 1 }),
      short.emu.addFault({ routes: ['download'], delayMs: 3500, count: 1 }),
    ];
    const before = short.emu.requests.length;
    try {
      const r = await read(src);
      expect((await readAll(r.stream)).equals(expected)).toBe(true);
    } finally {
      for (const o of off) o();
    }
    return short.emu.requests
      .slice(before)
      .filter((q) => routes.includes(q.route))
      .map((q) => `${q.route}:${q.status}${q.range ? ` ${q.range}` : ''}`);
  }

  it('gets a fresh link from Graph when the one being resumed has expired', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    short.emu.model.putFile(short.driveId, 'Read/expiring.bin', data);
    const calls = await readThroughExpiry((src) => src.read('Read/expiring.bin'), data, [
      'download',
      'item',
    ]);
    // The download, its resume refused (expired link), one item lookup for a fresh link, the
    // resume from the same offset.
    expect(calls.slice(calls.indexOf('download:200'))).toEqual([
      'download:200',
      'download:401 bytes=400000-',
      'item:200',
      'download:206 bytes=400000-',
    ]);
  });

  it('gets a fresh link for an old version whose link expired midway', async () => {
    const old = randomBytes(2 * 1024 * 1024);
    short.emu.model.putFile(short.driveId, 'Read/versioned.bin', old);
    short.emu.model.putFile(short.driveId, 'Read/versioned.bin', 'the current one');
    const calls = await readThroughExpiry(
      (src) => src.readVersion('Read/versioned.bin', '1.0'),
      old,
      ['download', 'versions'],
    );
    // The version list, the version's link, its download, the resume refused (expired link), a
    // fresh link for the same version, the resume from the same offset.
    expect(calls).toEqual([
      'versions:200',
      'versions:302',
      'download:200',
      'download:401 bytes=400000-',
      'versions:302',
      'download:206 bytes=400000-',
    ]);
  });
});

describe('writes', () => {
  it('uploads a small file with a simple PUT and sets its modification time', async () => {
    const src = fx.source();
    await src.mkdir('Up/deep/er');
    const mtime = Date.parse('2025-05-05T05:05:05Z');
    const before = fx.emu.requests.length;
    const e = await src.write('Up/deep/er/small #1.txt', body('small'), {
      size: 5,
      mtimeMs: mtime,
      ifMatch: null,
    });
    expect(e).toMatchObject({ path: 'Up/deep/er/small #1.txt', size: 5, mtimeMs: mtime });
    expect(e.hash).toBe(`quickxor:${quickXorHash(Buffer.from('small'))}`);
    const routes = fx.emu.requests.slice(before).map((r) => r.route);
    expect(routes).toContain('simpleUpload');
    expect(routes).not.toContain('createUploadSession');
    expect(fx.emu.model.get(fx.driveId, 'Up/deep/er/small #1.txt')!.content.toString()).toBe(
      'small',
    );
  });

  it('uploads a large file in 320 KiB-multiple fragments through an upload session', async () => {
    const src = fx.source({ fragmentSize: 2 * 320 * 1024 });
    await src.mkdir('Up');
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const before = fx.emu.requests.length;
    const e = await src.write(
      'Up/large.bin',
      Readable.from([data.subarray(0, 1000000), data.subarray(1000000)]),
      {
        size: data.length,
        mtimeMs: Date.parse('2025-01-01T00:00:00Z'),
      },
    );
    expect(e.size).toBe(data.length);
    expect(e.mtimeMs).toBe(Date.parse('2025-01-01T00:00:00Z'));
    expect(fx.emu.model.get(fx.driveId, 'Up/large.bin')!.content.equals(data)).toBe(true);
    const chunks = fx.emu.requests.slice(before).filter((r) => r.route === 'uploadChunk');
    expect(chunks.length).toBe(Math.ceil(data.length / (2 * 320 * 1024)));
    expect(chunks.every((c) => !c.bearer)).toBe(true);
  });

  it('resumes an upload after dropped connections, lost answers, 503s and 500s', async () => {
    const src = fx.source({ fragmentSize: 320 * 1024 });
    await src.mkdir('Up');
    const data = randomBytes(14 * 320 * 1024 + 777); // > 4 MiB: an upload session
    const offs = [
      fx.emu.addFault({ routes: ['uploadChunk'], drop: true, count: 1 }),
      fx.emu.addFault({ routes: ['uploadChunk'], dropResponse: true, count: 1 }),
      fx.emu.addFault({ routes: ['uploadChunk'], status: 503, retryAfterSec: 0.05, count: 1 }),
      fx.emu.addFault({ routes: ['uploadChunk'], status: 500, count: 1 }),
    ];
    const before = fx.emu.requests.length;
    try {
      const e = await src.write('Up/resumed.bin', Readable.from([data]), {
        size: data.length,
        mtimeMs: Date.now(),
      });
      expect(e.hash).toBe(`quickxor:${quickXorHash(data)}`);
    } finally {
      offs.forEach((off) => off());
    }
    expect(fx.emu.model.get(fx.driveId, 'Up/resumed.bin')!.content.equals(data)).toBe(true);
    const log = fx.emu.requests.slice(before);
    expect(log.filter((r) => r.fault).length).toBe(4);
    expect(log.some((r) => r.route === 'uploadStatus')).toBe(true); // asked nextExpectedRanges after the lost answer
  });

  it('If-Match: a stale eTag is PRECONDITION_FAILED for write, delete and move; null means must not exist', async () => {
    const src = fx.source();
    const e1 = await src.write('Up/etag.txt', body('one'), {
      size: 3,
      mtimeMs: Date.now(),
      ifMatch: null,
    });
    fx.emu.model.putFile(fx.driveId, 'Up/etag.txt', 'changed by someone');
    const w = await src
      .write('Up/etag.txt', body('two'), { size: 3, mtimeMs: Date.now(), ifMatch: e1.version })
      .catch((e) => e);
    expect(w.code).toBe('PRECONDITION_FAILED');
    const big = randomBytes(5 * 1024 * 1024);
    const w2 = await src
      .write('Up/etag.txt', Readable.from([big]), {
        size: big.length,
        mtimeMs: Date.now(),
        ifMatch: e1.version,
      })
      .catch((e) => e);
    expect(w2.code).toBe('PRECONDITION_FAILED');
    const w3 = await src
      .write('Up/etag.txt', body('new'), { size: 3, mtimeMs: Date.now(), ifMatch: null })
      .catch((e) => e);
    expect(w3.code).toBe('PRECONDITION_FAILED');
    const d = await src
      .delete('Up/etag.txt', { kind: 'file', ifMatch: e1.version! })
      .catch((e) => e);
    expect(d.code).toBe('PRECONDITION_FAILED');
    const mv = await src
      .move('Up/etag.txt', 'Up/etag2.txt', { ifMatch: e1.version })
      .catch((e) => e);
    expect(mv.code).toBe('PRECONDITION_FAILED');
    expect(fx.emu.model.get(fx.driveId, 'Up/etag.txt')!.content.toString()).toBe(
      'changed by someone',
    );
  });

  it('moves, renames, deletes only empty folders, and a missing parent is ITEM_NOT_FOUND', async () => {
    const src = fx.source();
    await src.mkdir('Ops/a');
    await src.write('Ops/a/f.txt', body('f'), { size: 1, mtimeMs: Date.now() });
    const moved = await src.move('Ops/a/f.txt', 'Ops/g.txt', {});
    expect(moved.path).toBe('Ops/g.txt');
    await src.write('Ops/a/h.txt', body('h'), { size: 1, mtimeMs: Date.now() });
    const full = await src.delete('Ops/a', { kind: 'folder' }).catch((e) => e);
    expect(full.code).toBe('PRECONDITION_FAILED');
    await src.delete('Ops/a/h.txt', { kind: 'file' });
    await src.delete('Ops/a', { kind: 'folder' });
    await src.delete('Ops/a', { kind: 'folder' }); // missing = success
    expect(fx.emu.model.get(fx.driveId, 'Ops/a')).toBeUndefined();
    const orphan = await src
      .write('Ops/nope/x.txt', body('x'), { size: 1, mtimeMs: Date.now() })
      .catch((e) => e);
    expect(orphan.code).toBe('ITEM_NOT_FOUND');
  });

  it('refuses names SharePoint cannot hold before sending anything', async () => {
    const src = fx.source();
    await src.location();
    const before = fx.emu.requests.length;
    for (const bad of [
      'Up/a:b.txt',
      'Up/ lead.txt',
      'Up/CON',
      'Up/x_vti_y.txt',
      `Up/${'n'.repeat(401)}`,
    ]) {
      const err = await src.write(bad, body('x'), { size: 1, mtimeMs: Date.now() }).catch((e) => e);
      expect(err.code).toBe('NAME_INVALID');
    }
    expect(fx.emu.requests.length).toBe(before);
    expect(src.capabilities.nameProblem('ok.txt', 'Up')).toBeNull();
    expect(src.capabilities.nameProblem('a|b', 'Up')).toMatch(/\|/);
  });

  it('adopts the server fingerprint of an Office file SharePoint rewrote after upload', async () => {
    const src = fx.source();
    const events: unknown[] = [];
    src.on('serverModified', (e) => events.push(e));
    const data = Buffer.from('PK fake docx');
    const e = await src.write('Up/report.docx', body(data), {
      size: data.length,
      mtimeMs: Date.now(),
    });
    const stored = fx.emu.model.get(fx.driveId, 'Up/report.docx')!;
    expect(stored.content.length).toBeGreaterThan(data.length);
    expect(e.size).toBe(stored.content.length);
    expect(e.hash).toBe(`quickxor:${stored.quickXor}`);
    expect(events).toHaveLength(1);
    // The next stat matches the entry the engine stored as the base: no re-upload loop.
    const again = await src.stat('Up/report.docx');
    expect(again).toMatchObject({ size: e.size, hash: e.hash, version: e.version });
  });
});

describe('versions, metadata, permissions, directory', () => {
  it('lists versions oldest first and reads an old one', async () => {
    fx.emu.model.putFile(fx.driveId, 'Meta/v.txt', 'v1');
    fx.emu.model.putFile(fx.driveId, 'Meta/v.txt', 'v2!');
    fx.emu.model.putFile(fx.driveId, 'Meta/v.txt', 'v3!!');
    const src = fx.source();
    const versions = await src.listVersions('Meta/v.txt');
    expect(versions.map((v) => [v.id, v.size, v.current])).toEqual([
      ['1.0', 2, false],
      ['2.0', 3, false],
      ['3.0', 4, true],
    ]);
    const r = await src.readVersion('Meta/v.txt', '1.0');
    expect((await readAll(r.stream)).toString()).toBe('v1');
  });

  it('reads list-item fields (library columns only) and writes them back', async () => {
    fx.emu.model.putFile(fx.driveId, 'Meta/doc.txt', 'doc');
    fx.emu.model.setFields(fx.driveId, 'Meta/doc.txt', { Title: 'Quarterly', Department: 'Sales' });
    const src = fx.source();
    const md = await src.readMetadata('Meta/doc.txt');
    expect(md).toEqual({ Title: 'Quarterly', Department: 'Sales' });
    await src.writeMetadata('Meta/doc.txt', { Department: 'Finance', Created: 'ignored' });
    expect(fx.emu.model.get(fx.driveId, 'Meta/doc.txt')!.fields.Department).toBe('Finance');
  });

  it('maps permissions: users and groups by Entra id, roles → permissions, links reported', async () => {
    const m = fx.emu.model;
    m.putFile(fx.driveId, 'Perm/inside.txt', 'x');
    m.setPermissions(fx.driveId, 'Perm', [
      {
        roles: ['owner'],
        grantedTo: {
          type: 'user',
          id: fx.alice.id,
          displayName: fx.alice.displayName,
          email: fx.alice.mail,
        },
      },
      {
        roles: ['write'],
        grantedTo: { type: 'group', id: fx.group.id, displayName: fx.group.displayName },
      },
      {
        roles: ['read'],
        grantedTo: { type: 'siteGroup', id: '3', displayName: 'Marketing Visitors' },
      },
      { roles: ['read'], link: { type: 'view', scope: 'organization' } },
    ]);
    const src = fx.source();
    const unmapped: unknown[] = [];
    src.on('unmappedGrant', (u) => unmapped.push(u));
    const folder = (await src.readAcl('Perm'))!;
    expect(folder.inheritFromParent).toBe(false);
    expect(folder.entries).toEqual([
      expect.objectContaining({
        principal: expect.objectContaining({ kind: 'entra', id: fx.alice.id, type: 'user' }),
        permissions: ['READ', 'WRITE', 'CREATE', 'DELETE', 'SHARE', 'MANAGE_PERMISSIONS'],
        inherited: false,
        inheritToChildren: true,
      }),
      expect.objectContaining({
        principal: expect.objectContaining({ id: fx.group.id, type: 'group' }),
        permissions: ['READ', 'WRITE', 'CREATE', 'DELETE'],
      }),
    ]);
    expect(unmapped).toHaveLength(2);
    const file = (await src.readAcl('Perm/inside.txt'))!;
    expect(file.inheritFromParent).toBe(true);
    expect(file.entries.every((e) => e.inherited && !e.inheritToChildren)).toBe(true);
  });

  it('searches users and groups with ConsistencyLevel: eventual', async () => {
    const src = fx.source();
    const users = await searchUsers(src.api, 'ali');
    expect(users).toEqual([{ id: fx.alice.id, email: fx.alice.mail, name: fx.alice.displayName }]);
    const groups = await searchGroups(src.api, 'market');
    expect(groups).toEqual([
      { id: fx.group.id, name: 'Marketing Team', email: 'marketing@contoso.example' },
    ]);
    const app = fx.emu.model.tenant(fx.tenantId).apps.get(fx.clientId)!;
    const saved = app.appRoles;
    app.appRoles = ['Sites.ReadWrite.All'];
    try {
      const denied = await searchUsers(fx.source().api, 'ali').catch((e) => e);
      expect(denied.code).toBe('CONNECTOR_AUTH_FAILED');
    } finally {
      app.appRoles = saved;
    }
  });
});

describe('traffic', () => {
  it('every request carries the ISV User-Agent and the bearer token never reaches the SharePoint host', () => {
    const mine = fx.emu.requests.filter((r) => r.host !== 'login');
    expect(mine.length).toBeGreaterThan(50);
    expect(mine.every((r) => r.userAgent === 'ISV|ScaiDrive|Connectors/0.1.0')).toBe(true);
    expect(fx.emu.requests.filter((r) => r.host === 'sharepoint').every((r) => !r.bearer)).toBe(
      true,
    );
  });
});
