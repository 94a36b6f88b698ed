import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from '@jest/globals';
import { loadConfig } from '@scaidrive/core';
import { composeWorker, type WorkerRuntime } from '@scaidrive/worker';
import { captureLogger } from '@scaidrive/testkit';
import type { FileTree } from '@scaidrive/sync';
import type { GraphEmulatorOptions } from '../graph-emulator/index.js';
import { createSharePointDrivers } from '../../apps/api/src/drivers/sharepoint.js';
import { sharePointSource } from '../../apps/worker/src/sources/sharepoint.js';
import { bearer, startApi, type ApiHarness } from '../api/harness.js';
import { readAll, startSharePointFixture, type SpFixture } from './fixture.js';

/** The API + a real worker (pg-boss, engine, share store) + the Graph/Entra emulator. */
export interface E2E {
  fx: SpFixture;
  api: ApiHarness;
  worker: WorkerRuntime;
  publicBaseUrl: string;
  target(root: string): FileTree;
  shareFiles(root: string): Promise<Record<string, string>>;
  libraryFiles(prefix: string): Record<string, string>;
  createConnector(over?: Record<string, unknown>): Promise<string>;
  syncAndWait(
    id: string,
    query?: string,
  ): Promise<{ id: string; status: string; message: string | null; conflicts?: number }>;
  /** `GET …/jobs/{job_id}`: the job with its end-of-run `summary`. */
  jobDetail(id: string, jobId: string): Promise<Record<string, any>>;
  close(): Promise<void>;
}

export async function startE2E(options: GraphEmulatorOptions = {}): Promise<E2E> {
  const publicBaseUrl = 'http://127.0.0.1:9';
  const fx = await startSharePointFixture({
    maxPageSize: 50,
    accessTokenLifetimeSec: 120,
    ...options,
  });
  fx.emu.model
    .tenant(fx.tenantId)
    .apps.get(fx.clientId)!
    .redirectUris.push(`${publicBaseUrl}/api/v1/sharepoint-connectors/oauth/callback`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sp-e2e-'));
  const env = {
    GRAPH_BASE_URL: fx.emu.graphBaseUrl,
    AZURE_AUTHORITY_HOST: fx.emu.authorityHost,
    PUBLIC_BASE_URL: publicBaseUrl,
    SCHEDULER_ENABLED: 'false',
    HOST: '127.0.0.1',
  };
  const api = await startApi(env, {
    drivers: createSharePointDrivers({
      graphBaseUrl: fx.emu.graphBaseUrl,
      authorityHost: fx.emu.authorityHost,
    }),
  });
  const worker = await composeWorker({
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

  const e: E2E = {
    fx,
    api,
    worker,
    publicBaseUrl,
    target(root) {
      return worker.drive.shareTree({
        tenantId: api.t1.tenantId,
        shareId: api.t1.shareId,
        rootPath: root,
        origin: 'test',
        actorUserId: api.t1.adminId,
      });
    },
    async shareFiles(root) {
      const t = e.target(root);
      const out: Record<string, string> = {};
      const walk = async (rel: string) => {
        for await (const x of t.list(rel)) {
          if (x.kind === 'folder') await walk(x.path);
          else out[x.path] = (await readAll((await t.read(x.path)).stream)).toString();
        }
      };
      await walk('');
      return out;
    },
    libraryFiles(prefix) {
      const out: Record<string, string> = {};
      for (const [p, it] of fx.emu.model.listAll(fx.driveId))
        if (it.kind === 'file' && p.startsWith(`${prefix}/`))
          out[p.slice(prefix.length + 1)] = it.content.toString();
      return out;
    },
    async createConnector(over = {}) {
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
          target_path: '/From SharePoint',
          sync_direction: 'bidirectional',
          conflict_resolution: 'LAST_WRITER_WINS',
          sync_interval_minutes: 0,
          ...over,
        });
      expect(res.status).toBe(201);
      return res.body.id as string;
    },
    async syncAndWait(id, query = '') {
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
        const job = (
          jobs.body.jobs as { id: string; status: string; message: string | null }[]
        ).find((j) => j.id === jobId);
        if (job && ['completed', 'failed', 'cancelled'].includes(job.status)) return job;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('sync job did not finish');
    },
    async jobDetail(id, jobId) {
      const res = await api.http
        .get(`/api/v1/sharepoint-connectors/${id}/jobs/${jobId}`)
        .set(bearer(api.t1.adminToken));
      expect(res.status).toBe(200);
      return res.body as Record<string, any>;
    },
    async close() {
      await worker.shutdown();
      await api.close();
      await fx.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return e;
}
