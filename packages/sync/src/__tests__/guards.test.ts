import { appendFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ItemError, ThrottledError, UnreachableError } from '@scaidrive/core';
import { runSync } from '../engine.js';
import type { SyncProgress } from '../plan.js';
import type { FileTree } from '../ports.js';
import { World, leftoverTemps } from './harness.js';

let w: World;
afterEach(async () => w?.cleanup());

/** A proxy that overrides some methods of a tree. */
function override(tree: FileTree, methods: Partial<Record<keyof FileTree, unknown>>): FileTree {
  return new Proxy(tree, {
    get(t, prop, receiver) {
      if (prop in methods) return methods[prop as keyof FileTree];
      const v = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

async function many(n: number, dir = 'd'): Promise<void> {
  for (let i = 0; i < n; i++) await w.write('source', `${dir}/f${i}.txt`, `c${i}`);
}

describe('delete safety', () => {
  it('stops before deleting more than max(50, 50%) of the managed files', async () => {
    w = await World.create();
    await w.write('source', 'keep.txt', 'k');
    await many(99);
    expect((await w.sync()).summary.status).toBe('completed');
    await w.remove('source', 'd');
    await w.write('source', 'new.txt', 'copied before the check');
    const r = await w.sync();
    expect(r.summary.status).toBe('failed');
    expect(r.summary.error?.code).toBe('DELETE_SAFETY');
    expect(r.summary.error?.message).toMatch(/would delete 99 of the 100 files/);
    expect(r.summary.deleteSafety).toEqual({ wouldDelete: 99, managedFiles: 100, limit: 50 });
    expect(Object.keys(await w.snapshot('target'))).toHaveLength(102); // nothing deleted
    expect(await w.read('target', 'new.txt')).toBe('copied before the check');
    // The operator confirms.
    const ok = await w.sync({ confirmDeletes: true, fullSync: true });
    expect(ok.summary.status).toBe('completed');
    expect(ok.summary.progress.deletes).toBe(100);
    expect(await w.snapshot('target')).toEqual({
      'keep.txt': 'k',
      'new.txt': 'copied before the check',
    });
  });

  it('lets smaller deletes through', async () => {
    w = await World.create();
    await many(100);
    await w.sync();
    for (let i = 0; i < 45; i++) await w.remove('source', `d/f${i}.txt`);
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.summary.progress.deletes).toBe(45);
  });
});

describe('empty-listing guard and listing failures', () => {
  it('an empty source root where the base is not is LISTING_FAILED, never "all deleted"', async () => {
    w = await World.create();
    await many(3);
    await w.sync();
    await w.remove('source', 'd');
    const r = await w.sync();
    expect(r.summary.status).toBe('failed');
    expect(r.summary.error?.code).toBe('LISTING_FAILED');
    expect(Object.keys(await w.snapshot('target'))).toHaveLength(4);
    const confirmed = await w.sync({ confirmDeletes: true });
    expect(confirmed.summary.status).toBe('completed');
    expect(await w.snapshot('target')).toEqual({});
  });

  it('a failing root listing fails the run and changes nothing', async () => {
    w = await World.create();
    await many(2);
    await w.sync();
    await w.write('target', 'd/f0.txt', 'changed on target');
    w.sourceTree = override(w.source, {
      list: () => {
        throw new ItemError('ITEM_ACCESS_DENIED', 'denied');
      },
    });
    const r = await w.sync();
    expect(r.summary.status).toBe('failed');
    expect(r.summary.error?.code).toBe('LISTING_FAILED');
    expect(await w.read('source', 'd/f0.txt')).toBe('c0');
  });

  it('a failing sub-folder listing is an error on that folder; the rest syncs', async () => {
    w = await World.create();
    await many(2, 'bad');
    await w.write('source', 'good/g.txt', 'g');
    await w.sync();
    await w.remove('source', 'bad/f0.txt'); // would be a delete if the listing were trusted
    await w.write('source', 'good/h.txt', 'h');
    const inner = w.source;
    w.sourceTree = override(inner, {
      list: (p: string, s?: AbortSignal) => {
        if (p === 'bad') throw new ItemError('ITEM_ACCESS_DENIED', 'bad: access denied');
        return inner.list(p, s);
      },
    });
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.summary.progress.errorCount).toBe(1);
    expect(await w.read('target', 'bad/f0.txt')).toBe('c0');
    expect(await w.read('target', 'good/h.txt')).toBe('h');
    const row = await w.state.get('bad');
    expect([row?.status, row?.lastErrorCode]).toEqual(['error', 'ITEM_ACCESS_DENIED']);
  });

  it.each([['a/b.txt'], ['..'], ['.'], [''], ['x\0y']])(
    'a listed name no tree can hold (%j) fails its folder, never touches another item',
    async (bad) => {
      w = await World.create();
      await w.write('source', 'd/a/b.txt', 'the real a/b.txt');
      await w.write('source', 'd/keep.txt', 'k');
      await w.write('source', 'e.txt', 'e');
      await w.sync();
      await w.remove('source', 'd/keep.txt'); // would be a delete if the listing were trusted
      await w.write('source', 'f.txt', 'f');
      const inner = w.source;
      w.sourceTree = override(inner, {
        list: async function* (p: string, s?: AbortSignal) {
          for await (const e of inner.list(p, s)) yield e;
          if (p === 'd')
            yield { name: bad, path: `d/${bad}`, kind: 'file', size: 1, mtimeMs: Date.now() };
        },
      });
      const r = await w.sync();
      expect(r.summary.status).toBe('completed');
      expect(r.summary.progress.errorCount).toBe(1);
      const row = await w.state.get('d');
      expect([row?.status, row?.lastErrorCode]).toEqual(['error', 'NAME_INVALID']);
      expect(row?.lastError).toContain(JSON.stringify(bad));
      expect(await w.read('target', 'd/keep.txt')).toBe('k');
      expect(await w.read('target', 'd/a/b.txt')).toBe('the real a/b.txt');
      expect((await w.state.get('d/a/b.txt'))?.status).toBe('synced');
      expect(await w.read('target', 'f.txt')).toBe('f');
    },
  );

  it('creates a missing target root on the first run', async () => {
    w = await World.create();
    await w.write('source', 'a.txt', 'a');
    const { rm } = await import('node:fs/promises');
    await rm(w.dir('target'), { recursive: true });
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(await w.read('target', 'a.txt')).toBe('a');
  });
});

describe('names', () => {
  it('two source names equal but for NFC/NFD form: the error says so (they look the same)', async () => {
    w = await World.create();
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    await w.write('source', nfc, 'composed');
    await w.write('source', nfd, 'decomposed');
    const r = await w.sync();
    expect(r.summary.progress.errorCount).toBe(1);
    // The first in code-point order is kept: "e" + U+0301 sorts before "é".
    expect(r.summary.errors[0]).toMatchObject({ path: nfc, code: 'CASE_COLLISION' });
    expect(r.summary.errors[0]!.message).toBe(
      `"${nfc}" on the source differs from "${nfd}" only in Unicode normalisation (NFC/NFD: they look the same) and is not synced`,
    );
    expect(await w.snapshot('target')).toEqual({ [nfd]: 'decomposed' });
  });

  it('two source names equal but for case: the second is an error, the first syncs', async () => {
    w = await World.create();
    await w.write('source', 'Report.txt', 'upper');
    await w.write('source', 'report.txt', 'lower');
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.summary.progress.errorCount).toBe(1);
    expect(r.summary.errors[0]).toMatchObject({ path: 'report.txt', code: 'CASE_COLLISION' });
    expect(await w.snapshot('target')).toEqual({ 'Report.txt': 'upper' });
    const row = await w.state.get('report.txt');
    expect([row?.status, row?.lastErrorCode]).toEqual(['error', 'CASE_COLLISION']);
    expect(row?.lastError).toMatch(
      /"report.txt" on the source differs from "Report.txt" only in case/,
    );
    const again = await w.sync();
    expect(again.plan.map((p) => p.action)).toEqual(['error']);
    expect(again.writes).toBe(0);
    // Renaming one of them clears the error.
    await w.rename('source', 'report.txt', 'report-2.txt');
    const fixed = await w.sync();
    expect(fixed.summary.progress.errorCount).toBe(0);
    expect((await w.state.get('report.txt'))?.status).toBe('synced');
    expect(await w.read('target', 'report-2.txt')).toBe('lower');
  });

  it('names the other side cannot hold are per-item errors, never silent skips', async () => {
    w = await World.create();
    const target = w.target;
    w.targetTree = override(target, {
      capabilities: {
        ...target.capabilities,
        nameProblem: (n: string) => (n.includes(':') ? 'name contains ":"' : null),
      },
    });
    await w.write('source', 'ok.txt', 'ok');
    await w.write('source', 'a:b.txt', 'x');
    await w.write('source', 'dir:1/inner.txt', 'y');
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.summary.progress.errorCount).toBe(2);
    expect(r.summary.errors.map((e) => [e.path, e.code]).sort()).toEqual([
      ['a:b.txt', 'NAME_INVALID'],
      ['dir:1', 'NAME_INVALID'],
    ]);
    expect(await w.snapshot('target')).toEqual({ 'ok.txt': 'ok' });
    expect((await w.state.get('a:b.txt'))?.lastError).toMatch(/cannot be created on the target/);
    const again = await w.sync();
    expect(again.writes).toBe(0);
    expect(again.plan.map((p) => p.action)).toEqual(['error', 'error']);
  });
});

describe('transfers', () => {
  it('a file that changes while it is read is not committed and is retried next run', async () => {
    w = await World.create();
    await w.write('source', 'grow.txt', 'x'.repeat(300_000));
    await w.write('source', 'other.txt', 'o');
    const inner = w.source;
    let touched = false;
    w.sourceTree = override(inner, {
      read: async (p: string, s?: AbortSignal) => {
        const r = await inner.read(p, s);
        if (p === 'grow.txt' && !touched) {
          touched = true;
          await appendFile(w.abs('source', 'grow.txt'), 'more');
        }
        return r;
      },
    });
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.summary.errors).toEqual([
      expect.objectContaining({ path: 'grow.txt', code: 'ITEM_CHANGED_DURING_READ' }),
    ]);
    expect(await w.read('target', 'grow.txt')).toBeNull(); // nothing half-written
    expect(await w.read('target', 'other.txt')).toBe('o');
    expect(await leftoverTemps(w.root)).toEqual([]);
    const again = await w.sync();
    expect(again.summary.progress.errorCount).toBe(0);
    expect(await w.read('target', 'grow.txt')).toBe('x'.repeat(300_000) + 'more');
  });

  it('retries retryable errors, honouring retry_after', async () => {
    w = await World.create();
    await w.write('source', 'a.txt', 'a');
    const inner = w.target;
    let calls = 0;
    w.targetTree = override(inner, {
      write: (...args: Parameters<FileTree['write']>) => {
        if (++calls === 1) {
          args[1].destroy();
          throw new ThrottledError('slow down', 40);
        }
        return inner.write(...args);
      },
    });
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.events).toContainEqual({
      type: 'retry',
      path: 'a.txt',
      code: 'CONNECTOR_THROTTLED',
      attempt: 1,
      waitMs: 40,
    });
    expect(await w.read('target', 'a.txt')).toBe('a');
  });

  it('per-file failures never fail the job; they stay on the file state', async () => {
    w = await World.create();
    await w.write('source', 'locked.txt', 'l');
    await w.write('source', 'fine.txt', 'f');
    const inner = w.source;
    w.sourceTree = override(inner, {
      read: (p: string, s?: AbortSignal) => {
        if (p === 'locked.txt') throw new ItemError('ITEM_LOCKED', 'locked.txt is open elsewhere');
        return inner.read(p, s);
      },
    });
    const r = await w.sync();
    expect(r.summary.status).toBe('completed');
    expect(r.summary.progress).toMatchObject({ errorCount: 1, filesSynced: 1 });
    const row = await w.state.get('locked.txt');
    expect([row?.status, row?.lastErrorCode, row?.lastError]).toEqual([
      'error',
      'ITEM_LOCKED',
      'locked.txt is open elsewhere',
    ]);
    w.sourceTree = inner;
    const again = await w.sync();
    expect(again.summary.progress.errorCount).toBe(0);
    expect((await w.state.get('locked.txt'))?.status).toBe('synced');
  });

  it('an unreachable side fails the run (after retries); finished work stays committed', async () => {
    w = await World.create();
    for (let i = 0; i < 5; i++) await w.write('source', `f${i}.txt`, `${i}`);
    const inner = w.source;
    w.sourceTree = override(inner, {
      read: (p: string, s?: AbortSignal) => {
        if (p === 'f3.txt') throw new UnreachableError('connection reset');
        return inner.read(p, s);
      },
    });
    const r = await w.sync({ transferConcurrency: 1 });
    expect(r.summary.status).toBe('failed');
    expect(r.summary.error?.code).toBe('CONNECTOR_UNREACHABLE');
    expect(r.events.filter((e) => e.type === 'retry')).toHaveLength(2);
    const committed = (await w.memState.all()).map((x) => x.pathKey);
    expect(committed).toEqual(expect.arrayContaining(['f0.txt', 'f1.txt', 'f2.txt']));
    w.sourceTree = inner;
    const again = await w.sync();
    expect(again.summary.status).toBe('completed');
    // Finished files are not copied again.
    expect(again.summary.progress.filesSynced).toBe(5 - committed.length);
  });

  it('cancellation stops promptly and keeps finished work', async () => {
    w = await World.create();
    for (let i = 0; i < 20; i++) await w.write('source', `f${i}.txt`, `${i}`);
    const ac = new AbortController();
    const r = await (async () => {
      const p = w.sync({ transferConcurrency: 1 }, ac.signal);
      setTimeout(() => ac.abort('shutdown'), 5);
      return p;
    })();
    expect(['cancelled', 'completed']).toContain(r.summary.status);
    if (r.summary.status === 'cancelled') expect(r.summary.message).toMatch(/shutdown/);
    expect(await leftoverTemps(w.root)).toEqual([]);
    const again = await w.sync();
    expect(again.summary.status).toBe('completed');
    expect(await w.snapshot('target')).toEqual(await w.snapshot('source'));
  });
});

describe('accounting', () => {
  it('reports progress (throttled, plus a final call) and a structured summary', async () => {
    w = await World.create();
    await many(10);
    await w.write('target', 'back.txt', 'b');
    const calls: SyncProgress[] = [];
    const summary = await runSync({
      source: w.sourceTree,
      target: w.targetTree,
      state: w.state,
      options: { direction: 'both', conflictResolution: 'KEEP_BOTH', progressIntervalMs: 60_000 },
      onProgress: (p) => calls.push(p),
    });
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.length).toBeLessThanOrEqual(2);
    expect(calls[calls.length - 1]).toEqual(summary.progress);
    expect(summary).toMatchObject({
      status: 'completed',
      mode: 'full',
      modeReason: 'no_change_feed',
      progress: { filesScanned: 11, filesSynced: 11, bytesTransferred: 21, errorCount: 0 },
      plan: { copy_to_target: 10, copy_to_source: 1, mkdir_target: 1 },
    });
    expect(summary.message).toBe('11 files synced, 0 deleted');
  });
});
