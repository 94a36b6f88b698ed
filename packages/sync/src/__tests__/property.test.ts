import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ConflictStrategy } from '../options.js';
import { World, faulty, leftoverTemps, type FaultKind, type Side } from './harness.js';

/**
 * Random create/edit/rename/delete sequences on both sides with syncs in between.
 * Invariants: every sync completes; no content present when a sync starts is gone after it (it is
 * on a side, a conflict copy, or in the target's history = ScaiDrive versions/trash); after a sync
 * both trees are identical; a final extra sync plans nothing and writes nothing.
 */

const FOLDERS = ['a', 'b', 'a/c'];
const NAMES = ['x.txt', 'y.md', 'a', 'c'];
const PATHS = [...NAMES, ...FOLDERS.flatMap((f) => NAMES.map((n) => `${f}/${n}`))];
const SENTINEL = 'keep.me'; // keeps the roots non-empty (an empty root is a LISTING_FAILED)

type Op =
  | { t: 'write'; side: Side; path: string }
  | { t: 'delete'; side: Side; path: string }
  | { t: 'rename'; side: Side; from: string; to: string }
  | { t: 'mkdir'; side: Side; path: string }
  | { t: 'sync' };

const side = fc.constantFrom<Side>('source', 'target');
const path = fc.constantFrom(...PATHS, ...FOLDERS);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('write' as const), side, path }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), side, path }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('rename' as const), side, from: path, to: path }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('mkdir' as const), side, path }) },
  { weight: 3, arbitrary: fc.constant({ t: 'sync' as const }) },
);
const strategy = fc.constantFrom<ConflictStrategy>(
  'LAST_WRITER_WINS',
  'KEEP_BOTH',
  'SERVER_WINS',
  'CLIENT_WINS',
);

let counter = 0;

/** Applies a user operation; operations impossible in the current state are skipped. */
async function apply(w: World, o: Op): Promise<void> {
  try {
    switch (o.t) {
      case 'write':
        await w.write(o.side, o.path, `v${++counter}`);
        break;
      case 'delete':
        await w.remove(o.side, o.path);
        break;
      case 'rename':
        if (o.from === o.to || o.to.startsWith(`${o.from}/`)) return;
        if ((await w.read(o.side, o.from)) === null && !(await exists(w, o.side, o.from))) return;
        await w.rename(o.side, o.from, o.to);
        break;
      case 'mkdir':
        await w.mkdir(o.side, o.path);
        break;
      case 'sync':
        break;
    }
  } catch {
    // e.g. writing below a path that is a file
  }
}

async function exists(w: World, s: Side, p: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return (await stat(w.abs(s, p)).catch(() => null)) !== null;
}

async function checkedSync(w: World, s: ConflictStrategy): Promise<void> {
  const before = await w.allContents();
  const r = await w.sync({ conflictResolution: s });
  expect(r.summary.error).toBeUndefined();
  expect(r.summary.status).toBe('completed');
  expect(r.summary.errors).toEqual([]);
  const after = await w.allContents();
  for (const c of before) expect(after.has(c) ? c : `lost: ${c}`).toBe(c);
  expect(await w.snapshot('source')).toEqual(await w.snapshot('target'));
}

async function finalChecks(w: World, s: ConflictStrategy): Promise<void> {
  await checkedSync(w, s);
  const again = await w.sync({ conflictResolution: s });
  expect(again.plan).toEqual([]);
  expect(again.writes).toBe(0);
  expect(await leftoverTemps(w.root)).toEqual([]);
}

describe('property: random edits on both sides converge without losing content', () => {
  let w: World | null = null;
  afterEach(async () => {
    await w?.cleanup();
    w = null;
  });

  it('bidirectional, all automatic strategies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), strategy, async (ops, s) => {
        w = await World.create();
        try {
          await w.write('source', SENTINEL, 'sentinel', 1_000);
          await w.write('target', SENTINEL, 'sentinel', 1_000);
          for (const o of ops) {
            if (o.t === 'sync') await checkedSync(w, s);
            else await apply(w, o);
          }
          await finalChecks(w, s);
        } finally {
          await w.cleanup();
          w = null;
        }
      }),
      { numRuns: Number(process.env.SYNC_PROPERTY_RUNS ?? 100) },
    );
  });

  it('one-way: the destination mirrors the origin, nothing is lost', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 12 }),
        fc.constantFrom('source_to_target' as const, 'target_to_source' as const),
        async (ops, direction) => {
          w = await World.create();
          try {
            await w.write('source', SENTINEL, 'sentinel', 1_000);
            await w.write('target', SENTINEL, 'sentinel', 1_000);
            const origin: Side = direction === 'source_to_target' ? 'source' : 'target';
            const dest: Side = origin === 'source' ? 'target' : 'source';
            for (const o of [...ops, { t: 'sync' } as Op]) {
              if (o.t !== 'sync') {
                await apply(w, o);
                continue;
              }
              const before = await w.allContents();
              const r = await w.sync({ direction });
              expect(r.summary.status).toBe('completed');
              expect(r.summary.errors).toEqual([]);
              const after = await w.allContents();
              for (const c of before) expect(after.has(c) ? c : `lost: ${c}`).toBe(c);
              // Every origin item is on the destination with the same content.
              const o2 = await w.snapshot(origin);
              const d2 = await w.snapshot(dest);
              for (const [k, v] of Object.entries(o2)) expect([k, d2[k]]).toEqual([k, v]);
            }
            const again = await w.sync({ direction });
            expect(again.plan).toEqual([]);
            expect(again.writes).toBe(0);
          } finally {
            await w.cleanup();
            w = null;
          }
        },
      ),
      { numRuns: Number(process.env.SYNC_PROPERTY_RUNS ?? 60) },
    );
  });
});

describe('kill and resume', () => {
  it('a run stopped at any point resumes: no half-written files, nothing lost, converges', async () => {
    const fault = fc.record({
      at: fc.integer({ min: 1, max: 40 }),
      kind: fc.constantFrom<FaultKind | 'state'>('item', 'fatal', 'abort', 'midstream', 'state'),
      on: side,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 4, maxLength: 14 }),
        fc.array(fault, { minLength: 1, maxLength: 3 }),
        strategy,
        async (ops, faults, s) => {
          const w0 = await World.create();
          try {
            await w0.write('source', SENTINEL, 'sentinel', 1_000);
            await w0.write('target', SENTINEL, 'sentinel', 1_000);
            let f = 0;
            for (const o of [...ops, { t: 'sync' } as Op]) {
              if (o.t !== 'sync') {
                await apply(w0, o);
                continue;
              }
              const before = await w0.allContents();
              const spec = faults[f++ % faults.length]!;
              const ac = new AbortController();
              if (spec.kind === 'state') w0.memState.failNextWrites((spec.at % 4) + 3);
              else {
                const wrapped = faulty(spec.on === 'source' ? w0.source : w0.target, {
                  at: spec.at,
                  kind: spec.kind,
                  abort: ac,
                });
                if (spec.on === 'source') w0.sourceTree = wrapped;
                else w0.targetTree = wrapped;
              }
              const killed = await w0.sync({ conflictResolution: s }, ac.signal);
              expect(['completed', 'failed', 'cancelled']).toContain(killed.summary.status);
              w0.memState.failNextWrites(0);
              w0.sourceTree = w0.source;
              w0.targetTree = w0.target;
              expect(await leftoverTemps(w0.root)).toEqual([]);
              // Resume without faults.
              const resumed = await w0.sync({ conflictResolution: s });
              expect(resumed.summary.error).toBeUndefined();
              expect(resumed.summary.status).toBe('completed');
              const after = await w0.allContents();
              for (const c of before) expect(after.has(c) ? c : `lost: ${c}`).toBe(c);
              expect(await w0.snapshot('source')).toEqual(await w0.snapshot('target'));
            }
            const again = await w0.sync({ conflictResolution: s });
            expect(again.plan).toEqual([]);
            expect(again.writes).toBe(0);
            expect(await leftoverTemps(w0.root)).toEqual([]);
          } finally {
            await w0.cleanup();
          }
        },
      ),
      { numRuns: Number(process.env.SYNC_PROPERTY_RUNS ?? 80) },
    );
  });
});
