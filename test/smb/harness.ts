import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from '@jest/globals';
import { loadConfig } from '@scaidrive/core';
import type { FileTree } from '@scaidrive/sync';
import { composeWorker, type WorkerRuntime } from '@scaidrive/worker';
import { captureLogger, startSamba, type SambaOptions, type SambaServer } from '@scaidrive/testkit';
import { bearer, startApi, type ApiHarness } from '../api/harness.js';

/**
 * End to end for SMB connectors: a private Samba, the API (composeApi, default drivers: the SMB
 * probe) and a real worker (composeWorker: pg-boss, the engine, the share store; the SMB source is
 * registered by default) on one test database.
 */
export interface SmbE2E {
  samba: SambaServer;
  api: ApiHarness;
  worker: WorkerRuntime;
  /** ScaiDrive side below `root` (edits made through it count as a user's edits). */
  target(root: string): FileTree;
  /** Files (path → SHA-256) and folders below `root` in the ScaiDrive share. */
  shareTree(root: string): Promise<TreeSnapshot>;
  /** Files and folders of a folder in the Samba share, read from disk (the ground truth). */
  smbTree(share: string, rel: string): TreeSnapshot;
  createConnector(over?: Record<string, unknown>): Promise<string>;
  /** POST …/sync and wait for the job to end; returns the job row (with its summary). */
  sync(id: string, query?: string): Promise<JobRow>;
  /** Several syncs at once (different connectors). */
  syncAll(ids: string[]): Promise<JobRow[]>;
  close(): Promise<void>;
}

export interface TreeSnapshot {
  files: Record<string, string>;
  folders: string[];
}

export interface JobRow {
  id: string;
  status: string;
  message: string | null;
  filesScanned: number;
  filesSynced: number;
  bytesTransferred: bigint | number;
  errorCount: number;
  conflicts: number;
  deletes: number;
  summary: {
    plan?: Record<string, number>;
    errors?: { path: string; code: string; message: string }[];
    unmappedPrincipals?: { kind: string; id: string; name?: string }[];
    unmappedPrincipalCount?: number;
    progress?: Record<string, number>;
  } | null;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes a file into the ScaiDrive side (as a user would, through the share store). */
export async function putScaiDrive(
  tree: FileTree,
  rel: string,
  content: string | Buffer,
  mtimeMs = Date.now(),
): Promise<void> {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const parent = rel.split('/').slice(0, -1).join('/');
  if (parent) await tree.mkdir(parent);
  await tree.write(rel, Readable.from([data]), { size: data.length, mtimeMs });
}

export async function startSmbE2E(
  options: { samba?: SambaOptions; env?: Record<string, string> } = {},
): Promise<SmbE2E> {
  const samba = await startSamba(options.samba);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'smb-e2e-'));
  const env = { SCHEDULER_ENABLED: 'false', HOST: '127.0.0.1', ...options.env };
  let api: ApiHarness | undefined;
  let worker: WorkerRuntime | undefined;
  try {
    api = await startApi(env);
    worker = await composeWorker({
      config: {
        ...loadConfig({
          WORKER_CONCURRENCY: '4',
          TRANSFER_CONCURRENCY: '4',
          DATABASE_POOL_SIZE: '8',
          ...env,
          DATABASE_URL: api.db.url,
          DATA_DIR: dataDir,
        }),
        secretKeys: api.config.secretKeys,
      },
      logger: captureLogger('warn').logger,
      databaseUrl: api.db.url,
      secretKeys: api.config.secretKeys!,
    });
    await worker.start({ healthPort: 0 });
  } catch (err) {
    await worker?.shutdown().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await samba.cleanup();
    throw err;
  }
  const a = api;
  const w = worker;
  const jobRow = async (jobId: string): Promise<JobRow> =>
    (await a.db.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } })) as unknown as JobRow;
  const startSync = async (id: string, query = ''): Promise<string> => {
    for (let i = 0; ; i++) {
      const res = await a.http
        .post(`/api/v1/smb-connectors/${id}/sync${query}`)
        .set(bearer(a.t1.adminToken));
      // The previous job may still be finishing its bookkeeping.
      if (res.status === 409 && i < 50) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      expect(res.status).toBe(202);
      return res.body.job_id as string;
    }
  };
  const waitJob = async (jobId: string): Promise<JobRow> => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const job = await jobRow(jobId);
      if (['completed', 'failed', 'cancelled'].includes(job.status)) {
        // The connector row is updated right after the job row.
        await new Promise((r) => setTimeout(r, 50));
        return job;
      }
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish: ${job.status}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const e: SmbE2E = {
    samba,
    api: a,
    worker: w,
    target(root) {
      return w.drive.shareTree({
        tenantId: a.t1.tenantId,
        shareId: a.t1.shareId,
        rootPath: root,
        origin: 'test:user',
        actorUserId: a.t1.adminId,
      });
    },
    async shareTree(root) {
      const t = e.target(root);
      const snap: TreeSnapshot = { files: {}, folders: [] };
      const walk = async (rel: string) => {
        for await (const x of t.list(rel)) {
          if (x.kind === 'folder') {
            snap.folders.push(x.path);
            await walk(x.path);
          } else snap.files[x.path] = sha256(await readAll((await t.read(x.path)).stream));
        }
      };
      await walk('');
      snap.folders.sort();
      return snap;
    },
    smbTree(share, rel) {
      const rootDir = samba.localPath(share, rel);
      const snap: TreeSnapshot = { files: {}, folders: [] };
      const walk = (dir: string, prefix: string) => {
        for (const name of readdirSync(dir)) {
          const p = prefix ? `${prefix}/${name}` : name;
          const abs = path.join(dir, name);
          if (lstatSync(abs).isDirectory()) {
            snap.folders.push(p);
            walk(abs, p);
          } else snap.files[p] = sha256(readFileSync(abs));
        }
      };
      walk(rootDir, '');
      snap.folders.sort();
      return snap;
    },
    async createConnector(over = {}) {
      const res = await a.http
        .post('/api/v1/smb-connectors')
        .set(bearer(a.t1.adminToken))
        .send({
          name: 'Fileserver',
          server_host: '127.0.0.1',
          server_port: samba.port,
          share_name: 'data',
          base_path: '',
          domain: samba.workgroup,
          username: samba.user.username,
          password: samba.user.password,
          target_share_id: a.t1.shareId,
          target_path: '/From Fileserver',
          sync_direction: 'bidirectional',
          sync_permissions: false,
          sync_hidden_files: false,
          sync_system_files: false,
          conflict_resolution: 'LAST_WRITER_WINS',
          sync_interval_minutes: 0,
          ...over,
        });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
      return res.body.id as string;
    },
    async sync(id, query = '') {
      return waitJob(await startSync(id, query));
    },
    async syncAll(ids) {
      const jobs = await Promise.all(ids.map((id) => startSync(id)));
      return Promise.all(jobs.map(waitJob));
    },
    async close() {
      await w.shutdown().catch(() => undefined);
      await a.close().catch(() => undefined);
      await samba.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return e;
}
