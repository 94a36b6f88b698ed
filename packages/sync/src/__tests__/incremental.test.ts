import { afterEach, describe, expect, it } from '@jest/globals';
import { CursorExpiredError, type Change, type ChangePage, type FileTree } from '../ports.js';
import { World } from './harness.js';

let w: World;
afterEach(async () => w?.cleanup());

interface Feed {
  journal: Change[];
  expired: boolean;
  listed: string[];
}

/** Adds a change feed (a journal the test and the engine's writes append to) to a tree. */
function withFeed(tree: FileTree, feed: Feed): FileTree {
  const record = (path: string, kind: 'file' | 'folder' = 'file') =>
    feed.journal.push({
      type: 'upsert',
      entry: { name: path.split('/').pop()!, path, kind, size: 0, mtimeMs: 0 },
    });
  return new Proxy(tree, {
    get(t, prop, receiver) {
      switch (prop) {
        case 'capabilities':
          return { ...t.capabilities, changeFeed: true };
        case 'latestCursor':
          return async () => String(feed.journal.length);
        case 'changes':
          return async function* (cursor: string): AsyncIterable<ChangePage> {
            if (feed.expired) throw new CursorExpiredError();
            yield {
              changes: feed.journal.slice(Number(cursor)),
              cursor: String(feed.journal.length),
              done: true,
            };
          };
        case 'list':
          return (p: string, s?: AbortSignal) => {
            feed.listed.push(p);
            return t.list(p, s);
          };
        case 'write':
          return async (...a: Parameters<FileTree['write']>) => {
            const e = await t.write(...a);
            record(a[0]);
            return e;
          };
        case 'delete':
          return async (...a: Parameters<FileTree['delete']>) => {
            await t.delete(...a);
            feed.journal.push({ type: 'delete', path: a[0] });
          };
        case 'mkdir':
          return async (...a: Parameters<FileTree['mkdir']>) => {
            const e = await t.mkdir(...a);
            record(a[0], 'folder');
            return e;
          };
      }
      const v = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

describe('change feeds', () => {
  it('incremental runs visit only changed folders; full_sync walks everything', async () => {
    const sf: Feed = { journal: [], expired: false, listed: [] };
    const tf: Feed = { journal: [], expired: false, listed: [] };
    w = await World.create({
      wrapSource: (t) => withFeed(t, sf),
      wrapTarget: (t) => withFeed(t, tf),
    });
    for (const d of ['a/b', 'z', 'y/1', 'y/2'])
      for (let i = 0; i < 3; i++) await w.write('source', `${d}/f${i}.txt`, `${d}${i}`);

    const r1 = await w.sync();
    expect(r1.summary.mode).toBe('full');
    expect(r1.summary.modeReason).toBe('no_cursor');
    const cursors = { source: r1.summary.cursors.source!, target: r1.summary.cursors.target! };
    expect(cursors).toEqual({ source: '0', target: '0' }); // taken before the walk
    // A real feed leaves out the connector's own changes (the share store filters on origin):
    // start after run 1's writes.
    const after1 = { source: String(sf.journal.length), target: String(tf.journal.length) };

    // Changes the feeds report, and one they do not (z/f0.txt, edited behind the feed's back).
    await w.write('source', 'a/b/f1.txt', 'changed');
    sf.journal.push({
      type: 'upsert',
      entry: { name: 'f1.txt', path: 'a/b/f1.txt', kind: 'file', size: 7, mtimeMs: 0 },
    });
    await w.write('target', 'y/1/new.txt', 'new on target');
    tf.journal.push({
      type: 'upsert',
      entry: { name: 'new.txt', path: 'y/1/new.txt', kind: 'file', size: 1, mtimeMs: 0 },
    });
    await w.write('source', 'z/f0.txt', 'unreported');
    sf.listed.length = 0;
    tf.listed.length = 0;
    const r2 = await w.sync({ cursors: after1 });
    expect(r2.summary.mode).toBe('incremental');
    expect(await w.read('target', 'a/b/f1.txt')).toBe('changed');
    expect(await w.read('source', 'y/1/new.txt')).toBe('new on target');
    expect(await w.read('target', 'z/f0.txt')).toBe('z0'); // not visited
    expect(sf.listed.sort()).toEqual(['', 'a', 'a/b', 'y', 'y/1']);
    expect(r2.summary.cursors.source).toBe(String(sf.journal.length - 1));

    const r3 = await w.sync({ fullSync: true, cursors: r2.summary.cursors });
    expect(r3.summary.mode).toBe('full');
    expect(r3.summary.modeReason).toBe('full_sync');
    expect(await w.read('target', 'z/f0.txt')).toBe('unreported');
  });

  it('an expired cursor falls back to a full walk', async () => {
    const sf: Feed = { journal: [], expired: false, listed: [] };
    const tf: Feed = { journal: [], expired: true, listed: [] };
    w = await World.create({
      wrapSource: (t) => withFeed(t, sf),
      wrapTarget: (t) => withFeed(t, tf),
    });
    await w.write('source', 'x/a.txt', 'a');
    const r = await w.sync({ cursors: { source: '0', target: '0' } });
    expect(r.summary.mode).toBe('full');
    expect(r.summary.modeReason).toBe('cursor_expired');
    expect(r.events[0]).toEqual({ type: 'start', mode: 'full', reason: 'cursor_expired' });
    expect(await w.read('target', 'x/a.txt')).toBe('a');
  });

  it('rows in error are revisited by incremental runs', async () => {
    const sf: Feed = { journal: [], expired: false, listed: [] };
    const tf: Feed = { journal: [], expired: false, listed: [] };
    w = await World.create({
      wrapSource: (t) => withFeed(t, sf),
      wrapTarget: (t) => withFeed(t, tf),
    });
    await w.write('source', 'keep.txt', 'k');
    await w.write('source', 'deep/er/x.txt', 'x');
    await w.sync();
    await w.state.upsert([
      {
        ...(await w.state.get('deep/er/x.txt'))!,
        status: 'error',
        lastError: 'locked',
        lastErrorCode: 'ITEM_LOCKED',
      },
    ]);
    sf.listed.length = 0;
    const c = String(sf.journal.length);
    const r = await w.sync({ cursors: { source: c, target: String(tf.journal.length) } });
    expect(r.summary.mode).toBe('incremental');
    expect(sf.listed.sort()).toEqual(['', 'deep', 'deep/er']);
    expect((await w.state.get('deep/er/x.txt'))?.status).toBe('synced');
  });
});

describe('one side with a change feed', () => {
  it('walks the other side and reads the feed side from the base where its feed is quiet', async () => {
    const tf: Feed = { journal: [], expired: false, listed: [] };
    w = await World.create({ wrapTarget: (t) => withFeed(t, tf) });
    for (const d of ['a', 'b', 'c'])
      for (let i = 0; i < 2; i++) await w.write('source', `${d}/f${i}.txt`, `${d}${i}`);
    const r1 = await w.sync();
    expect(r1.summary.modeReason).toBe('no_cursor');
    const cursor = String(tf.journal.length); // the share store's feed leaves out our own writes

    await w.write('target', 'a/f0.txt', 'target edit (reported)');
    tf.journal.push({
      type: 'upsert',
      entry: { name: 'f0.txt', path: 'a/f0.txt', kind: 'file', size: 1, mtimeMs: 0 },
    });
    await w.write('target', 'b/f0.txt', 'target edit (not reported)');
    await w.write('source', 'c/f1.txt', 'source edit');
    tf.listed.length = 0;
    const r2 = await w.sync({ cursors: { target: cursor } });
    expect(r2.summary.status).toBe('completed');
    expect(r2.summary.mode).toBe('full');
    expect(r2.summary.feedsUsed).toEqual(['target']);
    expect(tf.listed.sort()).toEqual(['', 'a']); // the root (a change below it) and a
    expect(await w.read('source', 'a/f0.txt')).toBe('target edit (reported)');
    expect(await w.read('source', 'b/f0.txt')).toBe('b0'); // invisible without a full sync
    expect(await w.read('target', 'c/f1.txt')).toBe('source edit'); // the source is walked
    const r3 = await w.sync({ fullSync: true });
    expect(r3.summary.feedsUsed).toBeUndefined();
    expect(await w.read('source', 'b/f0.txt')).toBe('target edit (not reported)');
  });

  it('a write of an earlier run that was never committed is adopted, not fought', async () => {
    const tf: Feed = { journal: [], expired: false, listed: [] };
    w = await World.create({ wrapTarget: (t) => withFeed(t, tf) });
    await w.write('source', 'keep.txt', 'k');
    await w.write('source', 'd/a.txt', 'a');
    await w.write('source', 'd/b.txt', 'b');
    await w.sync();
    const cursor = String(tf.journal.length);
    // Run 2 copies d/c.txt and overwrites d/a.txt, then "crashes" before committing their rows.
    await w.write('source', 'd/c.txt', 'c');
    await w.write('source', 'd/a.txt', 'a2');
    const before = (await w.state.get('d/a.txt'))!;
    await w.sync({ cursors: { target: cursor } });
    await w.state.remove(['d/c.txt']);
    await w.state.upsert([before]);
    // Run 3 reads the target from the base: the share store's feed omits our own writes.
    const afterOwnWrites = String(tf.journal.length);
    tf.listed.length = 0;
    const r = await w.sync({ cursors: { target: afterOwnWrites } });
    expect(tf.listed).toEqual([]); // nothing listed on the target
    expect(r.summary.status).toBe('completed');
    expect(r.summary.errors).toEqual([]);
    expect(r.summary.progress.filesSynced).toBe(0);
    expect(r.summary.progress.adopted).toBe(2);
    expect(await w.read('target', 'd/a.txt')).toBe('a2');
    const again = await w.sync({ cursors: { target: afterOwnWrites } });
    expect(again.plan).toEqual([]);
  });
});
