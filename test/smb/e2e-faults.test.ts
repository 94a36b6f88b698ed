import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEMP_PREFIX } from '@scaidrive/connector-smb';
import { putScaiDrive, sha256, startSmbE2E, type SmbE2E } from './harness.js';

/**
 * The SMB server goes away in the middle of a bidirectional sync (smbd killed and restarted): the
 * pooled session reconnects, whatever failed is retried, and afterwards both trees are identical —
 * no half-written file under a real name, nothing lost.
 */
let e: SmbE2E;
const N = 12;
const SIZE = 3 * 1024 * 1024;
const fromSmb = new Map<string, string>();
const fromSd = new Map<string, string>();

beforeAll(async () => {
  e = await startSmbE2E({ env: { JOB_RETRY_DELAY_SECONDS: '1', TRANSFER_CONCURRENCY: '2' } });
  const dir = e.samba.localPath('data', 'faults');
  mkdirSync(dir);
  chownSync(dir, e.samba.user.uid, 100);
  for (let i = 0; i < N; i++) {
    const data = randomBytes(SIZE);
    const p = path.join(dir, `smb-${i}.bin`);
    writeFileSync(p, data);
    chownSync(p, e.samba.user.uid, 100);
    fromSmb.set(`smb-${i}.bin`, sha256(data));
  }
}, 120_000);

afterAll(async () => {
  await e?.close();
});

describe('connection drop during a sync', () => {
  it('reconnects, retries and converges without losing or tearing a file', async () => {
    const id = await e.createConnector({ base_path: 'faults', target_path: '/Faults' });
    const t = e.target('/Faults');
    await t.mkdir('');
    for (let i = 0; i < N; i++) {
      const data = randomBytes(SIZE);
      await putScaiDrive(t, `sd-${i}.bin`, data, Date.now() - 60_000);
      fromSd.set(`sd-${i}.bin`, sha256(data));
    }
    const res = await e.api.http
      .post(`/api/v1/smb-connectors/${id}/sync`)
      .set({ Authorization: `Bearer ${e.api.t1.adminToken}` });
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;
    // Wait until transfers are under way, then pull the server out from under them.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = await e.api.db.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      if (job.status === 'running' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 400));
    await e.samba.kill();
    await new Promise((r) => setTimeout(r, 1500));
    await e.samba.start();
    // The interrupted job finishes (after per-file retries or a job retry); then converge.
    for (;;) {
      const job = await e.api.db.prisma.syncJob.findUniqueOrThrow({ where: { id: jobId } });
      if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
      if (Date.now() > deadline + 120_000) throw new Error('the interrupted job did not end');
      await new Promise((r) => setTimeout(r, 200));
    }
    let last = await e.sync(id);
    for (let i = 0; i < 3 && (last.status !== 'completed' || last.filesSynced > 0); i++)
      last = await e.sync(id);
    expect(last.status).toBe('completed');
    expect(last.errorCount).toBe(0);
    expect(last.filesSynced).toBe(0);
    const want = Object.fromEntries([...fromSmb, ...fromSd].sort(([a], [b]) => (a < b ? -1 : 1)));
    const smb = e.smbTree('data', 'faults').files;
    // A write cut off by the drop may leave the connector's temporary file behind: never listed,
    // removed once stale — but no real name ever holds a partial file.
    const real = Object.fromEntries(
      Object.entries(smb).filter(([p]) => !p.startsWith(TEMP_PREFIX)),
    );
    expect(real).toEqual(want);
    expect((await e.shareTree('/Faults')).files).toEqual(want);
    const temps = readdirSync(e.samba.localPath('data', 'faults')).filter((n) =>
      n.startsWith(TEMP_PREFIX),
    );
    expect(temps.length).toBeLessThanOrEqual(2);
  }, 300_000);
});

describe('a source host the deny-list covers by the time of the sync', () => {
  it('fails the job at connect, with the reason, and is not retried', async () => {
    const id = await e.createConnector({ base_path: 'faults', target_path: '/Denied' });
    // Saved while allowed; now the host is one of the denied (as after a deny-list change, or a
    // name that resolves elsewhere now).
    await e.api.db.prisma.connector.update({
      where: { id },
      data: { serverHost: '169.254.169.254' },
    });
    const t0 = Date.now();
    const job = await e.sync(id);
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/169\.254\.169\.254.*deny-list/);
    // No 6× retry with backoff: configuration does not improve by retrying.
    expect(Date.now() - t0).toBeLessThan(20_000);
    const c = await e.api.db.prisma.connector.findUnique({ where: { id } });
    expect(c?.status).toBe('error');
  });
});
