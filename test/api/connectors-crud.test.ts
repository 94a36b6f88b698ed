import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createGroup, createUser } from '@scaidrive/testkit';
import { newId } from '@scaidrive/core';
import { freePort } from '@scaidrive/db';
import { bearer, expectError, startApi, type ApiHarness, type TenantFixture } from './harness.js';
import { smbBody, spBody } from './fixtures.js';

let h: ApiHarness;
let t2: TenantFixture;
beforeAll(async () => {
  h = await startApi({
    SOURCE_HOST_DENYLIST: '169.254.0.0/16,fe80::/10,10.99.0.0/16,blocked.test',
  });
  t2 = await h.tenant('T2');
});
afterAll(async () => {
  await h?.close();
});

const auth = () => bearer(h.t1.adminToken);
const smb = '/api/v1/smb-connectors';
const sp = '/api/v1/sharepoint-connectors';

async function createSmb(over: Record<string, unknown> = {}) {
  const res = await h.http.post(smb).set(auth()).send(smbBody(h.t1.shareId, over));
  expect(res.status).toBe(201);
  return res.body;
}

describe('SMB connector CRUD', () => {
  it('creates (201) with defaults, normalised values and no secrets', async () => {
    const res = await h.http
      .post(smb)
      .set(auth())
      .send(smbBody(h.t1.shareId, { target_path: '/From Fileserver' }));
    expect(res.status).toBe(201);
    const c = res.body;
    expect(c.id).toMatch(/^cnn_[0-9A-Z]{26}$/);
    expect(res.headers.location).toBe(`/api/v1/smb-connectors/${c.id}`);
    expect(c).toMatchObject({
      name: 'Finance Fileserver',
      server_host: '127.0.0.1',
      server_port: 445,
      share_name: 'Finance',
      base_path: '2026',
      domain: 'CORP',
      username: 'scaidrive-svc',
      password_set: true,
      target_share_id: h.t1.shareId,
      target_path: '/From Fileserver',
      include_patterns: { extensions: ['pdf', 'docx', 'xlsx'] },
      exclude_patterns: { patterns: ['~$*'] },
      status: 'idle',
      enabled: true,
      full_sync_required: true,
      error_count: 0,
      last_sync_at: null,
      total_files_synced: 0,
      total_bytes_synced: 0,
    });
    expect(c).not.toHaveProperty('password');
    expect(c.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('applies defaults for optional fields', async () => {
    // The default target is the share's root: a share of its own (targets may not overlap).
    const own = await h.http
      .post('/api/v1/shares')
      .set(auth())
      .send({ name: 'Defaults', owner_id: h.t1.adminId });
    expect(own.status).toBe(201);
    const res = await h.http.post(smb).set(auth()).send({
      name: 'Minimal',
      server_host: 'localhost',
      share_name: 'S',
      username: 'u',
      password: 'p',
      target_share_id: own.body.id,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      server_port: 445,
      base_path: '',
      target_path: '/',
      sync_direction: 'smb_to_scaidrive',
      conflict_resolution: 'LAST_WRITER_WINS',
      sync_interval_minutes: 15,
      sync_permissions: false,
      sync_hidden_files: false,
      include_patterns: {},
      description: null,
      domain: null,
    });
  });

  it('gets, lists with total and filters by status', async () => {
    const a = await createSmb({ name: 'List A' });
    const one = await h.http.get(`${smb}/${a.id}`).set(auth());
    expect(one.status).toBe(200);
    expect(one.body).toEqual(a);
    const list = await h.http.get(`${smb}?limit=1&offset=0`).set(auth());
    expect(list.status).toBe(200);
    expect(list.body.connectors).toHaveLength(1);
    expect(list.body.total).toBeGreaterThanOrEqual(2);
    const disabled = await h.http.get(`${smb}?status=disabled`).set(auth());
    expect(disabled.body).toEqual({ connectors: [], total: 0 });
    const sps = await h.http.get(sp).set(auth());
    expect(sps.body.connectors.every((c: any) => c.site_url)).toBe(true);
  });

  it('PATCH changes fields, keeps secrets, marks full sync on source/filter changes, audits field names', async () => {
    const c = await createSmb();
    await h.db.prisma.connector.update({ where: { id: c.id }, data: { fullSyncRequired: false } });
    const r1 = await h.http
      .patch(`${smb}/${c.id}`)
      .set(auth())
      .send({ name: 'Renamed', sync_interval_minutes: 60 });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({
      name: 'Renamed',
      sync_interval_minutes: 60,
      full_sync_required: false,
      password_set: true,
    });
    const r2 = await h.http
      .patch(`${smb}/${c.id}`)
      .set(auth())
      .send({ base_path: 'Archive\\2025', password: 'n3w-pass' });
    expect(r2.status).toBe(200);
    expect(r2.body).toMatchObject({ base_path: 'Archive/2025', full_sync_required: true });
    // A rename or a new interval is not a new configuration for a running sync; base_path is.
    const row = await h.db.prisma.connector.findUnique({ where: { id: c.id } });
    expect(row!.configRevision).toBe(2);
    const audit = await h.db.prisma.auditEvent.findMany({
      where: { resourceId: c.id },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'connector.created',
      'connector.updated',
      'connector.updated',
    ]);
    expect(audit[2]!.payload).toMatchObject({ fields: ['base_path', 'password'] });
    expect(JSON.stringify(audit)).not.toContain('n3w-pass');
  });

  it('PATCH that points the stored password at another server or account needs the password again', async () => {
    const c = await createSmb();
    const before = await h.db.prisma.connector.findUnique({ where: { id: c.id } });
    for (const change of [
      { server_host: '10.20.30.40' },
      { server_port: 1445 },
      { domain: 'OTHER' },
      { username: 'someone-else' },
      { server_host: '10.20.30.40', username: 'x', name: 'Moved' },
    ]) {
      const res = await h.http.patch(`${smb}/${c.id}`).set(auth()).send(change);
      const e = expectError(res, 400, 'VALIDATION_ERROR');
      expect(e.details).toContainEqual({
        path: 'body.password',
        reason: expect.stringContaining('is required when'),
      });
    }
    const unchanged = await h.db.prisma.connector.findUnique({ where: { id: c.id } });
    expect(unchanged).toEqual(before);
    // The same values (host spacing, account and domain case do not matter) are no change; other
    // fields are free.
    const same = await h.http
      .patch(`${smb}/${c.id}`)
      .set(auth())
      .send({ server_host: ' 127.0.0.1 ', domain: 'corp', share_name: 'Other', base_path: 'x' });
    expect(same.status).toBe(200);
    // With the password in the same request the move is fine.
    const moved = await h.http
      .patch(`${smb}/${c.id}`)
      .set(auth())
      .send({ server_host: '10.20.30.40', password: 'for-the-new-server' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ server_host: '10.20.30.40', password_set: true });
  });

  it('PATCH with target_share_id is a 400 and changes nothing', async () => {
    const c = await createSmb();
    const res = await h.http
      .patch(`${smb}/${c.id}`)
      .set(auth())
      .send({ target_share_id: h.t1.shareId, name: 'x' });
    const e = expectError(res, 400, 'VALIDATION_ERROR');
    expect(e.details).toContainEqual({
      path: 'body.target_share_id',
      reason: expect.stringContaining('cannot be changed'),
    });
    const after = await h.http.get(`${smb}/${c.id}`).set(auth());
    expect(after.body.name).toBe(c.name);
  });

  it('disable and enable through PATCH enabled', async () => {
    const c = await createSmb();
    const off = await h.http.patch(`${smb}/${c.id}`).set(auth()).send({ enabled: false });
    expect(off.body).toMatchObject({ status: 'disabled', enabled: false, next_sync_at: null });
    const on = await h.http.patch(`${smb}/${c.id}`).set(auth()).send({ enabled: true });
    expect(on.body).toMatchObject({ status: 'idle', enabled: true });
    const actions = (await h.db.prisma.auditEvent.findMany({ where: { resourceId: c.id } })).map(
      (a) => a.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['connector.disabled', 'connector.enabled']));
  });

  it('DELETE (204) removes jobs, file states and mappings but not share content', async () => {
    const c = await createSmb();
    const user = await createUser(h.db.prisma, h.t1.tenantId);
    await h.http
      .post(`${smb}/${c.id}/identity-mappings`)
      .set(auth())
      .send({ identity_type: 'user', smb_principal: 'CORP\\bob', scaidrive_principal_id: user.id });
    await h.db.prisma.fileState.create({
      data: {
        id: newId('fst'),
        tenantId: h.t1.tenantId,
        connectorId: c.id,
        path: 'a.txt',
        pathKey: 'a.txt',
        parentKey: '',
        kind: 'file',
        status: 'synced',
      },
    });
    const nodesBefore = await h.db.prisma.node.count({ where: { shareId: h.t1.shareId } });
    const res = await h.http.delete(`${smb}/${c.id}`).set(auth());
    expect(res.status).toBe(204);
    expect(await h.db.prisma.connector.count({ where: { id: c.id } })).toBe(0);
    expect(await h.db.prisma.fileState.count({ where: { connectorId: c.id } })).toBe(0);
    expect(await h.db.prisma.identityMapping.count({ where: { connectorId: c.id } })).toBe(0);
    expect(await h.db.prisma.node.count({ where: { shareId: h.t1.shareId } })).toBe(nodesBefore);
    expectError(await h.http.get(`${smb}/${c.id}`).set(auth()), 404, 'NOT_FOUND');
    expect(
      await h.db.prisma.auditEvent.count({
        where: { resourceId: c.id, action: 'connector.deleted' },
      }),
    ).toBe(1);
  });
});

describe('SharePoint connector CRUD', () => {
  it('creates, never returns the secret, PATCHes, deletes', async () => {
    const res = await h.http.post(sp).set(auth()).send(spBody(h.t1.shareId));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      site_url: 'https://contoso.sharepoint.com/sites/marketing',
      site_id: null,
      drive_id: null,
      library_name: 'Documents',
      base_path: 'Campaigns/2026',
      auth_type: 'app_auth',
      azure_client_secret_set: true,
      azure_certificate_set: false,
      authorized: false,
      sync_versions: true,
      sync_metadata: true,
    });
    expect(res.body).not.toHaveProperty('azure_client_secret');
    const id = res.body.id;
    const p = await h.http
      .patch(`${sp}/${id}`)
      .set(auth())
      .send({ library_name: 'Shared Documents', drive_id: 'b!xyz' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      library_name: 'Shared Documents',
      drive_id: 'b!xyz',
      full_sync_required: true,
    });
    expect((await h.http.delete(`${sp}/${id}`).set(auth())).status).toBe(204);
  });

  it('app_auth needs a secret or certificate; user_auth does not', async () => {
    const noSecret = spBody(h.t1.shareId);
    delete noSecret.azure_client_secret;
    const e = expectError(
      await h.http.post(sp).set(auth()).send(noSecret),
      400,
      'VALIDATION_ERROR',
    );
    expect(e.details[0].path).toBe('body.azure_client_secret');
    const user = await h.http
      .post(sp)
      .set(auth())
      .send({ ...noSecret, auth_type: 'user_auth' });
    expect(user.status).toBe(201);
  });

  it('site_url must be https', async () => {
    const e = expectError(
      await h.http
        .post(sp)
        .set(auth())
        .send(spBody(h.t1.shareId, { site_url: 'http://contoso.sharepoint.com/sites/x' })),
      400,
      'VALIDATION_ERROR',
    );
    expect(e.details[0].path).toBe('body.site_url');
  });
});

describe('target folders of one share do not overlap', () => {
  it("refuses the same folder, a folder inside or around another connector's, in any kind", async () => {
    // Shares of their own: other tests' connectors are not in the way.
    const newShare = async (name: string) => {
      const res = await h.http
        .post('/api/v1/shares')
        .set(auth())
        .send({ name, owner_id: h.t1.adminId });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const shareId = await newShare('Overlap');
    const create = async (target_path: string) => {
      const res = await h.http.post(smb).set(auth()).send(smbBody(shareId, { target_path }));
      expect(res.status).toBe(201);
      return res.body;
    };
    const a = await create('/Overlap/A');
    for (const [path, body] of [
      ['/Overlap/A', smbBody(shareId, { target_path: '/Overlap/A' })],
      ['/overlap/a/Sub', smbBody(shareId, { target_path: '/overlap/a/Sub' })],
      ['/Overlap', smbBody(shareId, { target_path: '/Overlap' })],
      ['/', smbBody(shareId, { target_path: '/' })],
      ['/Overlap/A/x (SharePoint)', spBody(shareId, { target_path: '/Overlap/A/x' })],
    ] as const) {
      const url = 'site_url' in body ? sp : smb;
      const e = expectError(await h.http.post(url).set(auth()).send(body), 409, 'CONFLICT');
      expect([path, e.details]).toEqual([
        path,
        { field: 'body.target_path', connector_id: a.id, target_path: '/Overlap/A' },
      ]);
    }
    // Siblings, a name that only starts the same, and the same folder of another share are fine.
    const b = await create('/Overlap/B');
    await create('/Overlap/AB');
    const elsewhere = await h.http
      .post(smb)
      .set(auth())
      .send(smbBody(await newShare('Overlap elsewhere'), { target_path: '/Overlap/A' }));
    expect(elsewhere.status).toBe(201);
    // Moving a target into another connector's folder is refused and changes nothing; a
    // connector may respell its own.
    expectError(
      await h.http.patch(`${smb}/${b.id}`).set(auth()).send({ target_path: '/Overlap/A/b' }),
      409,
      'CONFLICT',
    );
    expect((await h.http.get(`${smb}/${b.id}`).set(auth())).body.target_path).toBe('/Overlap/B');
    const respelled = await h.http
      .patch(`${smb}/${a.id}`)
      .set(auth())
      .send({ target_path: '/overlap/a' });
    expect(respelled.status).toBe(200);
    // Once a connector is deleted its folder is free.
    expect((await h.http.delete(`${smb}/${a.id}`).set(auth())).status).toBe(204);
    const taken = await h.http
      .patch(`${smb}/${b.id}`)
      .set(auth())
      .send({ target_path: '/Overlap/A' });
    expect(taken.status).toBe(200);
  });

  it('lets exactly one of simultaneous creates into one folder through', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        h.http
          .post(smb)
          .set(auth())
          .send(smbBody(h.t1.shareId, { target_path: '/Race' })),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });
});

describe('bad input never changes anything', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['missing name', { name: undefined }, 'body.name'],
    ['unknown field', { colour: 'blue' }, 'body.colour'],
    ['mistyped port', { server_port: 'abc' }, 'body.server_port'],
    ['negative port', { server_port: -1 }, 'body.server_port'],
    ['huge port', { server_port: 70000 }, 'body.server_port'],
    ['huge number', { sync_interval_minutes: 1e12 }, 'body.sync_interval_minutes'],
    ['interval 3', { sync_interval_minutes: 3 }, 'body.sync_interval_minutes'],
    ['interval negative', { sync_interval_minutes: -5 }, 'body.sync_interval_minutes'],
    ['interval fraction', { sync_interval_minutes: 7.5 }, 'body.sync_interval_minutes'],
    ['wrong enum', { sync_direction: 'sideways' }, 'body.sync_direction'],
    [
      'sharepoint enum on smb',
      { sync_direction: 'sharepoint_to_scaidrive' },
      'body.sync_direction',
    ],
    [
      'wrong conflict enum',
      { conflict_resolution: 'last_writer_wins' },
      'body.conflict_resolution',
    ],
    ['relative target path', { target_path: 'x/y' }, 'body.target_path'],
    ['dotdot target path', { target_path: '/a/../b' }, 'body.target_path'],
    ['trailing slash', { target_path: '/a/' }, 'body.target_path'],
    ['double slash', { target_path: '/a//b' }, 'body.target_path'],
    ['base path dotdot', { base_path: '../etc' }, 'body.base_path'],
    ['malformed share id', { target_share_id: 'shr_nope' }, 'body.target_share_id'],
    ['unknown share', { target_share_id: newId('shr') }, 'body.target_share_id'],
    ['share of other tenant', { target_share_id: 'T2' }, 'body.target_share_id'],
    [
      'extension with dot',
      { include_patterns: { extensions: ['.pdf'] } },
      'body.include_patterns.extensions.0',
    ],
    ['unknown pattern key', { include_patterns: { globs: ['*'] } }, 'body.include_patterns.globs'],
    ['share name with slash', { share_name: 'a/b' }, 'body.share_name'],
    ['empty name', { name: '' }, 'body.name'],
    ['blank name', { name: '   ' }, 'body.name'],
    ['host with space', { server_host: 'bad host' }, 'body.server_host'],
    ['denied CIDR', { server_host: '10.99.1.1' }, 'body.server_host'],
    ['link-local v6', { server_host: 'fe80::1' }, 'body.server_host'],
    ['link-local metadata', { server_host: '169.254.169.254' }, 'body.server_host'],
    ['denied name', { server_host: 'blocked.test' }, 'body.server_host'],
    ['unresolvable', { server_host: 'does-not-exist.invalid' }, 'body.server_host'],
    ['null username', { username: null }, 'body.username'],
  ];
  it.each(cases)('%s → 400 naming %s', async (_label, over, path) => {
    const before = await h.db.prisma.connector.count();
    const body = smbBody(h.t1.shareId, over);
    if (over.target_share_id === 'T2') body.target_share_id = t2.shareId;
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete body[k];
    const res = await h.http.post(smb).set(auth()).send(body);
    const e = expectError(res, 400, 'VALIDATION_ERROR');
    expect(e.details.map((d: any) => d.path)).toContain(path);
    expect(await h.db.prisma.connector.count()).toBe(before);
  });

  it('reports every bad field at once', async () => {
    const res = await h.http
      .post(smb)
      .set(auth())
      .send(smbBody(h.t1.shareId, { server_port: 0, sync_direction: 'x', extra: 1 }));
    const e = expectError(res, 400, 'VALIDATION_ERROR');
    expect(e.details.length).toBeGreaterThanOrEqual(3);
  });

  it('non-JSON content type → 415; array body → 400', async () => {
    const t = await h.http.post(smb).set(auth()).set('Content-Type', 'text/plain').send('hello');
    expect([400, 415]).toContain(t.status);
    expect(t.body.status).toBe('error');
    const arr = await h.http.post(smb).set(auth()).send([1, 2]);
    expectError(arr, 400, 'VALIDATION_ERROR');
  });

  it('malformed and unknown ids', async () => {
    expectError(await h.http.get(`${smb}/nope`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(
      await h.http.get(`${smb}/cnn_${'1'.repeat(25)}`).set(auth()),
      400,
      'VALIDATION_ERROR',
    );
    expectError(await h.http.get(`${smb}/${newId('cnn')}`).set(auth()), 404, 'NOT_FOUND');
    expectError(
      await h.http
        .patch(`${smb}/${newId('cnn')}`)
        .set(auth())
        .send({ name: 'x' }),
      404,
      'NOT_FOUND',
    );
    expectError(await h.http.delete(`${smb}/${newId('cnn')}`).set(auth()), 404, 'NOT_FOUND');
  });

  it('bad query parameters', async () => {
    expectError(await h.http.get(`${smb}?limit=0`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(await h.http.get(`${smb}?limit=101`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(await h.http.get(`${smb}?offset=-1`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(await h.http.get(`${smb}?limit=abc`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(await h.http.get(`${smb}?status=sleeping`).set(auth()), 400, 'VALIDATION_ERROR');
    expectError(await h.http.get(`${smb}?bogus=1`).set(auth()), 400, 'VALIDATION_ERROR');
  });

  it('PATCH with an empty body, nulls where not allowed, bad values', async () => {
    const c = await createSmb();
    expectError(await h.http.patch(`${smb}/${c.id}`).set(auth()).send({}), 400, 'VALIDATION_ERROR');
    expectError(
      await h.http.patch(`${smb}/${c.id}`).set(auth()).send({ name: null }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(
      await h.http.patch(`${smb}/${c.id}`).set(auth()).send({ sync_interval_minutes: 4 }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(
      await h.http.patch(`${smb}/${c.id}`).set(auth()).send({ server_host: '169.254.1.1' }),
      400,
      'VALIDATION_ERROR',
    );
    const after = await h.http.get(`${smb}/${c.id}`).set(auth());
    expect(after.body).toEqual(c);
  });

  it('wrong kind on the other base path is 404', async () => {
    const c = await createSmb();
    expectError(await h.http.get(`${sp}/${c.id}`).set(auth()), 404, 'NOT_FOUND');
    expectError(
      await h.http.patch(`${sp}/${c.id}`).set(auth()).send({ name: 'x' }),
      404,
      'NOT_FOUND',
    );
    expectError(await h.http.delete(`${sp}/${c.id}`).set(auth()), 404, 'NOT_FOUND');
    const s = await h.http.post(sp).set(auth()).send(spBody(h.t1.shareId));
    expectError(await h.http.get(`${smb}/${s.body.id}`).set(auth()), 404, 'NOT_FOUND');
    expectError(await h.http.post(`${smb}/${s.body.id}/sync`).set(auth()), 404, 'NOT_FOUND');
  });
});

describe('tenant isolation', () => {
  it("another tenant's connector is 404 on every endpoint and invisible in lists", async () => {
    const c = await createSmb({ name: 'Private to T1' });
    const other = bearer(t2.adminToken);
    const paths: [string, string, unknown?][] = [
      ['get', `${smb}/${c.id}`],
      ['patch', `${smb}/${c.id}`, { name: 'hijack' }],
      ['delete', `${smb}/${c.id}`],
      ['post', `${smb}/${c.id}/sync`],
      ['post', `${smb}/${c.id}/test`],
      ['get', `${smb}/${c.id}/jobs`],
      ['get', `${smb}/${c.id}/file-states`],
      ['get', `${smb}/${c.id}/identity-mappings`],
    ];
    for (const [m, p, body] of paths) {
      const req = (h.http as any)[m](p).set(other);
      const res = body ? await req.send(body) : await req;
      expectError(res, 404, 'NOT_FOUND');
    }
    const list = await h.http.get(smb).set(other);
    expect(list.body.connectors.find((x: any) => x.id === c.id)).toBeUndefined();
    const still = await h.http.get(`${smb}/${c.id}`).set(auth());
    expect(still.body.name).toBe('Private to T1');
  });

  it("cannot target another tenant's share", async () => {
    const res = await h.http.post(smb).set(bearer(t2.adminToken)).send(smbBody(h.t1.shareId));
    expectError(res, 400, 'VALIDATION_ERROR');
  });
});

describe('permissions', () => {
  it('a plain user token without tenant:admin scope is 403', async () => {
    const u = await createUser(h.db.prisma, h.t1.tenantId);
    const tok = await h.token(h.t1.tenantId, u.id, { scopes: ['files:read'] });
    expectError(await h.http.get(smb).set(bearer(tok)), 403, 'FORBIDDEN');
    const before = await h.db.prisma.connector.count();
    expectError(
      await h.http.post(smb).set(bearer(tok)).send(smbBody(h.t1.shareId)),
      403,
      'FORBIDDEN',
    );
    expect(await h.db.prisma.connector.count()).toBe(before);
  });

  it('tenant:admin scope still needs MANAGE_PERMISSIONS on the target share', async () => {
    const c = await createSmb({ name: 'Perm test' });
    const u = await createUser(h.db.prisma, h.t1.tenantId);
    const tok = await h.token(h.t1.tenantId, u.id, { scopes: ['tenant:admin'] });
    expectError(
      await h.http.post(smb).set(bearer(tok)).send(smbBody(h.t1.shareId)),
      403,
      'FORBIDDEN',
    );
    expectError(await h.http.get(`${smb}/${c.id}`).set(bearer(tok)), 403, 'FORBIDDEN');
    expectError(
      await h.http.patch(`${smb}/${c.id}`).set(bearer(tok)).send({ name: 'x' }),
      403,
      'FORBIDDEN',
    );
    expect((await h.http.get(smb).set(bearer(tok))).body).toEqual({ connectors: [], total: 0 });
    // A group with the share's admin role passes it on.
    const g = await createGroup(h.db.prisma, h.t1.tenantId, 'Share admins', [u.id]);
    await h.db.prisma.shareMember.create({
      data: {
        id: newId('mem'),
        tenantId: h.t1.tenantId,
        shareId: h.t1.shareId,
        principalType: 'group',
        principalId: g.id,
        role: 'admin',
      },
    });
    const tok2 = await h.token(h.t1.tenantId, u.id, { scopes: ['tenant:admin'] });
    expect((await h.http.get(`${smb}/${c.id}`).set(bearer(tok2))).status).toBe(200);
    expect((await h.http.post(smb).set(bearer(tok2)).send(smbBody(h.t1.shareId))).status).toBe(201);
    const list = await h.http.get(smb).set(bearer(tok2));
    expect(list.body.total).toBeGreaterThan(0);
    // A contributor role is not enough.
    const u3 = await createUser(h.db.prisma, h.t1.tenantId);
    await h.db.prisma.shareMember.create({
      data: {
        id: newId('mem'),
        tenantId: h.t1.tenantId,
        shareId: h.t1.shareId,
        principalType: 'user',
        principalId: u3.id,
        role: 'contributor',
      },
    });
    const tok3 = await h.token(h.t1.tenantId, u3.id, { scopes: ['tenant:admin'] });
    expectError(await h.http.get(`${smb}/${c.id}`).set(bearer(tok3)), 403, 'FORBIDDEN');
  });
});

describe('source host checks at connect time', () => {
  it('/test checks the saved host again and connects to the address that passed', async () => {
    const dns: Record<string, string[]> = { 'fs.rebind.test': ['127.0.0.1'] };
    const h2 = await startApi(
      { SOURCE_HOST_DENYLIST: '169.254.0.0/16' },
      { resolveHost: async (host) => dns[host] ?? [] },
    );
    try {
      const port = await freePort(); // nothing listens there
      const res = await h2.http
        .post(smb)
        .set(bearer(h2.t1.adminToken))
        .send(smbBody(h2.t1.shareId, { server_host: 'fs.rebind.test', server_port: port }));
      expect(res.status).toBe(201);
      const test = async () =>
        (await h2.http.post(`${smb}/${res.body.id}/test`).set(bearer(h2.t1.adminToken))).body;
      // The name only resolves through the guard's resolver: a refused connection proves the
      // connection went to the checked address.
      expect(await test()).toMatchObject({
        success: false,
        error: 'CONNECTOR_UNREACHABLE',
        message: expect.stringMatching(/Cannot reach .*refused/i),
      });
      // The name now points at the metadata service (DNS rebinding after it was saved).
      dns['fs.rebind.test'] = ['169.254.169.254'];
      expect(await test()).toMatchObject({
        success: false,
        error: 'CONNECTOR_UNREACHABLE',
        message: expect.stringContaining('169.254.169.254, which is on the deny-list'),
      });
    } finally {
      await h2.close();
    }
  });
});
