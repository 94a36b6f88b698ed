import { afterEach, describe, expect, it } from '@jest/globals';
import { World } from './harness.js';

let w: World;
afterEach(async () => w?.cleanup());

describe('smoke', () => {
  it('copies a tree both ways and then plans nothing', async () => {
    w = await World.create();
    await w.write('source', 'a.txt', 'A');
    await w.write('source', 'dir/b.txt', 'B');
    await w.write('target', 'dir/c.txt', 'C');
    await w.write('target', 'other/d.txt', 'D');
    const r1 = await w.sync();
    expect(r1.summary.status).toBe('completed');
    expect(await w.snapshot('source')).toEqual(await w.snapshot('target'));
    const r2 = await w.sync();
    expect(r2.summary.error).toBeUndefined();
    expect(r2.plan).toEqual([]);
    expect(r2.writes).toBe(0);
  });
});
