import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newId } from '@scaidrive/core';
import { QUEUE_CONNECTOR_SYNC } from '@scaidrive/jobs';
import { bearer, expectError, startApi, type ApiHarness } from './harness.js';
import { smbBody } from './fixtures.js';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => {
  await h?.close();
});

const auth = () => bearer(h.t1.adminToken);
const smb = '/api/v1/smb-connectors';

async function connector(over: Record<string, unknown> = {}): Promise<string> {
  const res = await h.http.post(smb).set(auth()).send(smbBody(h.t1.shareId, over));
  expect(res.status).toBe(201);
  return res.body.id;
}

async function queueState(connectorId: string): Promise<string[]> {
  const rows = await h.db.prisma.$queryRawUnsafe<{ state: string }[]>(
    `SELECT state::text FROM pgboss.job WHERE name = $1 AND singleton_key = $2 ORDER BY created_on`,
    QUEUE_CONNECTOR_SYNC,
    connectorId,
  );
  return rows.map((r) => r.state);
}

describe('POST …/sync', () => {
  it('202 {job_id, started_at}: job row + queue job in one go, connector queued, audited', async () => {
    const id = await connector();
    const res = await h.http.post(`${smb}/${id}/sync`).set(auth());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      job_id: expect.stringMatching(/^job_/),
      started_at: expect.any(String),
      full_sync: true,
    });
    const job = await h.db.prisma.syncJob.findUnique({ where: { id: res.body.job_id } });
    expect(job).toMatchObject({
      status: 'queued',
      trigger: 'manual',
      fullSync: true,
      connectorId: id,
    });
    const q = await h.runtime.boss.findJobs<any>(QUEUE_CONNECTOR_SYNC, {
      id: job!.queueJobId!,
    } as any);
    expect(q[0]?.data).toMatchObject({
      job_id: job!.id,
      connector_id: id,
      tenant_id: h.t1.tenantId,
      full_sync: true,
      trigger: 'manual',
    });
    const c = await h.http.get(`${smb}/${id}`).set(auth());
    expect(c.body.status).toBe('queued');
    expect(
      await h.db.prisma.auditEvent.count({
        where: { resourceId: id, action: 'connector.sync_requested' },
      }),
    ).toBe(1);
  });

  it('409 CONNECTOR_SYNC_IN_PROGRESS naming the queued job', async () => {
    const id = await connector();
    const first = await h.http.post(`${smb}/${id}/sync`).set(auth());
    const second = await h.http.post(`${smb}/${id}/sync?full_sync=true`).set(auth());
    const e = expectError(second, 409, 'CONNECTOR_SYNC_IN_PROGRESS');
    expect(e.details).toEqual({ job_id: first.body.job_id });
    expect(e.message).toContain(first.body.job_id);
    expect(await h.db.prisma.syncJob.count({ where: { connectorId: id } })).toBe(1);
  });

  it('exactly one of N simultaneous requests wins', async () => {
    const id = await connector();
    const N = 12;
    const results = await Promise.all(
      Array.from({ length: N }, () => h.http.post(`${smb}/${id}/sync`).set(auth())),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(N - 1);
    const winner = results.find((r) => r.status === 202)!.body.job_id;
    for (const r of results.filter((x) => x.status === 409))
      expect(r.body.error.details.job_id).toBe(winner);
    expect(await h.db.prisma.syncJob.count({ where: { connectorId: id } })).toBe(1);
    expect(await queueState(id)).toEqual(['created']);
  });

  it('full_sync=false after the first run; confirm_deletes needs full_sync', async () => {
    const id = await connector();
    await h.db.prisma.connector.update({ where: { id }, data: { fullSyncRequired: false } });
    expectError(
      await h.http.post(`${smb}/${id}/sync?confirm_deletes=true`).set(auth()),
      400,
      'VALIDATION_ERROR',
    );
    expectError(
      await h.http.post(`${smb}/${id}/sync?full_sync=maybe`).set(auth()),
      400,
      'VALIDATION_ERROR',
    );
    expect(await h.db.prisma.syncJob.count({ where: { connectorId: id } })).toBe(0);
    const ok = await h.http
      .post(`${smb}/${id}/sync?full_sync=true&confirm_deletes=true`)
      .set(auth());
    expect(ok.status).toBe(202);
    const job = await h.db.prisma.syncJob.findUnique({ where: { id: ok.body.job_id } });
    expect(job).toMatchObject({ fullSync: true, confirmDeletes: true });
  });

  it('a disabled connector answers 409 CONFLICT', async () => {
    const id = await connector({ enabled: false });
    expectError(await h.http.post(`${smb}/${id}/sync`).set(auth()), 409, 'CONFLICT');
  });
});

describe('jobs', () => {
  it('lists newest first with total, filters by status, gets one with live counters', async () => {
    const id = await connector();
    const r = await h.http.post(`${smb}/${id}/sync`).set(auth());
    const jobId = r.body.job_id;
    const old = newId('job');
    await h.db.prisma.syncJob.create({
      data: {
        id: old,
        tenantId: h.t1.tenantId,
        connectorId: id,
        status: 'completed',
        trigger: 'schedule',
        createdAt: new Date(Date.now() - 3600_000),
        startedAt: new Date(Date.now() - 3600_000),
        finishedAt: new Date(Date.now() - 3000_000),
        filesScanned: 10,
        filesSynced: 7,
        bytesTransferred: 5_000_000_000n,
      },
    });
    const list = await h.http.get(`${smb}/${id}/jobs`).set(auth());
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.jobs.map((j: any) => j.id)).toEqual([jobId, old]);
    expect(list.body.jobs[1]).toMatchObject({
      status: 'completed',
      files_synced: 7,
      bytes_transferred: 5_000_000_000,
    });
    const done = await h.http.get(`${smb}/${id}/jobs?status=completed&limit=10`).set(auth());
    expect(done.body).toMatchObject({ total: 1, jobs: [{ id: old }] });
    await h.db.prisma.syncJob.update({
      where: { id: jobId },
      data: { status: 'running', filesScanned: 42, startedAt: new Date() },
    });
    const one = await h.http.get(`${smb}/${id}/jobs/${jobId}`).set(auth());
    expect(one.body).toMatchObject({ id: jobId, status: 'running', files_scanned: 42 });
    expectError(
      await h.http.get(`${smb}/${id}/jobs/${newId('job')}`).set(auth()),
      404,
      'NOT_FOUND',
    );
    expectError(await h.http.get(`${smb}/${id}/jobs/job_bad`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(
      await h.http.get(`${smb}/${id}/jobs?status=running,failed`).set(auth()),
      400,
      'VALIDATION_ERROR',
    );
  });

  it('job detail carries the end-of-run summary in the API form; lists leave it out', async () => {
    const id = await connector();
    const stored = {
      status: 'failed',
      mode: 'full',
      modeReason: 'no_cursor',
      feedsUsed: ['source', 'sideways'],
      durationMs: 1234,
      progress: { filesScanned: 3 },
      plan: { copy_to_target: 2, delete_on_target: 9, bogus: -1 },
      errors: [{ path: 'a/b.txt', code: 'ACCESS_DENIED', message: 'denied' }, { path: 7 }],
      warnings: ['w1', 3],
      unmappedPrincipals: [
        { kind: 'sid', id: 'S-1-5-21-1-2-3-1105', name: 'CORP\\ann', type: 'user' },
        { kind: 'sid', id: 'S-1-5-21-1-2-3-1106' },
        { kind: 'martian', id: 'x' },
      ],
      unmappedPrincipalCount: 250,
      unmappedGrants: {
        count: 4,
        samples: [{ path: 'doc.docx', reason: 'sharing_link', detail: 'view link (anonymous)' }],
      },
      throttleWaitMs: 1500.4,
      cursors: { source: 'secret-cursor' },
      deleteSafety: { wouldDelete: 9, managedFiles: 10, limit: 5 },
      error: { code: 'DELETE_SAFETY', message: 'Would delete 9 of 10', action: 'fail_job' },
    };
    const jobId = newId('job');
    await h.db.prisma.syncJob.create({
      data: {
        id: jobId,
        tenantId: h.t1.tenantId,
        connectorId: id,
        status: 'failed',
        trigger: 'manual',
        finishedAt: new Date(),
        summary: stored,
      },
    });
    // Response validation is on in these tests: the odd entries above must not reach the body.
    const one = await h.http.get(`${smb}/${id}/jobs/${jobId}`).set(auth());
    expect(one.status).toBe(200);
    expect(one.body.summary).toEqual({
      mode: 'full',
      mode_reason: 'no_cursor',
      feeds_used: ['source'],
      duration_ms: 1234,
      plan: { copy_to_target: 2, delete_on_target: 9 },
      errors: [{ path: 'a/b.txt', code: 'ACCESS_DENIED', message: 'denied' }],
      warnings: ['w1'],
      unmapped_principals: [
        { kind: 'sid', id: 'S-1-5-21-1-2-3-1105', name: 'CORP\\ann', type: 'user' },
        { kind: 'sid', id: 'S-1-5-21-1-2-3-1106', name: null, type: null },
      ],
      unmapped_principal_count: 250,
      unmapped_grants: {
        count: 4,
        samples: [{ path: 'doc.docx', reason: 'sharing_link', detail: 'view link (anonymous)' }],
      },
      throttle_wait_ms: 1500,
      delete_safety: { would_delete: 9, managed_files: 10, limit: 5 },
      error: { code: 'DELETE_SAFETY', message: 'Would delete 9 of 10' },
    });
    // Cursors are the worker's business, not the operator's.
    expect(JSON.stringify(one.body)).not.toContain('secret-cursor');

    const list = await h.http.get(`${smb}/${id}/jobs`).set(auth());
    expect(list.status).toBe(200);
    expect(list.body.jobs[0].id).toBe(jobId);
    expect(list.body.jobs[0]).not.toHaveProperty('summary');

    // A queued job (no summary yet) and a row with a summary of another shape: null, still valid.
    const r = await h.http.post(`${smb}/${id}/sync`).set(auth());
    const queued = await h.http.get(`${smb}/${id}/jobs/${r.body.job_id}`).set(auth());
    expect(queued.status).toBe(200);
    expect(queued.body.summary).toBeNull();
    await h.db.prisma.syncJob.update({ where: { id: jobId }, data: { summary: [1, 2] } });
    const odd = await h.http.get(`${smb}/${id}/jobs/${jobId}`).set(auth());
    expect(odd.status).toBe(200);
    expect(odd.body.summary).toBeNull();
  });

  it('a job of another connector is 404 under this one', async () => {
    const a = await connector();
    const b = await connector();
    const r = await h.http.post(`${smb}/${a}/sync`).set(auth());
    expectError(
      await h.http.get(`${smb}/${b}/jobs/${r.body.job_id}`).set(auth()),
      404,
      'NOT_FOUND',
    );
    expectError(
      await h.http.post(`${smb}/${b}/jobs/${r.body.job_id}/cancel`).set(auth()),
      404,
      'NOT_FOUND',
    );
  });

  it('cancelling a queued job cancels it in the queue at once and frees the connector', async () => {
    const id = await connector();
    const r = await h.http.post(`${smb}/${id}/sync`).set(auth());
    const c = await h.http.post(`${smb}/${id}/jobs/${r.body.job_id}/cancel`).set(auth());
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({
      status: 'cancelled',
      cancel_requested_at: expect.any(String),
      finished_at: expect.any(String),
    });
    expect(await queueState(id)).toEqual(['cancelled']);
    expect((await h.http.get(`${smb}/${id}`).set(auth())).body.status).toBe('idle');
    expectError(
      await h.http.post(`${smb}/${id}/jobs/${r.body.job_id}/cancel`).set(auth()),
      409,
      'CONFLICT',
    );
    // the slot is free again
    expect((await h.http.post(`${smb}/${id}/sync`).set(auth())).status).toBe(202);
  });

  it('cancelling a running job sets cancel_requested_at and leaves the queue job to the worker', async () => {
    const id = await connector();
    const r = await h.http.post(`${smb}/${id}/sync`).set(auth());
    // Play the worker: claim the queue jobs (earlier tests left some) and keep ours active.
    const claimed = await h.runtime.boss.fetch<any>(QUEUE_CONNECTOR_SYNC, { batchSize: 100 });
    const fetched = claimed.filter((j) => j.data.connector_id === id);
    expect(fetched).toHaveLength(1);
    await h.db.prisma.syncJob.update({
      where: { id: r.body.job_id },
      data: { status: 'running', startedAt: new Date() },
    });
    const c = await h.http.post(`${smb}/${id}/jobs/${r.body.job_id}/cancel`).set(auth());
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'running', cancel_requested_at: expect.any(String) });
    expect(await queueState(id)).toEqual(['active']);
    expectError(
      await h.http.post(`${smb}/${id}/sync`).set(auth()),
      409,
      'CONNECTOR_SYNC_IN_PROGRESS',
    );
    await h.runtime.boss.complete(QUEUE_CONNECTOR_SYNC, fetched[0]!.id);
  });

  it('disabling cancels the queued job; deleting removes everything queued', async () => {
    const id = await connector();
    const r = await h.http.post(`${smb}/${id}/sync`).set(auth());
    await h.http.patch(`${smb}/${id}`).set(auth()).send({ enabled: false });
    expect((await h.db.prisma.syncJob.findUnique({ where: { id: r.body.job_id } }))!.status).toBe(
      'cancelled',
    );
    expect(await queueState(id)).toEqual(['cancelled']);
    await h.http.patch(`${smb}/${id}`).set(auth()).send({ enabled: true });
    await h.http.post(`${smb}/${id}/sync`).set(auth());
    expect((await h.http.delete(`${smb}/${id}`).set(auth())).status).toBe(204);
    expect(await queueState(id)).toEqual(['cancelled', 'cancelled']);
  });
});
