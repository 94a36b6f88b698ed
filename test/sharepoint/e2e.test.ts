import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@scaidrive/core';
import { composeWorker, type WorkerRuntime } from '@scaidrive/worker';
import { captureLogger } from '@scaidrive/testkit';
import type { FileTree } from '@scaidrive/sync';
import { createSharePointDrivers } from '../../apps/api/src/drivers/sharepoint.js';
import { sharePointSource } from '../../apps/worker/src/sources/sharepoint.js';
import { bearer, startApi, type ApiHarness } from '../api/harness.js';
import { readAll, startSharePointFixture, type SpFixture } from './fixture.js';

/**
 * End to end: the API (connector CRUD, /test, /sync, /authorize + callback) and a real worker
 * (pg-boss, the engine, the ScaiDrive share store) against the Graph/Entra emulator.
 */
let fx: SpFixture;
let api: ApiHarness;
let worker: WorkerRuntime;
const PUBLIC = 'http://127.0.0.1:9';
const TARGET = '/From SharePoint';
const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-e2e-'));

beforeAll(async () => {
  fx = await startSharePointFixture({ maxPageSize: 50, accessTokenLifetimeSec: 120 });
  fx.emu.model
    .tenant(fx.tenantId)
    .apps.get(fx.clientId)!
    .redirectUris.push(`${PUBLIC}/api/v1/sharepoint-connectors/oauth/callback`);
  const env = {
    GRAPH_BASE_URL: fx.emu.graphBaseUrl,
    AZURE_AUTHORITY_HOST: fx.emu.authorityHost,
    PUBLIC_BASE_URL: PUBLIC,
    SCHEDULER_ENABLED: 'false',
    HOST: '127.0.0.1',
  };
  api = await startApi(env, {
    drivers: createSharePointDrivers({
      graphBaseUrl: fx.emu.graphBaseUrl,
      authorityHost: fx.emu.authorityHost,
    }),
  });
  worker = await composeWorker({
    config: {
      ...loadConfig({ ...env, DATABASE_URL: api.db.url, DATA_DIR: dataDir }),
      secretKeys: api.config.secretKeys,
    },
    logger: captureLogger('warn').logger,
    databaseUrl: api.db.url,
    secretKeys: api.config.secretKeys!,
    sources: (r) => r.register('sharepoint', sharePointSource()),
  });
  await worker.start({ healthPort: 0 });
  const m = fx.emu.model;
  m.putFile(fx.driveId, 'Lib/readme.txt', 'read me');
  for (let i = 0; i < 12; i++) m.putFile(fx.driveId, `Lib/docs/d${i}.txt`, `doc ${i}`);
  m.putFile(fx.driveId, 'Lib/old/keep.txt', 'keep');
  m.putFile(fx.driveId, 'Lib/trash/x.txt', 'x');
}, 60_000);

afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await fx?.close();
  rmSync(dataDir, { recursive: true, force: true });
  expect(fx.guard.violations).toEqual([]);
});

function target(): FileTree {
  return worker.drive.shareTree({
    tenantId: api.t1.tenantId,
    shareId: api.t1.shareId,
    rootPath: TARGET,
    origin: 'test',
    actorUserId: api.t1.adminId,
  });
}

async function shareFiles(): Promise<Record<string, string>> {
  const t = target();
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const e of t.list(rel)) {
      if (e.kind === 'folder') await walk(e.path);
      else out[e.path] = (await readAll((await t.read(e.path)).stream)).toString();
    }
  };
  await walk('');
  return out;
}

function libraryFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, it] of fx.emu.model.listAll(fx.driveId))
    if (it.kind === 'file' && p.startsWith('Lib/')) out[p.slice(4)] = it.content.toString();
  return out;
}

async function createConnector(over: Record<string, unknown> = {}): Promise<string> {
  const res = await api.http
    .post('/api/v1/sharepoint-connectors')
    .set(bearer(api.t1.adminToken))
    .send({
      name: 'Marketing',
      site_url: fx.siteUrl,
      library_name: 'Documents',
      base_path: 'Lib',
      azure_tenant_id: fx.tenantId,
      azure_client_id: fx.clientId,
      azure_client_secret: fx.secret,
      auth_type: 'app_auth',
      target_share_id: api.t1.shareId,
      target_path: TARGET,
      sync_direction: 'bidirectional',
      conflict_resolution: 'LAST_WRITER_WINS',
      sync_interval_minutes: 0,
      ...over,
    });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function syncAndWait(
  id: string,
  query = '',
): Promise<{ status: string; message: string | null; [k: string]: unknown }> {
  const res = await api.http
    .post(`/api/v1/sharepoint-connectors/${id}/sync${query}`)
    .set(bearer(api.t1.adminToken));
  expect(res.status).toBe(202);
  const jobId = res.body.job_id as string;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const jobs = await api.http
      .get(`/api/v1/sharepoint-connectors/${id}/jobs`)
      .set(bearer(api.t1.adminToken));
    const job = (jobs.body.jobs as { id: string; status: string; message: string | null }[]).find(
      (j) => j.id === jobId,
    );
    if (job && ['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('sync job did not finish');
}

describe('SharePoint connector end to end', () => {
  let id = '';

  it('creates, tests and fully syncs a connector; resolves site and drive ids', async () => {
    id = await createConnector();
    const test = await api.http
      .post(`/api/v1/sharepoint-connectors/${id}/test`)
      .set(bearer(api.t1.adminToken));
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ success: true, error: null });
    const job = await syncAndWait(id);
    expect(job.status).toBe('completed');
    expect(await shareFiles()).toEqual(libraryFiles());
    const c = await api.http
      .get(`/api/v1/sharepoint-connectors/${id}`)
      .set(bearer(api.t1.adminToken));
    expect(c.body.drive_id).toBe(fx.driveId);
    expect(c.body.site_id).toMatch(/^contoso\.sharepoint\.com,/);
  });

  it('incremental after adds, edits, renames, moves and a folder delete', async () => {
    const m = fx.emu.model;
    m.putFile(fx.driveId, 'Lib/new.txt', 'new');
    m.putFile(fx.driveId, 'Lib/docs/d1.txt', 'doc 1 edited');
    m.move(fx.driveId, 'Lib/old', 'Lib/renamed');
    m.move(fx.driveId, 'Lib/docs/d2.txt', 'Lib/moved-d2.txt');
    m.remove(fx.driveId, 'Lib/trash');
    const before = fx.emu.graphRequests().length;
    const job = await syncAndWait(id);
    expect(job.status).toBe('completed');
    expect(await shareFiles()).toEqual(libraryFiles());
    const log = fx.emu.graphRequests(before);
    expect(log.filter((r) => r.route === 'delta')).toHaveLength(1);
  });

  it('a delta token expired (410) → full walk, reconciled', async () => {
    fx.emu.model.putFile(fx.driveId, 'Lib/late.txt', 'late');
    fx.emu.model.expireDeltaTokens(fx.driveId);
    const job = await syncAndWait(id);
    expect(job.status).toBe('completed');
    expect(await shareFiles()).toEqual(libraryFiles());
  });

  it('completes under a throttling storm', async () => {
    for (let i = 0; i < 8; i++) fx.emu.model.putFile(fx.driveId, `Lib/storm/s${i}.txt`, `s${i}`);
    const off = fx.emu.addFault({
      status: 429,
      retryAfterSec: 0.03,
      probability: 0.3,
      routes: ['delta', 'children', 'item', 'download', 'sites'],
    });
    try {
      const job = await syncAndWait(id);
      expect(job.status).toBe('completed');
    } finally {
      off();
    }
    expect(await shareFiles()).toEqual(libraryFiles());
  });

  it('user_auth: authorize → callback → sync → refresh → revoked grant puts the connector in error', async () => {
    const uid = await createConnector({
      auth_type: 'user_auth',
      azure_client_secret: fx.secret,
      target_path: '/User Auth',
    });
    const auth = await api.http
      .post(`/api/v1/sharepoint-connectors/${uid}/authorize`)
      .set(bearer(api.t1.adminToken));
    expect(auth.status).toBe(200);
    const signIn = await fetch(auth.body.authorization_url, {
      redirect: 'manual',
      headers: { 'x-emulator-user': fx.alice.id },
    });
    const back = new URL(signIn.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe(auth.body.state);
    const cb = await api.http.get(`${back.pathname}${back.search}`);
    expect(cb.status).toBeLessThan(400);
    const job = await syncAndWait(uid);
    expect(job.status).toBe('completed');
    // Tokens live 120 s: the second run refreshes silently.
    expect((await syncAndWait(uid)).status).toBe('completed');
    fx.emu.entra.revokeUserGrants(fx.alice.id);
    const failed = await syncAndWait(uid);
    expect(failed.status).toBe('failed');
    const c = await api.http
      .get(`/api/v1/sharepoint-connectors/${uid}`)
      .set(bearer(api.t1.adminToken));
    expect(c.body.status).toBe('error');
    expect(String(c.body.status_message)).toMatch(/re-authorize/i);
  });
});
