import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { bearer } from '../api/harness.js';
import { startE2E, type E2E } from './e2e-harness.js';

// End to end: the API and a real worker against the emulator — sync, incremental, 410, storm, user_auth.
let e: E2E;
const TARGET = '/From SharePoint';

beforeAll(async () => {
  e = await startE2E();
  const m = e.fx.emu.model;
  m.putFile(e.fx.driveId, 'Lib/readme.txt', 'read me');
  for (let i = 0; i < 12; i++) m.putFile(e.fx.driveId, `Lib/docs/d${i}.txt`, `doc ${i}`);
  m.putFile(e.fx.driveId, 'Lib/old/keep.txt', 'keep');
  m.putFile(e.fx.driveId, 'Lib/trash/x.txt', 'x');
}, 60_000);

afterAll(async () => {
  await e?.close();
  expect(e.fx.guard.violations).toEqual([]);
});

describe('SharePoint connector end to end', () => {
  let id = '';

  it('creates, tests and fully syncs a connector; resolves site and drive ids', async () => {
    id = await e.createConnector();
    const test = await e.api.http
      .post(`/api/v1/sharepoint-connectors/${id}/test`)
      .set(bearer(e.api.t1.adminToken));
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ success: true, error: null });
    const job = await e.syncAndWait(id);
    expect(job.status).toBe('completed');
    expect(await e.shareFiles(TARGET)).toEqual(e.libraryFiles('Lib'));
    const c = await e.api.http
      .get(`/api/v1/sharepoint-connectors/${id}`)
      .set(bearer(e.api.t1.adminToken));
    expect(c.body.drive_id).toBe(e.fx.driveId);
    expect(c.body.site_id).toMatch(/^contoso\.sharepoint\.com,/);
  });

  it('incremental after adds, edits, renames, moves and a folder delete', async () => {
    const m = e.fx.emu.model;
    m.putFile(e.fx.driveId, 'Lib/new.txt', 'new');
    m.putFile(e.fx.driveId, 'Lib/docs/d1.txt', 'doc 1 edited');
    m.move(e.fx.driveId, 'Lib/old', 'Lib/renamed');
    m.move(e.fx.driveId, 'Lib/docs/d2.txt', 'Lib/moved-d2.txt');
    m.remove(e.fx.driveId, 'Lib/trash');
    const before = e.fx.emu.graphRequests().length;
    const job = await e.syncAndWait(id);
    expect(job.status).toBe('completed');
    expect(await e.shareFiles(TARGET)).toEqual(e.libraryFiles('Lib'));
    expect(e.fx.emu.graphRequests(before).filter((r) => r.route === 'delta')).toHaveLength(1);
  });

  it('a delta token expired (410) → full walk, reconciled', async () => {
    e.fx.emu.model.putFile(e.fx.driveId, 'Lib/late.txt', 'late');
    e.fx.emu.model.expireDeltaTokens(e.fx.driveId);
    const job = await e.syncAndWait(id);
    expect(job.status).toBe('completed');
    expect(await e.shareFiles(TARGET)).toEqual(e.libraryFiles('Lib'));
  });

  it('completes under a throttling storm', async () => {
    for (let i = 0; i < 8; i++)
      e.fx.emu.model.putFile(e.fx.driveId, `Lib/storm/s${i}.txt`, `s${i}`);
    const off = e.fx.emu.addFault({
      status: 429,
      retryAfterSec: 0.03,
      probability: 0.3,
      routes: ['delta', 'children', 'item', 'download', 'sites'],
    });
    let job;
    try {
      job = await e.syncAndWait(id);
      expect(job.status).toBe('completed');
    } finally {
      off();
    }
    // The job says how long it was held back.
    expect((await e.jobDetail(id, job.id)).summary.throttle_wait_ms).toBeGreaterThan(0);
    expect(await e.shareFiles(TARGET)).toEqual(e.libraryFiles('Lib'));
  });

  it('user_auth: authorize → callback → sync → refresh → revoked grant puts the connector in error', async () => {
    const uid = await e.createConnector({ auth_type: 'user_auth', target_path: '/User Auth' });
    const auth = await e.api.http
      .post(`/api/v1/sharepoint-connectors/${uid}/authorize`)
      .set(bearer(e.api.t1.adminToken));
    expect(auth.status).toBe(200);
    const signIn = await fetch(auth.body.authorization_url, {
      redirect: 'manual',
      headers: { 'x-emulator-user': e.fx.alice.id },
    });
    const back = new URL(signIn.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe(auth.body.state);
    const cb = await e.api.http.get(`${back.pathname}${back.search}`);
    expect(cb.status).toBeLessThan(400);
    expect((await e.syncAndWait(uid)).status).toBe('completed');
    // Access tokens live 120 s: the second run refreshes silently.
    expect((await e.syncAndWait(uid)).status).toBe('completed');
    e.fx.emu.entra.revokeUserGrants(e.fx.alice.id);
    expect((await e.syncAndWait(uid)).status).toBe('failed');
    const c = await e.api.http
      .get(`/api/v1/sharepoint-connectors/${uid}`)
      .set(bearer(e.api.t1.adminToken));
    expect(c.body.status).toBe('error');
    expect(String(c.body.status_message)).toMatch(/re-authorize/i);
  });
});
