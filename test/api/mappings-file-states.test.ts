import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newId } from '@scaidrive/core';
import { createGroup, createUser } from '@scaidrive/testkit';
import { bearer, expectError, startApi, type ApiHarness, type TenantFixture } from './harness.js';
import { smbBody, spBody } from './fixtures.js';

let h: ApiHarness;
let t2: TenantFixture;
let smbId: string;
let spId: string;
let alice: string;
let finance: string;
beforeAll(async () => {
  h = await startApi();
  t2 = await h.tenant('T2');
  smbId = (
    await h.http
      .post('/api/v1/smb-connectors')
      .set(bearer(h.t1.adminToken))
      .send(smbBody(h.t1.shareId))
  ).body.id;
  spId = (
    await h.http
      .post('/api/v1/sharepoint-connectors')
      .set(bearer(h.t1.adminToken))
      .send(spBody(h.t1.shareId))
  ).body.id;
  alice = (await createUser(h.db.prisma, h.t1.tenantId)).id;
  finance = (await createGroup(h.db.prisma, h.t1.tenantId, 'Finance')).id;
});
afterAll(async () => {
  await h?.close();
});

const auth = () => bearer(h.t1.adminToken);
const smbMaps = () => `/api/v1/smb-connectors/${smbId}/identity-mappings`;
const spMaps = () => `/api/v1/sharepoint-connectors/${spId}/identity-mappings`;

describe('identity mappings', () => {
  it('creates (201), lists with total, deletes (204), audits each change', async () => {
    const a = await h.http
      .post(smbMaps())
      .set(auth())
      .send({ identity_type: 'user', smb_principal: 'CORP\\alice', scaidrive_principal_id: alice });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      id: expect.stringMatching(/^map_/),
      identity_type: 'user',
      smb_principal: 'CORP\\alice',
      scaidrive_principal_id: alice,
    });
    const g = await h.http.post(smbMaps()).set(auth()).send({
      identity_type: 'group',
      smb_principal: 'S-1-5-21-1004336348-1177238915-682003330-512',
      scaidrive_principal_id: finance,
    });
    expect(g.status).toBe(201);
    const list = await h.http.get(smbMaps()).set(auth());
    expect(list.body.total).toBe(2);
    expect(list.body.identity_mappings.map((m: any) => m.id)).toEqual([a.body.id, g.body.id]);
    expect((await h.http.delete(`${smbMaps()}/${g.body.id}`).set(auth())).status).toBe(204);
    expectError(await h.http.delete(`${smbMaps()}/${g.body.id}`).set(auth()), 404, 'NOT_FOUND');
    const actions = (
      await h.db.prisma.auditEvent.findMany({
        where: { action: { startsWith: 'identity_mapping.' } },
      })
    ).map((x) => x.action);
    expect(actions.sort()).toEqual([
      'identity_mapping.created',
      'identity_mapping.created',
      'identity_mapping.deleted',
    ]);
  });

  it('the same source principal twice (any case) → 409 CONFLICT', async () => {
    await h.http
      .post(smbMaps())
      .set(auth())
      .send({ identity_type: 'user', smb_principal: 'CORP\\carol', scaidrive_principal_id: alice });
    const before = await h.db.prisma.identityMapping.count();
    const dup = await h.http
      .post(smbMaps())
      .set(auth())
      .send({ identity_type: 'user', smb_principal: 'corp\\CAROL', scaidrive_principal_id: alice });
    expectError(dup, 409, 'CONFLICT');
    expect(await h.db.prisma.identityMapping.count()).toBe(before);
  });

  it.each([
    ['not DOMAIN\\name or SID', { smb_principal: 'alice' }, 'body.smb_principal'],
    ['bad SID', { smb_principal: 'S-1-x' }, 'body.smb_principal'],
    ['unknown user', { scaidrive_principal_id: newId('usr') }, 'body.scaidrive_principal_id'],
    [
      'group id for a user mapping',
      { scaidrive_principal_id: 'GROUP' },
      'body.scaidrive_principal_id',
    ],
    ['other tenant user', { scaidrive_principal_id: 'T2USER' }, 'body.scaidrive_principal_id'],
    ['bad identity type', { identity_type: 'robot' }, 'body.identity_type'],
    ['malformed principal id', { scaidrive_principal_id: 'usr_x' }, 'body.scaidrive_principal_id'],
    ['extra field', { note: 'x' }, 'body.note'],
  ])('SMB: %s → 400', async (_l, over: Record<string, unknown>, path) => {
    const body: Record<string, unknown> = {
      identity_type: 'user',
      smb_principal: 'CORP\\dave',
      scaidrive_principal_id: alice,
      ...over,
    };
    if (over.scaidrive_principal_id === 'GROUP') body.scaidrive_principal_id = finance;
    if (over.scaidrive_principal_id === 'T2USER') body.scaidrive_principal_id = t2.adminId;
    const before = await h.db.prisma.identityMapping.count();
    const e = expectError(
      await h.http.post(smbMaps()).set(auth()).send(body),
      400,
      'VALIDATION_ERROR',
    );
    expect(e.details.map((d: any) => d.path)).toContain(path);
    expect(await h.db.prisma.identityMapping.count()).toBe(before);
  });

  it('SharePoint principals are Entra object ids (GUIDs)', async () => {
    const ok = await h.http.post(spMaps()).set(auth()).send({
      identity_type: 'user',
      smb_principal: 'AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee',
      scaidrive_principal_id: alice,
    });
    expect(ok.status).toBe(201);
    const bad = await h.http
      .post(spMaps())
      .set(auth())
      .send({ identity_type: 'user', smb_principal: 'CORP\\alice', scaidrive_principal_id: alice });
    expectError(bad, 400, 'VALIDATION_ERROR');
    const dup = await h.http.post(spMaps()).set(auth()).send({
      identity_type: 'user',
      smb_principal: 'aaaaaaaa-BBBB-cccc-dddd-eeeeeeeeeeee',
      scaidrive_principal_id: alice,
    });
    expectError(dup, 409, 'CONFLICT');
  });

  it('CSV import: all rows or none', async () => {
    const bob = (await createUser(h.db.prisma, h.t1.tenantId)).id;
    const good =
      'smb-sid,scaidrive-user-id\n' +
      `S-1-5-21-1-2-3-1104,${bob}\n` +
      `"CORP\\erin",${alice}\n` +
      `S-1-5-21-1-2-3-513,${finance}\n`;
    const r = await h.http
      .post(`${smbMaps()}/import`)
      .set(auth())
      .set('Content-Type', 'text/csv')
      .send(good);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ created: 3, unchanged: 0 });
    expect(
      r.body.identity_mappings.find((m: any) => m.scaidrive_principal_id === finance).identity_type,
    ).toBe('group');
    const again = await h.http
      .post(`${smbMaps()}/import`)
      .set(auth())
      .set('Content-Type', 'text/csv')
      .send(good);
    expect(again.body).toMatchObject({ created: 0, unchanged: 3 });
    const before = await h.db.prisma.identityMapping.count();
    const bad =
      'smb_principal,scaidrive_principal_id,identity_type\n' +
      `CORP\\frank,${alice},user\n` +
      `nonsense,${alice},user\n` +
      `CORP\\gina,${newId('usr')},user\n` +
      `CORP\\frank,${bob},user\n`;
    const e = expectError(
      await h.http
        .post(`${smbMaps()}/import`)
        .set(auth())
        .set('Content-Type', 'text/csv')
        .send(bad),
      400,
      'VALIDATION_ERROR',
    );
    expect(e.details.map((d: any) => d.path).sort()).toEqual([
      'body.line 3',
      'body.line 4',
      'body.line 5',
    ]);
    expect(await h.db.prisma.identityMapping.count()).toBe(before);
    expectError(
      await h.http
        .post(`${smbMaps()}/import`)
        .set(auth())
        .set('Content-Type', 'text/csv')
        .send('a,b\n1,2\n'),
      400,
      'VALIDATION_ERROR',
    );
  });

  it("another tenant cannot see or delete this connector's mappings", async () => {
    const m = (await h.http.get(smbMaps()).set(auth())).body.identity_mappings[0];
    expectError(await h.http.get(smbMaps()).set(bearer(t2.adminToken)), 404, 'NOT_FOUND');
    expectError(
      await h.http.delete(`${smbMaps()}/${m.id}`).set(bearer(t2.adminToken)),
      404,
      'NOT_FOUND',
    );
    expect(await h.db.prisma.identityMapping.count({ where: { id: m.id } })).toBe(1);
  });
});

describe('file states', () => {
  async function fileState(status: string, path: string, extra: Record<string, unknown> = {}) {
    return h.db.prisma.fileState.create({
      data: {
        id: newId('fst'),
        tenantId: h.t1.tenantId,
        connectorId: smbId,
        path,
        pathKey: path.toLowerCase(),
        parentKey: '',
        kind: 'file',
        status,
        sourceSize: 10n,
        sourceMtime: new Date('2026-01-02T03:04:05Z'),
        sourceVersion: 'ct1',
        targetId: newId('fil'),
        targetVersion: '2',
        targetSize: 10n,
        ...extra,
      },
    });
  }

  it('lists ordered by path with total and status filter', async () => {
    await fileState('synced', 'b.txt');
    await fileState('error', 'a.txt', { lastError: 'locked', lastErrorCode: 'ITEM_LOCKED' });
    await fileState('conflict', 'c.docx', {
      conflict: { source: { size: 11 }, target: { size: 12 } },
    });
    const all = await h.http.get(`/api/v1/smb-connectors/${smbId}/file-states`).set(auth());
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(3);
    expect(all.body.file_states.map((f: any) => f.path)).toEqual(['a.txt', 'b.txt', 'c.docx']);
    expect(all.body.file_states[0]).toMatchObject({
      status: 'error',
      last_error: 'locked',
      last_error_code: 'ITEM_LOCKED',
      source: { size: 10, modified_at: '2026-01-02T03:04:05Z', version: 'ct1' },
      target: { version: '2' },
    });
    const errs = await h.http
      .get(`/api/v1/smb-connectors/${smbId}/file-states?status=error&limit=5&offset=0`)
      .set(auth());
    expect(errs.body.total).toBe(1);
    expectError(
      await h.http.get(`/api/v1/smb-connectors/${smbId}/file-states?status=broken`).set(auth()),
      400,
      'VALIDATION_ERROR',
    );
  });

  it('resolving a MANUAL conflict records it, sets pending and requests a sync', async () => {
    const fs = await fileState('conflict', 'd.xlsx', {
      conflict: { detected_at: '2026-01-01T00:00:00Z' },
    });
    const bad = await h.http
      .post(`/api/v1/smb-connectors/${smbId}/file-states/${fs.id}/resolve`)
      .set(auth())
      .send({ resolution: 'newest' });
    expectError(bad, 400, 'VALIDATION_ERROR');
    const r = await h.http
      .post(`/api/v1/smb-connectors/${smbId}/file-states/${fs.id}/resolve`)
      .set(auth())
      .send({ resolution: 'keep_both' });
    expect(r.status).toBe(200);
    expect(r.body.file_state).toMatchObject({
      id: fs.id,
      status: 'pending',
      resolution: 'keep_both',
    });
    expect(r.body.job_id).toMatch(/^job_/);
    const row = await h.db.prisma.fileState.findUnique({ where: { id: fs.id } });
    expect(row!.conflict).toMatchObject({
      detected_at: '2026-01-01T00:00:00Z',
      resolution: 'keep_both',
      resolved_by: h.t1.adminId,
    });
    // not in conflict any more → 409
    const again = await h.http
      .post(`/api/v1/smb-connectors/${smbId}/file-states/${fs.id}/resolve`)
      .set(auth())
      .send({ resolution: 'keep_source' });
    expectError(again, 409, 'CONFLICT');
    // a second resolution while that sync is queued names the queued job
    const fs2 = await fileState('conflict', 'e.xlsx');
    const r2 = await h.http
      .post(`/api/v1/smb-connectors/${smbId}/file-states/${fs2.id}/resolve`)
      .set(auth())
      .send({ resolution: 'keep_target' });
    expect(r2.body.job_id).toBe(r.body.job_id);
    expectError(
      await h.http
        .post(`/api/v1/smb-connectors/${smbId}/file-states/${newId('fst')}/resolve`)
        .set(auth())
        .send({ resolution: 'keep_target' }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('the same endpoints under /sharepoint-connectors (success paths)', () => {
  const sp = () => `/api/v1/sharepoint-connectors/${spId}`;

  it('mappings: import, list, delete; file states: resolve; jobs: get, cancel', async () => {
    const created = await h.http.post(spMaps()).set(auth()).send({
      identity_type: 'group',
      smb_principal: '11111111-2222-3333-4444-555555555555',
      scaidrive_principal_id: finance,
    });
    expect(created.status).toBe(201);
    const imported = await h.http
      .post(`${spMaps()}/import`)
      .set(auth())
      .set('Content-Type', 'text/csv')
      .send(`entra-id,scaidrive-user-id\n99999999-8888-7777-6666-555555555555,${alice}\n`);
    expect(imported.status).toBe(201);
    expect(imported.body).toMatchObject({ created: 1, unchanged: 0 });
    const ids = async () =>
      ((await h.http.get(spMaps()).set(auth())).body.identity_mappings as { id: string }[]).map(
        (m) => m.id,
      );
    expect(await ids()).toContain(created.body.id);
    expect(await ids()).toContain(imported.body.identity_mappings[0].id);
    expect((await h.http.delete(`${spMaps()}/${created.body.id}`).set(auth())).status).toBe(204);
    expect(await ids()).not.toContain(created.body.id);

    const fs = await h.db.prisma.fileState.create({
      data: {
        id: newId('fst'),
        tenantId: h.t1.tenantId,
        connectorId: spId,
        path: 'Plan.docx',
        pathKey: 'plan.docx',
        parentKey: '',
        kind: 'file',
        status: 'conflict',
        conflict: { detected_at: '2026-01-01T00:00:00Z' },
      },
    });
    const resolved = await h.http
      .post(`${sp()}/file-states/${fs.id}/resolve`)
      .set(auth())
      .send({ resolution: 'keep_source' });
    expect(resolved.status).toBe(200);
    expect(resolved.body.file_state).toMatchObject({ id: fs.id, status: 'pending' });
    const jobId = resolved.body.job_id as string;

    const job = await h.http.get(`${sp()}/jobs/${jobId}`).set(auth());
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: jobId,
      connector_id: spId,
      status: 'queued',
      summary: null,
    });
    const cancelled = await h.http.post(`${sp()}/jobs/${jobId}/cancel`).set(auth());
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: jobId, status: 'cancelled' });
  });
});
