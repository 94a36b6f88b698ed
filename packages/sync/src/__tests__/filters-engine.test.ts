import { afterEach, describe, expect, it } from '@jest/globals';
import { World } from './harness.js';

let w: World;
afterEach(async () => w?.cleanup());

describe('filters in a run', () => {
  it('excluded items are left alone on both sides and recorded as excluded', async () => {
    w = await World.create();
    await w.write('source', 'a.txt', 'a');
    await w.write('source', 'b.tmp', 'tmp');
    await w.write('source', 'node_modules/x.js', 'x');
    await w.write('source', '.hidden', 'h');
    await w.write('target', 'c.tmp', 'target tmp');
    await w.write('target', 'docs/private/secret.pdf', 's');
    await w.write('target', 'docs/public.pdf', 'p');
    const options = {
      filters: {
        exclude: { extensions: ['TMP'], patterns: ['node_modules', 'docs/private/**'] },
      },
      syncHidden: false,
    };
    const r = await w.sync(options);
    expect(r.summary.status).toBe('completed');
    expect(r.summary.progress.errorCount).toBe(0);
    expect(await w.snapshot('target')).toEqual({
      'a.txt': 'a',
      'c.tmp': 'target tmp',
      docs: null,
      'docs/private': null,
      'docs/private/secret.pdf': 's',
      'docs/public.pdf': 'p',
    });
    expect(await w.snapshot('source')).toEqual({
      '.hidden': 'h',
      'a.txt': 'a',
      'b.tmp': 'tmp',
      docs: null,
      'docs/private': null,
      'docs/public.pdf': 'p',
      node_modules: null,
      'node_modules/x.js': 'x',
    });
    const row = await w.state.get('node_modules');
    expect([row?.status, row?.lastError]).toEqual([
      'excluded',
      'excluded by pattern "node_modules"',
    ]);
    expect((await w.state.get('.hidden'))?.lastError).toBe('hidden item');
    const again = await w.sync(options);
    expect(again.plan).toEqual([]);
    expect(again.writes).toBe(0);
  });

  it('an item excluded after it was synced is neither deleted nor updated', async () => {
    w = await World.create();
    await w.write('source', 'keep.txt', 'k');
    await w.write('source', 'x.log', 'v1');
    await w.sync();
    await w.remove('source', 'x.log');
    const r = await w.sync({ filters: { exclude: { extensions: ['log'] } } });
    expect(r.summary.progress.deletes).toBe(0);
    expect(await w.read('target', 'x.log')).toBe('v1');
    expect((await w.state.get('x.log'))?.status).toBe('excluded');
  });

  it('a folder deleted on one side is kept on the other while it holds excluded files', async () => {
    w = await World.create();
    await w.write('source', 'keep.txt', 'k');
    await w.write('source', 'proj/a.txt', 'a');
    await w.write('source', 'proj/sub/b.txt', 'b');
    const options = { filters: { exclude: { extensions: ['md'] } } };
    expect((await w.sync(options)).summary.status).toBe('completed');
    // Notes only the target has (excluded: never copied), then the source drops the folder.
    await w.write('target', 'proj/sub/notes.md', 'my notes');
    await w.remove('source', 'proj');
    const r = await w.sync(options);
    expect(r.summary.status).toBe('completed');
    // The synced files go; the excluded notes and the folders holding them stay.
    expect(await w.snapshot('target')).toEqual({
      'keep.txt': 'k',
      proj: null,
      'proj/sub': null,
      'proj/sub/notes.md': 'my notes',
    });
    // In a two-way run the kept folders come back on the deleting side, empty: no synced file
    // returns, and nothing excluded is copied.
    expect(await w.snapshot('source')).toEqual({ 'keep.txt': 'k', proj: null, 'proj/sub': null });
    const again = await w.sync(options);
    expect(again.plan).toEqual([]);
    expect(again.writes).toBe(0);
    expect(await w.read('target', 'proj/sub/notes.md')).toBe('my notes');
  });

  it('one way: the destination keeps a deleted folder that holds excluded files', async () => {
    w = await World.create();
    await w.write('source', 'keep.txt', 'k');
    await w.write('source', 'proj/a.txt', 'a');
    const options = {
      direction: 'source_to_target' as const,
      filters: { exclude: { extensions: ['md'] } },
    };
    expect((await w.sync(options)).summary.status).toBe('completed');
    await w.write('target', 'proj/notes.md', 'my notes');
    await w.remove('source', 'proj');
    expect((await w.sync(options)).summary.status).toBe('completed');
    expect(await w.snapshot('target')).toEqual({
      'keep.txt': 'k',
      proj: null,
      'proj/notes.md': 'my notes',
    });
    expect(await w.snapshot('source')).toEqual({ 'keep.txt': 'k' });
  });

  it('an include set syncs only matching files', async () => {
    w = await World.create();
    await w.write('source', 'r/q1.pdf', 'pdf');
    await w.write('source', 'r/q1.docx', 'docx');
    const r = await w.sync({ filters: { include: { extensions: ['pdf'] } } });
    expect(r.summary.status).toBe('completed');
    expect(await w.snapshot('target')).toEqual({ r: null, 'r/q1.pdf': 'pdf' });
  });
});
