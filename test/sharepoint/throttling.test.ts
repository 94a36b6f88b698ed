import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { RouteClass } from '../graph-emulator/index.js';
import { collect, drain, readAll, startSharePointFixture, type SpFixture } from './fixture.js';

// A throttling storm on every kind of call: the work completes, slower, and the waits are counted.
let fx: SpFixture;

beforeAll(async () => {
  fx = await startSharePointFixture({ maxPageSize: 5, seed: 7 });
  const m = fx.emu.model;
  for (let i = 0; i < 12; i++) m.putFile(fx.driveId, `Storm/f${i}.txt`, `content ${i}`);
  m.putFile(fx.driveId, 'Storm/v.txt', 'one');
  m.putFile(fx.driveId, 'Storm/v.txt', 'two');
  m.setFields(fx.driveId, 'Storm/v.txt', { Department: 'Ops' });
});
afterAll(async () => {
  await fx.close();
  expect(fx.guard.violations).toEqual([]);
});

async function workload(src: ReturnType<SpFixture['source']>) {
  const t0 = Date.now();
  const lap = (what: string) => process.env.DEBUG_STORM && console.log(what, Date.now() - t0);
  const cursor = await src.latestCursor();
  const listed = await collect(src.list('Storm'));
  const texts = await Promise.all(
    listed
      .filter((e) => e.kind === 'file')
      .map(async (e) => (await readAll((await src.read(e.path)).stream)).toString()),
  );
  lap('reads');
  await src.mkdir('Storm/out');
  const small = await src.write('Storm/out/small.txt', Readable.from([Buffer.from('small')]), {
    size: 5,
    mtimeMs: Date.now(),
  });
  const big = randomBytes(4 * 1024 * 1024 + 3 * 320 * 1024);
  const large = await src.write('Storm/out/large.bin', Readable.from([big]), {
    size: big.length,
    mtimeMs: Date.now(),
  });
  lap('writes');
  fx.emu.model.putFile(fx.driveId, 'Storm/f1.txt', 'edited');
  const feed = await drain(src, cursor);
  lap('feed');
  const versions = await src.listVersions('Storm/v.txt');
  const old = (await readAll((await src.readVersion('Storm/v.txt', '1.0')).stream)).toString();
  const md = await src.readMetadata('Storm/v.txt');
  const acl = await src.readAcl('Storm');
  await src.move('Storm/out/small.txt', 'Storm/out/small2.txt', {});
  await src.delete('Storm/out/small2.txt', { kind: 'file' });
  return { listed, texts, small, large, feed, versions, old, md, acl, big };
}

describe('throttling storm', () => {
  it('completes every kind of call under 429/503 with Retry-After, and counts the waits', async () => {
    const routes: RouteClass[] = [
      'sites',
      'drives',
      'item',
      'children',
      'delta',
      'content',
      'simpleUpload',
      'createUploadSession',
      'uploadChunk',
      'uploadStatus',
      'download',
      'versions',
      'permissions',
      'fields',
    ];
    // Every route class: its first request is throttled for sure, then 30 % of requests are.
    const offs = routes.map((r) =>
      fx.emu.addFault({
        routes: [r],
        status: r.length % 2 ? 429 : 503,
        retryAfterSec: 0.05,
        count: 1,
      }),
    );
    offs.push(fx.emu.addFault({ routes, status: 429, retryAfterSec: 0.02, probability: 0.3 }));
    const src = fx.source({ fragmentSize: 320 * 1024 });
    const waits: number[] = [];
    src.on('wait', (ms) => waits.push(ms));
    const before = fx.emu.requests.length;
    const started = Date.now();
    let r;
    try {
      r = await workload(src);
    } finally {
      offs.forEach((off) => off());
    }
    const elapsed = Date.now() - started;
    expect(r.texts).toHaveLength(13);
    expect(r.texts).toContain('content 3');
    expect(fx.emu.model.get(fx.driveId, 'Storm/out/large.bin')!.content.equals(r.big)).toBe(true);
    expect(r.feed.changes.some((c) => c.type === 'upsert' && c.entry.path === 'Storm/f1.txt')).toBe(
      true,
    );
    expect(r.versions).toHaveLength(2);
    expect(r.old).toBe('one');
    expect(r.md).toEqual({ Department: 'Ops' });
    expect(r.acl).not.toBeNull();
    expect(fx.emu.model.get(fx.driveId, 'Storm/out/small2.txt')).toBeUndefined();

    const log = fx.emu.requests.slice(before);
    const throttled = new Set(
      log.filter((q) => q.fault?.startsWith('status:')).map((q) => q.route),
    );
    for (const route of [
      'sites',
      'item',
      'children',
      'delta',
      'simpleUpload',
      'createUploadSession',
      'uploadChunk',
      'download',
      'versions',
      'permissions',
      'fields',
    ] as RouteClass[])
      expect(throttled).toContain(route);
    expect(src.stats.throttleEvents).toBeGreaterThanOrEqual(throttled.size);
    expect(src.stats.throttleWaitMs).toBeGreaterThan(0);
    expect(waits.length).toBeGreaterThan(0);
    expect(src.pacer.stats.throttled).toBeGreaterThan(12);
    expect(elapsed).toBeGreaterThanOrEqual(50);
  });

  it('gives up with CONNECTOR_THROTTLED when Retry-After is longer than the pacer accepts', async () => {
    const off = fx.emu.addFault({
      routes: ['children'],
      status: 429,
      retryAfterSec: 3600,
      count: 1,
    });
    try {
      const err = await collect(fx.source().list('Storm')).catch((e) => e);
      expect(err.code).toBe('CONNECTOR_THROTTLED');
      expect(err.retryAfterMs).toBe(3_600_000);
    } finally {
      off();
    }
  });
});
