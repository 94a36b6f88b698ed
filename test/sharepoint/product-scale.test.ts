import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { startE2E, type E2E } from './e2e-harness.js';

/**
 * The product path's initial-sync rate: API → queue → worker → engine → SharePoint Source (the
 * emulator) → ScaiDrive share store (PostgreSQL + chunk store), next to the Source alone
 * (scale.test.ts measures walk + download without the engine and the store).
 * `SP_PRODUCT_SCALE=1`: 2,000 files of 8 KiB in 20 folders (the measurement run, numbers in
 * docs/sharepoint.md); otherwise 200 (CI: the same path, checked, not measured).
 */
const FULL = process.env.SP_PRODUCT_SCALE === '1';
const FOLDERS = 20;
const PER_FOLDER = FULL ? 100 : 10;
const TARGET = '/From SharePoint';
let e: E2E;

beforeAll(async () => {
  e = await startE2E({ maxPageSize: 200 });
  for (let d = 0; d < FOLDERS; d++)
    for (let f = 0; f < PER_FOLDER; f++)
      e.fx.emu.model.putFile(e.fx.driveId, `Lib/D${d}/f${f}.bin`, randomBytes(8192));
}, 120_000);

afterAll(async () => {
  await e?.close();
  expect(e.fx.guard.violations).toEqual([]);
});

describe('product path: SharePoint → ScaiDrive through the API and a worker', () => {
  it('initial sync of the library, then a 10-change incremental run', async () => {
    const id = await e.createConnector({ sync_direction: 'sharepoint_to_scaidrive' });
    const t0 = performance.now();
    const job = await e.syncAndWait(id);
    const endToEndMs = performance.now() - t0;
    expect(job.status).toBe('completed');
    const row = await e.api.db.prisma.syncJob.findUniqueOrThrow({ where: { id: job.id } });
    const files = FOLDERS * PER_FOLDER;
    expect(row.filesSynced).toBe(files);
    const jobMs = row.finishedAt!.getTime() - row.startedAt!.getTime();
    const shared = await e.shareFiles(TARGET);
    expect(Object.keys(shared)).toHaveLength(files);

    const m = e.fx.emu.model;
    for (let i = 0; i < 5; i++) m.putFile(e.fx.driveId, `Lib/D${i}/f0.bin`, randomBytes(8192));
    for (let i = 0; i < 3; i++) m.putFile(e.fx.driveId, `Lib/new/n${i}.bin`, randomBytes(100));
    m.remove(e.fx.driveId, 'Lib/D7/f1.bin');
    m.move(e.fx.driveId, 'Lib/D8/f2.bin', 'Lib/D9/moved.bin');
    const before = e.fx.emu.graphRequests().length;
    const t1 = performance.now();
    const inc = await e.syncAndWait(id);
    const incMs = performance.now() - t1;
    expect(inc.status).toBe('completed');
    const graph = e.fx.emu.graphRequests(before);
    // No enumeration: one delta page, real listings of only the 10 folders the changes touched
    // (the engine's rule for feed sides: D0–D4, D7–D9, new and its parent) out of 22, a stat and a
    // download per changed file.
    expect(graph.filter((r) => r.route === 'delta')).toHaveLength(1);
    const listings = graph.filter((r) => r.route === 'children').length;
    expect(listings).toBeLessThanOrEqual(10);
    expect(graph.length).toBeLessThanOrEqual(30);
    expect(await e.shareFiles(TARGET)).toEqual(e.libraryFiles('Lib'));
    if (FULL)
      process.stdout.write(
        `[measure] SharePoint product path: ${files} files (8 KiB) in ${(jobMs / 1000).toFixed(1)} s job = ` +
          `${Math.round(files / (jobMs / 1000))} files/s (${(endToEndMs / 1000).toFixed(1)} s end to end); ` +
          `incremental (10 changes) ${(incMs / 1000).toFixed(1)} s end to end, ${graph.length} Graph requests ` +
          `(1 delta page, ${listings} folder listings)\n`,
      );
  }, 600_000);
});
