import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveConflict } from '../engine.js';
import type { ConflictStrategy, SyncDirection } from '../options.js';
import { World, leftoverTemps, type SyncResult } from './harness.js';

/**
 * DESIGN.md §6, one case per row, in each direction, and one per conflict strategy. Every case
 * ends with a second run that must plan nothing and write no file-state row.
 */

let w: World;
afterEach(async () => w?.cleanup());

const F = 'd/f.txt';
const CONFLICT_RE = /^d\/f \(conflict \d{4}-\d{2}-\d{2} \d{6} from (smb|scaidrive)\)\.txt$/;

type Snap = Record<string, string | null>;

function conflictCopies(snap: Snap): Record<string, string | null> {
  return Object.fromEntries(Object.entries(snap).filter(([k]) => CONFLICT_RE.test(k)));
}

async function settled(direction: SyncDirection, strategy: ConflictStrategy = 'LAST_WRITER_WINS') {
  const again = await w.sync({ direction, conflictResolution: strategy });
  expect(again.summary.status).toBe('completed');
  expect(again.plan).toEqual([]);
  expect(again.writes).toBe(0);
  expect(await leftoverTemps(w.root)).toEqual([]);
}

/** d/f.txt = "base" on both sides, synced. */
async function synced(direction: SyncDirection): Promise<void> {
  w = await World.create();
  const t = w.tick();
  await w.write('source', F, 'base', t);
  await w.write('target', F, 'base', t);
  const r = await w.sync({ direction });
  expect(r.summary.status).toBe('completed');
  // The folder is adopted at once; the file after comparing content.
  expect(r.plan.map((p) => p.action).sort()).toEqual(['adopt', 'reconcile']);
  expect(r.summary.progress.adopted).toBe(1);
}

function ok(r: SyncResult): void {
  expect(r.summary.error).toBeUndefined();
  expect(r.summary.status).toBe('completed');
  expect(r.summary.progress.errorCount).toBe(0);
}

describe('DESIGN §6 table', () => {
  const dirs: SyncDirection[] = ['both', 'source_to_target', 'target_to_source'];

  describe.each(dirs)('%s', (direction) => {
    it('same | same → nothing', async () => {
      await synced(direction);
      const r = await w.sync({ direction });
      ok(r);
      expect(r.plan).toEqual([]);
      await settled(direction);
    });

    it('changed | same', async () => {
      await synced(direction);
      await w.write('source', F, 's1');
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'target_to_source') {
        // The destination edit loses to the origin, but is kept (the source keeps no history).
        expect(await w.read('source', F)).toBe('base');
        expect(await w.read('target', F)).toBe('base');
        const copies = Object.values(conflictCopies(await w.snapshot('source')));
        expect(copies).toEqual(['s1']);
      } else {
        expect(await w.read('target', F)).toBe('s1');
        expect(await w.read('source', F)).toBe('s1');
        expect(await w.history()).toContain('base');
      }
      await settled(direction);
    });

    it('same | changed', async () => {
      await synced(direction);
      await w.write('target', F, 't1');
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'source_to_target') {
        expect(await w.read('target', F)).toBe('base');
        expect(await w.history()).toContain('t1'); // a ScaiDrive version, no conflict copy
        expect(conflictCopies(await w.snapshot('target'))).toEqual({});
      } else {
        expect(await w.read('source', F)).toBe('t1');
        expect(await w.read('target', F)).toBe('t1');
      }
      await settled(direction);
    });

    it('changed | changed to different content', async () => {
      await synced(direction);
      await w.write('source', F, 's1');
      await w.write('target', F, 't1'); // newer
      const r = await w.sync({ direction });
      ok(r);
      expect(r.summary.progress.conflicts).toBe(1);
      const s = await w.snapshot('source');
      const t = await w.snapshot('target');
      if (direction === 'source_to_target') {
        expect(s[F]).toBe('s1');
        expect(t[F]).toBe('s1');
        expect(await w.history()).toContain('t1');
      } else {
        // bidirectional LAST_WRITER_WINS: the newer target wins; target → source: the origin.
        expect(s[F]).toBe('t1');
        expect(t[F]).toBe('t1');
        expect(Object.values(conflictCopies(s))).toEqual(['s1']);
        if (direction === 'both') expect(Object.values(conflictCopies(t))).toEqual(['s1']);
        else expect(conflictCopies(t)).toEqual({});
      }
      await settled(direction);
    });

    it('changed | changed to equal content → adopted, nothing copied', async () => {
      await synced(direction);
      await w.write('source', F, 'same!');
      await w.write('target', F, 'same!');
      const r = await w.sync({ direction });
      ok(r);
      expect(r.summary.progress.conflicts).toBe(0);
      expect(r.summary.progress.filesSynced).toBe(0);
      expect(r.summary.progress.adopted).toBe(1);
      await settled(direction);
    });

    it('deleted | same', async () => {
      await synced(direction);
      await w.remove('source', F);
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'target_to_source') {
        expect(await w.read('source', F)).toBe('base'); // re-created from the origin
      } else {
        expect(await w.read('target', F)).toBeNull();
        expect(await w.history()).toContain('base'); // trash
        expect(r.summary.progress.deletes).toBe(1);
      }
      await settled(direction);
    });

    it('same | deleted', async () => {
      await synced(direction);
      await w.remove('target', F);
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'source_to_target') expect(await w.read('target', F)).toBe('base');
      else expect(await w.read('source', F)).toBeNull();
      await settled(direction);
    });

    it('deleted | changed', async () => {
      await synced(direction);
      await w.remove('source', F);
      await w.write('target', F, 't1');
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'source_to_target') {
        // The origin decides: deleted; the target's edit stays in its history (trash).
        expect(await w.read('target', F)).toBeNull();
        expect(await w.history()).toContain('t1');
      } else {
        expect(await w.read('source', F)).toBe('t1'); // the change wins: re-created
        expect(await w.read('target', F)).toBe('t1');
      }
      await settled(direction);
    });

    it('changed | deleted', async () => {
      await synced(direction);
      await w.write('source', F, 's1');
      await w.remove('target', F);
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'target_to_source') {
        // The origin (target) deleted it; the source's edit is kept as a conflict copy.
        expect(await w.read('source', F)).toBeNull();
        expect(Object.values(conflictCopies(await w.snapshot('source')))).toEqual(['s1']);
      } else {
        expect(await w.read('target', F)).toBe('s1');
        expect(await w.read('source', F)).toBe('s1');
      }
      await settled(direction);
    });

    it('new on both, equal content → adopted', async () => {
      w = await World.create();
      await w.write('source', 'n.txt', 'same');
      await w.write('target', 'n.txt', 'same');
      const r = await w.sync({ direction });
      ok(r);
      expect(r.summary.progress.adopted).toBe(1);
      expect(r.summary.progress.filesSynced).toBe(0);
      await settled(direction);
    });

    it('new on both, different content', async () => {
      w = await World.create();
      await w.write('source', F, 's1');
      await w.write('target', F, 't1'); // newer
      const r = await w.sync({ direction });
      ok(r);
      const s = await w.snapshot('source');
      const t = await w.snapshot('target');
      if (direction === 'source_to_target') {
        expect([s[F], t[F]]).toEqual(['s1', 's1']);
        expect(await w.history()).toContain('t1');
      } else {
        expect([s[F], t[F]]).toEqual(['t1', 't1']);
        expect(Object.values(conflictCopies(s))).toEqual(['s1']);
      }
      await settled(direction);
    });

    it('new on the source only', async () => {
      w = await World.create();
      await w.write('source', 'x/new.txt', 'N');
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'target_to_source') {
        expect(await w.read('target', 'x/new.txt')).toBeNull(); // not the origin: left alone
        expect(await w.read('source', 'x/new.txt')).toBe('N');
      } else expect(await w.read('target', 'x/new.txt')).toBe('N');
      await settled(direction);
    });

    it('new on the target only', async () => {
      w = await World.create();
      await w.write('target', 'x/new.txt', 'N');
      const r = await w.sync({ direction });
      ok(r);
      if (direction === 'source_to_target') {
        expect(await w.read('source', 'x/new.txt')).toBeNull();
        expect(await w.read('target', 'x/new.txt')).toBe('N');
      } else expect(await w.read('source', 'x/new.txt')).toBe('N');
      await settled(direction);
    });

    it('folder deleted at the origin', async () => {
      w = await World.create();
      await w.write('source', 'p/q/1.txt', '1');
      await w.write('source', 'p/2.txt', '2');
      await w.write('source', 'root.txt', 'r'); // an empty root would trip the listing guard
      await w.sync({ direction: 'both' });
      const side = direction === 'target_to_source' ? 'target' : 'source';
      const other = side === 'source' ? 'target' : 'source';
      await w.remove(side, 'p');
      const r = await w.sync({ direction });
      ok(r);
      expect(Object.keys(await w.snapshot(other))).toEqual(['root.txt']);
      expect(r.summary.progress.deletes).toBe(4);
      await settled(direction);
    });
  });
});

describe('conflict strategies (bidirectional, changed on both)', () => {
  async function conflict(strategy: ConflictStrategy, newer: 'source' | 'target' | 'tie') {
    await synced('both');
    const t1 = w.tick();
    const t2 = w.tick();
    await w.write('source', F, 's1', newer === 'source' ? t2 : t1);
    await w.write('target', F, 't1', newer === 'target' ? t2 : t1);
    const r = await w.sync({ conflictResolution: strategy });
    ok(r);
    expect(r.summary.progress.conflicts).toBe(1);
    return { r, s: await w.snapshot('source'), t: await w.snapshot('target') };
  }

  it('LAST_WRITER_WINS, source newer: source wins, target content stays a version', async () => {
    const { s, t } = await conflict('LAST_WRITER_WINS', 'source');
    expect([s[F], t[F]]).toEqual(['s1', 's1']);
    expect(conflictCopies(s)).toEqual({});
    expect(await w.history()).toContain('t1');
    await settled('both');
  });

  it('LAST_WRITER_WINS, target newer: target wins, source content kept as a conflict copy', async () => {
    const { s, t } = await conflict('LAST_WRITER_WINS', 'target');
    expect([s[F], t[F]]).toEqual(['t1', 't1']);
    expect(Object.values(conflictCopies(s))).toEqual(['s1']);
    expect(conflictCopies(s)).toEqual(conflictCopies(t));
    expect(Object.keys(conflictCopies(s))[0]).toMatch(/from smb\)\.txt$/);
    await settled('both');
  });

  it('LAST_WRITER_WINS, same time: keep both', async () => {
    const { s, t } = await conflict('LAST_WRITER_WINS', 'tie');
    expect([s[F], t[F]]).toEqual(['t1', 't1']);
    expect(Object.values(conflictCopies(t))).toEqual(['s1']);
    await settled('both');
  });

  it('KEEP_BOTH: the newer keeps the name, the older is kept beside it on both sides', async () => {
    const { s, t } = await conflict('KEEP_BOTH', 'source');
    expect([s[F], t[F]]).toEqual(['s1', 's1']);
    const copies = conflictCopies(t);
    expect(Object.values(copies)).toEqual(['t1']);
    expect(Object.keys(copies)[0]).toMatch(
      /^d\/f \(conflict \d{4}-\d{2}-\d{2} \d{6} from scaidrive\)\.txt$/,
    );
    expect(conflictCopies(s)).toEqual(copies);
    await settled('both', 'KEEP_BOTH');
  });

  it('SERVER_WINS: the target wins even when older; the source content is kept', async () => {
    const { s, t } = await conflict('SERVER_WINS', 'source');
    expect([s[F], t[F]]).toEqual(['t1', 't1']);
    expect(Object.values(conflictCopies(s))).toEqual(['s1']);
    expect(conflictCopies(t)).toEqual(conflictCopies(s));
    await settled('both', 'SERVER_WINS');
  });

  it('CLIENT_WINS: the source wins even when older; the target content stays a version', async () => {
    const { s, t } = await conflict('CLIENT_WINS', 'target');
    expect([s[F], t[F]]).toEqual(['s1', 's1']);
    expect(conflictCopies(t)).toEqual({});
    expect(await w.history()).toContain('t1');
    await settled('both', 'CLIENT_WINS');
  });

  it('MANUAL: nothing moves, the state is conflict until an operator resolves it', async () => {
    const { r, s, t } = await conflict('MANUAL', 'target');
    expect([s[F], t[F]]).toEqual(['s1', 't1']);
    const row = await w.state.get('d/f.txt');
    expect(row?.status).toBe('conflict');
    expect(row?.lastErrorCode).toBe('CONFLICT');
    expect(r.events.some((e) => e.type === 'conflict' && e.resolution === 'manual')).toBe(true);
    // Still a conflict next run; nothing planned, nothing written.
    const again = await w.sync({ conflictResolution: 'MANUAL' });
    expect(again.plan).toEqual([]);
    expect(again.writes).toBe(0);
    expect(again.summary.progress.conflicts).toBe(1);
  });

  it.each(['keep_source', 'keep_target', 'keep_both'] as const)(
    'MANUAL resolved by the operator: %s',
    async (resolution) => {
      await conflict('MANUAL', 'target');
      const res = await resolveConflict(
        {
          source: w.sourceTree,
          target: w.targetTree,
          state: w.state,
          options: { direction: 'both', conflictResolution: 'MANUAL' },
        },
        'd/f.txt',
        resolution,
      );
      expect(res.status).toBe('resolved');
      const s = await w.snapshot('source');
      const t = await w.snapshot('target');
      if (resolution === 'keep_source') {
        expect([s[F], t[F]]).toEqual(['s1', 's1']);
        expect(await w.history()).toContain('t1');
      } else if (resolution === 'keep_target') {
        expect([s[F], t[F]]).toEqual(['t1', 't1']);
        expect(Object.values(conflictCopies(s))).toEqual(['s1']);
      } else {
        expect([s[F], t[F]]).toEqual(['t1', 't1']); // the newer keeps the name
        expect(Object.values(conflictCopies(t))).toEqual(['s1']);
      }
      expect(s).toEqual(t);
      expect((await w.state.get('d/f.txt'))?.status).toBe('synced');
      await settled('both', 'MANUAL');
    },
  );
});

describe('folders and type changes', () => {
  it('a folder deleted on one side while a file in it changed on the other comes back', async () => {
    w = await World.create();
    await w.write('source', 'p/keep.txt', 'k');
    await w.write('source', 'p/drop.txt', 'd');
    await w.write('source', 'root.txt', 'r');
    await w.sync();
    await w.remove('source', 'p');
    await w.write('target', 'p/keep.txt', 'k2');
    const r = await w.sync();
    ok(r);
    const want = { p: null, 'p/keep.txt': 'k2', 'root.txt': 'r' };
    expect(await w.snapshot('source')).toEqual(want);
    expect(await w.snapshot('target')).toEqual(want);
    await settled('both');
  });

  it('empty folders are mirrored', async () => {
    w = await World.create();
    await w.mkdir('target', 'e1/e2');
    ok(await w.sync());
    expect(await w.snapshot('source')).toEqual({ e1: null, 'e1/e2': null });
    await settled('both');
  });

  it('file → folder on the source replaces the unchanged target file', async () => {
    w = await World.create();
    await w.write('source', 'x', 'file');
    await w.sync();
    await w.remove('source', 'x');
    await w.write('source', 'x/inner.txt', 'in');
    const r = await w.sync();
    ok(r);
    expect(await w.snapshot('target')).toEqual({ x: null, 'x/inner.txt': 'in' });
    expect(await w.history()).toContain('file');
    await settled('both');
  });

  it('folder → file on the source replaces the unchanged target folder', async () => {
    w = await World.create();
    await w.write('source', 'x/a.txt', 'a');
    await w.write('source', 'x/b/c.txt', 'c');
    await w.sync();
    await w.remove('source', 'x');
    await w.write('source', 'x', 'now a file');
    const r = await w.sync();
    ok(r);
    expect(await w.snapshot('target')).toEqual({ x: 'now a file' });
    expect(await w.snapshot('source')).toEqual({ x: 'now a file' });
    await settled('both');
  });

  it('file vs changed folder: the folder keeps the name, the file a conflict name', async () => {
    w = await World.create();
    await w.write('source', 'x', 'file');
    await w.sync();
    await w.remove('source', 'x');
    await w.write('source', 'x/inner.txt', 'in');
    await w.write('target', 'x', 'edited file');
    const r = await w.sync();
    ok(r);
    const s = await w.snapshot('source');
    expect(s).toEqual(await w.snapshot('target'));
    expect(s['x/inner.txt']).toBe('in');
    const copy = Object.entries(s).find(([k]) => k.startsWith('x (conflict '));
    expect(copy?.[1]).toBe('edited file');
    expect(copy?.[0]).toMatch(/from scaidrive\)$/);
    await settled('both');
  });

  it('file vs folder under MANUAL: nothing moves', async () => {
    w = await World.create();
    await w.write('source', 'x', 'file');
    await w.sync({ conflictResolution: 'MANUAL' });
    await w.remove('source', 'x');
    await w.write('source', 'x/inner.txt', 'in');
    await w.write('target', 'x', 'edited file');
    const r = await w.sync({ conflictResolution: 'MANUAL' });
    ok(r);
    expect(await w.snapshot('target')).toEqual({ x: 'edited file' });
    expect((await w.state.get('x'))?.status).toBe('conflict');
    const again = await w.sync({ conflictResolution: 'MANUAL' });
    expect(again.plan).toEqual([]);
  });
});
