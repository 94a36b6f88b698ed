import http from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createUser } from '@scaidrive/testkit';
import { bearer, expectError, startApi, type ApiHarness } from '../api/harness.js';
import { bytes, countRows, sha256 } from './support.js';

let h: ApiHarness;
let blobDir: string;
let admin: Record<string, string>;
let shareId: string;
let rootId: string;
let port: number;

beforeAll(async () => {
  blobDir = await mkdtemp(path.join(os.tmpdir(), 'scaidrive-api-blobs-'));
  h = await startApi({ BLOB_DIR: blobDir, CHUNK_SIZE_BYTES: String(64 * 1024) });
  admin = bearer(h.t1.adminToken);
  const res = await h.http
    .post('/api/v1/shares')
    .set(admin)
    .send({ name: 'Operator share', owner_id: h.t1.adminId });
  expect(res.status).toBe(201);
  shareId = res.body.id;
  rootId = res.body.root_folder_id;
  port = (await h.runtime.listen(0, '127.0.0.1')).port;
});
afterAll(async () => {
  await h?.close();
  await rm(blobDir, { recursive: true, force: true });
});

async function userToken(
  role: 'user' | 'tenant_admin' = 'user',
  scopes = ['files:read', 'files:write'],
) {
  const u = await createUser(h.db.prisma, h.t1.tenantId, { role });
  return { id: u.id, auth: bearer(await h.token(h.t1.tenantId, u.id, { scopes })) };
}

function upload(
  folderId: string,
  name: string,
  body: Buffer,
  headers: Record<string, string> = {},
) {
  return h.http
    .post(`/api/v1/folders/${folderId}/files`)
    .query({ name })
    .set(admin)
    .set('Content-Type', 'application/octet-stream')
    .set(headers)
    .send(body);
}

function download(
  fileId: string,
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
) {
  return h.http
    .get(`/api/v1/files/${fileId}/content`)
    .query(query)
    .set(admin)
    .set(headers)
    .buffer(true)
    .parse((res, cb) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => cb(null, Buffer.concat(parts)));
    });
}

describe('users and groups', () => {
  it('lets admins manage principals and refuses others', async () => {
    const created = await h.http
      .post('/api/v1/users')
      .set(admin)
      .send({ email: 'a@example.test', display_name: 'Ann' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'a@example.test', role: 'user', status: 'active' });
    const g = await h.http.post('/api/v1/groups').set(admin).send({ name: 'Finance' });
    expect(g.status).toBe(201);
    expect(
      (await h.http.put(`/api/v1/groups/${g.body.id}/members/${created.body.id}`).set(admin))
        .status,
    ).toBe(204);
    const members = await h.http.get(`/api/v1/groups/${g.body.id}/members`).set(admin);
    expect(members.body).toMatchObject({ total: 1, users: [{ id: created.body.id }] });
    const list = await h.http.get('/api/v1/users').set(admin).query({ q: 'ann' });
    expect(list.body.users.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
    const plain = await userToken();
    expectError(
      await h.http.post('/api/v1/groups').set(plain.auth).send({ name: 'X' }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await h.http.post('/api/v1/users').set(admin).send({ nope: 1 }),
      400,
      'VALIDATION_ERROR',
    );
  });

  it('the tenant:admin scope alone does not let a user change users or groups (no self-promotion)', async () => {
    // What a platform token without application scopes carries by default.
    const scoped = await userToken('user', ['tenant:admin']);
    const g = await h.http.post('/api/v1/groups').set(admin).send({ name: 'Payroll' });
    const attempts = [
      h.http.patch(`/api/v1/users/${scoped.id}`).set(scoped.auth).send({ role: 'tenant_admin' }),
      h.http.put(`/api/v1/groups/${g.body.id}/members/${scoped.id}`).set(scoped.auth),
      h.http.post('/api/v1/users').set(scoped.auth).send({ role: 'tenant_admin' }),
      h.http.post('/api/v1/groups').set(scoped.auth).send({ name: 'Mine' }),
      h.http.delete(`/api/v1/groups/${g.body.id}`).set(scoped.auth),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(expectError(res, 403, 'FORBIDDEN').message).toMatch(/tenant admin role/);
    }
    // An admin's token narrowed to files cannot either (least privilege).
    const narrowed = await userToken('tenant_admin', ['files:read', 'files:write']);
    expectError(
      await h.http
        .patch(`/api/v1/users/${scoped.id}`)
        .set(narrowed.auth)
        .send({ role: 'tenant_admin' }),
      403,
      'FORBIDDEN',
    );
    const row = await h.db.prisma.user.findUnique({ where: { id: scoped.id } });
    expect(row?.role).toBe('user');
    const members = await h.http.get(`/api/v1/groups/${g.body.id}/members`).set(admin);
    expect(members.body.total).toBe(0);
    // The admin (role + scope) can.
    const promoted = await h.http
      .patch(`/api/v1/users/${scoped.id}`)
      .set(admin)
      .send({ role: 'tenant_admin' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('tenant_admin');
  });
});

describe('folders and names', () => {
  it('creates folders and refuses bad names with the reason', async () => {
    const ok = await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: shareId, name: 'Reports' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      type: 'folder',
      name: 'Reports',
      path: '/Reports',
      parent_id: rootId,
    });
    const dup = await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: shareId, name: 'REPORTS' });
    expectError(dup, 409, 'NAME_CONFLICT');
    const again = await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: shareId, name: 'reports', exist_ok: true });
    expect(again.status).toBe(200);
    for (const [name, reason] of [
      ['a/b', '"/"'],
      ['..', 'not a valid name'],
      ['.', 'not a valid name'],
      ['nul\u0000here', 'NUL character'],
      ['bell\u0007here', 'control character'],
      ['x'.repeat(300), 'longer than 255'],
    ]) {
      const res = await h.http.post('/api/v1/folders').set(admin).send({ share_id: shareId, name });
      const err = expectError(res, 400, 'VALIDATION_ERROR');
      expect(err.details[0]).toMatchObject({
        path: 'body.name',
        reason: expect.stringContaining(reason!),
      });
    }
    const badUpload = await upload(rootId, '..', Buffer.from('x'));
    expect(expectError(badUpload, 400, 'VALIDATION_ERROR').details[0].path).toBe('query.name');
  });

  it('browses a folder by path as {items, path, total}', async () => {
    await h.http.post('/api/v1/folders').set(admin).send({ share_id: shareId, name: 'Browse' });
    const browse = (
      await h.http.get(`/api/v1/shares/${shareId}/browse`).set(admin).query({ path: '/Browse' })
    ).body;
    await upload(browse.folder_id, 'b.txt', Buffer.from('b'));
    await upload(browse.folder_id, 'a.txt', Buffer.from('a'));
    await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: shareId, parent_id: browse.folder_id, name: 'sub' });
    const res = await h.http
      .get(`/api/v1/shares/${shareId}/browse`)
      .set(admin)
      .query({ path: '/browse', limit: 2 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ path: '/Browse', total: 3 });
    expect(res.body.items.map((i: { path: string }) => i.path)).toEqual([
      '/Browse/sub',
      '/Browse/a.txt',
    ]);
    expectError(
      await h.http.get(`/api/v1/shares/${shareId}/browse`).set(admin).query({ path: '/nope' }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('upload and download', () => {
  it('uploads, versions, and downloads whole, ranged and old versions', async () => {
    const v1 = bytes(200_000, 1);
    const v2 = bytes(150_000, 2);
    const first = await upload(rootId, 'data.bin', v1);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      type: 'file',
      version: 1,
      size: v1.length,
      checksum_sha256: sha256(v1),
    });
    const fileId = first.body.id;
    const second = await upload(rootId, 'DATA.BIN', v2);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: fileId, version: 2, name: 'data.bin' });
    expectError(
      await upload(rootId, 'data.bin', v2, { 'If-None-Match': '*' }),
      412,
      'PRECONDITION_FAILED',
    );
    expectError(
      await upload(rootId, 'data.bin', v2, { 'If-Match': '"1"' }),
      412,
      'PRECONDITION_FAILED',
    );

    const whole = await download(fileId);
    expect(whole.status).toBe(200);
    expect((whole.body as Buffer).equals(v2)).toBe(true);
    expect(whole.headers).toMatchObject({
      etag: '"2"',
      'accept-ranges': 'bytes',
      'x-checksum-sha256': sha256(v2),
    });
    const part = await download(fileId, { Range: 'bytes=65530-65545' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 65530-65545/${v2.length}`);
    expect((part.body as Buffer).equals(v2.subarray(65530, 65546))).toBe(true);
    const tail = await download(fileId, { Range: 'bytes=-10' });
    expect((tail.body as Buffer).equals(v2.subarray(v2.length - 10))).toBe(true);
    const beyond = await h.http
      .get(`/api/v1/files/${fileId}/content`)
      .set(admin)
      .set('Range', `bytes=${v2.length}-`);
    expectError(beyond, 416, 'RANGE_NOT_SATISFIABLE');
    expect(beyond.headers['content-range']).toBe(`bytes */${v2.length}`);
    const old = await download(fileId, {}, { version: '1' });
    expect((old.body as Buffer).equals(v1)).toBe(true);
    const versions = await h.http.get(`/api/v1/files/${fileId}/versions`).set(admin);
    expect(
      versions.body.versions.map((v: { version_number: number; is_current: boolean }) => [
        v.version_number,
        v.is_current,
      ]),
    ).toEqual([
      [2, true],
      [1, false],
    ]);
    const put = await h.http
      .put(`/api/v1/files/${fileId}/content`)
      .set(admin)
      .set('Content-Type', 'application/octet-stream')
      .set('If-Match', '"2"')
      .send(Buffer.from('three'));
    expect(put.body).toMatchObject({ version: 3, size: 5, path: '/data.bin' });
  });

  it('streams a large upload over a real socket, and stores nothing when it is cut off', async () => {
    const big = bytes(8 * 1024 * 1024 + 17, 3);
    const send = (name: string, data: Buffer, cut?: number) =>
      new Promise<{ status: number; body: string } | 'aborted'>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/api/v1/folders/${rootId}/files?name=${encodeURIComponent(name)}`,
          headers: {
            ...admin,
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(data.length),
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', (err) => (cut ? resolve('aborted') : reject(err)));
        let off = 0;
        const pump = () => {
          while (off < (cut ?? data.length)) {
            const piece = data.subarray(off, Math.min(off + 65536, cut ?? data.length));
            off += piece.length;
            if (!req.write(piece)) return void req.once('drain', pump);
          }
          if (cut) setTimeout(() => req.destroy(), 200);
          else req.end();
        };
        pump();
      });
    const ok = await send('big.bin', big);
    expect(ok).toMatchObject({ status: 201 });
    const file = JSON.parse((ok as { body: string }).body);
    expect(file.checksum_sha256).toBe(sha256(big));
    const back = await download(file.id);
    expect(sha256(back.body as Buffer)).toBe(sha256(big));

    const versionsBefore = await countRows(h.db, 'file_versions');
    await send('cut.bin', bytes(4 * 1024 * 1024, 4), 3 * 1024 * 1024);
    // The server notices the cut and gives up; nothing is committed.
    await new Promise((r) => setTimeout(r, 500));
    expect(await countRows(h.db, 'file_versions')).toBe(versionsBefore);
    const listing = await h.http.get(`/api/v1/folders/${rootId}/children`).set(admin);
    expect(listing.body.items.map((i: { name: string }) => i.name)).not.toContain('cut.bin');
    expect(await countRows(h.db, 'chunks', 'ref_count = 0')).toBeGreaterThan(0); // garbage, for GC
  });

  it('lets one of two concurrent uploads of a path win cleanly as a new version', async () => {
    const a = bytes(300_000, 5);
    const b = bytes(300_000, 6);
    const [ra, rb] = await Promise.all([
      upload(rootId, 'race.bin', a),
      upload(rootId, 'race.bin', b),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 201]);
    const id = ra.body.id;
    expect(rb.body.id).toBe(id);
    const final = (await download(id)).body as Buffer;
    expect(final.equals(a) || final.equals(b)).toBe(true);
    const v1 = (await download(id, {}, { version: '1' })).body as Buffer;
    expect(v1.equals(a) || v1.equals(b)).toBe(true);
    expect(v1.equals(final)).toBe(false);
  });

  it('answers QUOTA_EXCEEDED (507) and stores nothing over quota', async () => {
    const q = await h.http
      .post('/api/v1/shares')
      .set(admin)
      .send({ name: 'Small', owner_id: h.t1.adminId, quota_bytes: 100_000 });
    const res = await upload(q.body.root_folder_id, 'too-big.bin', bytes(150_000, 7));
    expectError(res, 507, 'QUOTA_EXCEEDED');
    const share = await h.http.get(`/api/v1/shares/${q.body.id}`).set(admin);
    expect(share.body.used_bytes).toBe(0);
  });
});

describe('move, delete, restore', () => {
  it('renames, moves, trashes and restores', async () => {
    const f = await upload(rootId, 'move-me.txt', Buffer.from('m'));
    const dest = await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: shareId, name: 'Dest' });
    const renamed = await h.http
      .patch(`/api/v1/files/${f.body.id}`)
      .set(admin)
      .send({ name: 'Moved.txt', parent_id: dest.body.id });
    expect(renamed.body).toMatchObject({ path: '/Dest/Moved.txt' });
    await upload(rootId, 'clash.txt', Buffer.from('c'));
    expectError(
      await h.http
        .patch(`/api/v1/files/${f.body.id}`)
        .set(admin)
        .send({ name: 'CLASH.txt', parent_id: rootId }),
      409,
      'NAME_CONFLICT',
    );
    expect((await h.http.delete(`/api/v1/files/${f.body.id}`).set(admin)).status).toBe(204);
    expectError(await h.http.get(`/api/v1/files/${f.body.id}`).set(admin), 404, 'NOT_FOUND');
    const trash = await h.http.get(`/api/v1/shares/${shareId}/trash`).set(admin);
    expect(trash.body.items.map((i: { id: string }) => i.id)).toContain(f.body.id);
    const restored = await h.http.post(`/api/v1/files/${f.body.id}/restore`).set(admin).send({});
    expect(restored.body).toMatchObject({ path: '/Dest/Moved.txt', is_deleted: false });
  });
});

describe('permissions', () => {
  it('answers 403 when the caller can see but not act, 404 when they cannot read the share', async () => {
    const reader = await userToken();
    const outsider = await userToken();
    await h.http
      .post(`/api/v1/shares/${shareId}/members`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: reader.id, role: 'reader' });
    const file = await upload(rootId, 'perm.txt', Buffer.from('p'));
    expect((await h.http.get(`/api/v1/files/${file.body.id}`).set(reader.auth)).status).toBe(200);
    const put = await h.http
      .post(`/api/v1/folders/${rootId}/files`)
      .query({ name: 'new.txt' })
      .set(reader.auth)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('x'));
    expect(expectError(put, 403, 'FORBIDDEN').details).toEqual({ required: ['CREATE'] });
    expectError(
      await h.http.get(`/api/v1/files/${file.body.id}`).set(outsider.auth),
      404,
      'NOT_FOUND',
    );
    expectError(await h.http.get(`/api/v1/shares/${shareId}`).set(outsider.auth), 404, 'NOT_FOUND');
    const visible = await h.http.get('/api/v1/shares').set(outsider.auth);
    expect(visible.body.shares.map((s: { id: string }) => s.id)).not.toContain(shareId);

    // A deny entry on the file for the reader: still sees the share → 403 on the file.
    const ace = await h.http
      .post(`/api/v1/permissions/acl/file/${file.body.id}`)
      .set(admin)
      .send({
        principal_type: 'user',
        principal_id: reader.id,
        permissions: ['READ'],
        ace_type: 'deny',
      });
    expect(ace.status).toBe(201);
    expect(ace.body).toMatchObject({ permissions: ['READ'], ace_type: 'deny', origin: 'manual' });
    expectError(
      await h.http.get(`/api/v1/files/${file.body.id}`).set(reader.auth),
      403,
      'FORBIDDEN',
    );
    const eff = await h.http
      .get('/api/v1/permissions/effective')
      .set(admin)
      .query({ resource_type: 'file', resource_id: file.body.id, user_id: reader.id });
    expect(eff.body).toMatchObject({ permissions: 0, can_read: false, user_id: reader.id });
    const check = await h.http
      .post('/api/v1/permissions/check')
      .set(reader.auth)
      .send({ resource_type: 'share', resource_id: shareId, permission: 'READ' });
    expect(check.body).toMatchObject({ allowed: true, permissions: 1 });
    // The reader cannot ask about someone else, nor manage ACLs.
    expectError(
      await h.http.post('/api/v1/permissions/check').set(reader.auth).send({
        resource_type: 'share',
        resource_id: shareId,
        permission: 'READ',
        user_id: h.t1.adminId,
      }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await h.http.get(`/api/v1/permissions/acl/share/${shareId}`).set(reader.auth),
      403,
      'FORBIDDEN',
    );
    const acl = await h.http.get(`/api/v1/permissions/acl/file/${file.body.id}`).set(admin);
    expect(acl.body).toMatchObject({
      resource_type: 'file',
      inherit_from_parent: true,
      entries: [{ principal_id: reader.id }],
    });
    const del = await h.http
      .delete(`/api/v1/permissions/acl/file/${file.body.id}`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: reader.id, ace_type: 'deny' });
    expect(del.status).toBe(204);
    expect((await h.http.get(`/api/v1/files/${file.body.id}`).set(reader.auth)).status).toBe(200);
  });

  it('leaves children the caller cannot read out of listings, pages and totals', async () => {
    const reader = await userToken();
    await h.http
      .post(`/api/v1/shares/${shareId}/members`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: reader.id, role: 'reader' });
    const folder = await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: shareId, name: 'Listing' });
    const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt'];
    const files = new Map<string, string>();
    for (const n of names) files.set(n, (await upload(folder.body.id, n, Buffer.from(n))).body.id);
    for (const n of ['b.txt', 'd.txt']) {
      const ace = await h.http
        .post(`/api/v1/permissions/acl/file/${files.get(n)}`)
        .set(admin)
        .send({
          principal_type: 'user',
          principal_id: reader.id,
          permissions: ['READ'],
          ace_type: 'deny',
        });
      expect(ace.status).toBe(201);
    }
    // An allow entry for someone else on c.txt does not hide it from the reader.
    await h.http
      .post(`/api/v1/permissions/acl/file/${files.get('c.txt')}`)
      .set(admin)
      .send({
        principal_type: 'user',
        principal_id: h.t1.adminId,
        permissions: ['WRITE'],
        ace_type: 'allow',
      });
    const page = (auth: Record<string, string>, offset: number) =>
      h.http
        .get(`/api/v1/folders/${folder.body.id}/children`)
        .set(auth)
        .query({ limit: 2, offset });
    const seen = async (auth: Record<string, string>) => {
      const out: string[] = [];
      let total = -1;
      for (let offset = 0; offset < 10; offset += 2) {
        const r = await page(auth, offset);
        expect(r.status).toBe(200);
        total = r.body.total;
        out.push(...r.body.items.map((i: { name: string }) => i.name));
        if (r.body.items.length < 2) break;
        expect(r.body.items).toHaveLength(2); // pages stay full
      }
      return { out, total };
    };
    expect(await seen(reader.auth)).toEqual({ out: ['a.txt', 'c.txt', 'e.txt'], total: 3 });
    expect(await seen(admin)).toEqual({ out: names, total: 5 });
    const browse = await h.http
      .get(`/api/v1/shares/${shareId}/browse`)
      .set(reader.auth)
      .query({ path: '/Listing' });
    expect(browse.body.total).toBe(3);
  });

  it('gives readers the change feed without the names of items they may not read', async () => {
    const reader = await userToken();
    const s = await h.http
      .post('/api/v1/shares')
      .set(admin)
      .send({ name: 'Feed privacy', owner_id: h.t1.adminId });
    await h.http
      .post(`/api/v1/shares/${s.body.id}/members`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: reader.id, role: 'reader' });
    const root = s.body.root_folder_id;
    await upload(root, 'menu.txt', Buffer.from('lunch'));
    const secret = await upload(root, 'salaries.xlsx', Buffer.from('numbers'));
    const gone = await upload(root, 'draft-layoffs.docx', Buffer.from('draft'));
    for (const id of [secret.body.id, gone.body.id]) {
      await h.http
        .post(`/api/v1/permissions/acl/file/${id}`)
        .set(admin)
        .send({
          principal_type: 'user',
          principal_id: reader.id,
          permissions: ['READ'],
          ace_type: 'deny',
        });
    }
    await h.http.delete(`/api/v1/files/${gone.body.id}`).set(admin);
    await h.runtime.drive.tree.purge(h.t1.tenantId, gone.body.id);

    const feed = async (auth: Record<string, string>) =>
      (await h.http.get(`/api/v1/shares/${s.body.id}/changes`).set(auth)).body.changes as {
        resource_id: string;
        change_type: string;
        new_path: string | null;
        metadata: unknown;
      }[];
    const text = JSON.stringify(await feed(reader.auth));
    expect(text).toContain('menu.txt');
    expect(text).not.toContain('salaries');
    expect(text).not.toContain('layoffs');
    const mine = await feed(reader.auth);
    // The hidden items' changes are still there, by id: a client can drop what it had.
    const hidden = mine.filter(
      (c) => c.resource_id === secret.body.id || c.resource_id === gone.body.id,
    );
    expect(hidden.length).toBeGreaterThanOrEqual(3);
    expect(hidden.every((c) => c.new_path === null && c.metadata === null)).toBe(true);
    expect(mine.some((c) => c.resource_id === gone.body.id && c.change_type === 'deleted')).toBe(
      true,
    );
    // The owner (a share manager) sees everything.
    const all = JSON.stringify(await feed(admin));
    expect(all).toContain('salaries.xlsx');
    expect(all).toContain('draft-layoffs.docx');
  });

  it('leaves trashed items the caller cannot read out of the trash listing and its total', async () => {
    const sh = await h.http
      .post('/api/v1/shares')
      .set(admin)
      .send({ name: 'Trash listing', owner_id: h.t1.adminId });
    const root = sh.body.root_folder_id as string;
    const editor = await userToken();
    await h.http
      .post(`/api/v1/shares/${sh.body.id}/members`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: editor.id, role: 'contributor' });
    const deny = async (type: 'file' | 'folder', id: string) => {
      const r = await h.http
        .post(`/api/v1/permissions/acl/${type}/${id}`)
        .set(admin)
        .send({
          principal_type: 'user',
          principal_id: editor.id,
          permissions: ['READ'],
          ace_type: 'deny',
        });
      expect(r.status).toBe(201);
    };
    const secret = await h.http
      .post('/api/v1/folders')
      .set(admin)
      .send({ share_id: sh.body.id, name: 'Secret' });
    await deny('folder', secret.body.id);
    const ids = new Map<string, string>();
    ids.set('s.txt', (await upload(secret.body.id, 's.txt', Buffer.from('s'))).body.id);
    for (const n of ['a.txt', 'b.txt', 'c.txt'])
      ids.set(n, (await upload(root, n, Buffer.from(n))).body.id);
    await deny('file', ids.get('b.txt')!);
    // Trashed one by one: the file below the denied folder is hidden by inheritance, b.txt by
    // its own entry.
    for (const id of ids.values())
      expect((await h.http.delete(`/api/v1/files/${id}`).set(admin)).status).toBe(204);
    const seen = async (auth: Record<string, string>) => {
      const out: string[] = [];
      let total = -1;
      for (let offset = 0; offset < 10; offset++) {
        const r = await h.http
          .get(`/api/v1/shares/${sh.body.id}/trash`)
          .set(auth)
          .query({ limit: 1, offset });
        expect(r.status).toBe(200);
        total = r.body.total;
        if (r.body.items.length === 0) break;
        out.push(...r.body.items.map((i: { name: string }) => i.name));
      }
      return { out: out.sort(), total };
    };
    expect(await seen(editor.auth)).toEqual({ out: ['a.txt', 'c.txt'], total: 2 });
    expect(await seen(admin)).toEqual({ out: ['a.txt', 'b.txt', 'c.txt', 's.txt'], total: 4 });
    // DELETE without READ on the share: the names of the trash are not theirs to see.
    const blind = await userToken();
    await h.http
      .post(`/api/v1/shares/${sh.body.id}/members`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: blind.id, role: 'contributor' });
    const r = await h.http
      .post(`/api/v1/permissions/acl/share/${sh.body.id}`)
      .set(admin)
      .send({
        principal_type: 'user',
        principal_id: blind.id,
        permissions: ['READ'],
        ace_type: 'deny',
      });
    expect(r.status).toBe(201);
    const denied = await h.http.get(`/api/v1/shares/${sh.body.id}/trash`).set(blind.auth);
    expect(denied.status).toBe(404);
    expect(JSON.stringify(denied.body)).not.toMatch(/a\.txt|c\.txt/);
  });

  it('keeps another tenant out entirely', async () => {
    const t2 = await h.tenant('T2');
    expectError(
      await h.http.get(`/api/v1/shares/${shareId}`).set(bearer(t2.adminToken)),
      404,
      'NOT_FOUND',
    );
    expectError(
      await h.http.get(`/api/v1/folders/${rootId}/children`).set(bearer(t2.adminToken)),
      404,
      'NOT_FOUND',
    );
  });
});

describe('change feed and share lifecycle', () => {
  it('pages the change feed and soft-deletes/restores a share (owner only)', async () => {
    const feed = await h.http
      .get(`/api/v1/shares/${shareId}/changes`)
      .set(admin)
      .query({ limit: 3 });
    expect(feed.body).toMatchObject({ share_id: shareId, has_more: true });
    expect(feed.body.changes).toHaveLength(3);
    const next = await h.http
      .get(`/api/v1/shares/${shareId}/changes`)
      .set(admin)
      .query({ cursor: feed.body.cursor, limit: 3 });
    expect(next.body.changes[0].id).not.toBe(feed.body.changes[2].id);

    const owner = await userToken();
    const manager = await userToken();
    const s = await h.http
      .post('/api/v1/shares')
      .set(admin)
      .send({ name: 'Owned', owner_id: owner.id });
    await h.http
      .post(`/api/v1/shares/${s.body.id}/members`)
      .set(admin)
      .send({ principal_type: 'user', principal_id: manager.id, role: 'admin' });
    expectError(
      await h.http.delete(`/api/v1/shares/${s.body.id}`).set(manager.auth),
      403,
      'FORBIDDEN',
    );
    expect((await h.http.delete(`/api/v1/shares/${s.body.id}`).set(owner.auth)).status).toBe(204);
    expectError(await h.http.get(`/api/v1/shares/${s.body.id}`).set(owner.auth), 404, 'NOT_FOUND');
    const restored = await h.http.post(`/api/v1/shares/${s.body.id}/restore`).set(owner.auth);
    expect(restored.body).toMatchObject({ is_deleted: false });
  });
});

describe('a download that fails after its headers were sent', () => {
  it('is cut short (never a complete-looking response), logged, and the API carries on', async () => {
    const chunk = 64 * 1024;
    const data = bytes(chunk * 3, 77);
    const up = await upload(rootId, 'torn.bin', data);
    expect(up.status).toBe(201);
    // The middle chunk's bytes vanish from the store (disk fault, bad restore).
    const middle = sha256(data.subarray(chunk, chunk * 2));
    const files = (await readdir(blobDir, { recursive: true })) as string[];
    const blob = files.find((f) => path.basename(f) === middle);
    expect(blob).toBeDefined();
    await rm(path.join(blobDir, blob!));

    const outcome = await new Promise<{
      status: number;
      length: string;
      got: number;
      error: boolean;
    }>((resolve) => {
      const req = http.get(
        `http://127.0.0.1:${port}/api/v1/files/${up.body.id}/content`,
        { headers: admin },
        (res) => {
          let got = 0;
          res.on('data', (c: Buffer) => (got += c.length));
          const done = (error: boolean) =>
            resolve({
              status: res.statusCode ?? 0,
              length: String(res.headers['content-length']),
              got,
              error,
            });
          res.on('end', () => done(false));
          res.on('error', () => done(true));
          res.on('aborted', () => done(true));
        },
      );
      req.on('error', () => resolve({ status: 0, length: '', got: 0, error: true }));
    });
    expect(outcome.status).toBe(200);
    expect(outcome.length).toBe(String(data.length));
    expect(outcome.error).toBe(true);
    expect(outcome.got).toBeLessThan(data.length);
    // The socket is torn down first; the handler's log line follows.
    let logged: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !logged; i++) {
      logged = h.logs.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.message === 'download failed mid-stream');
      if (!logged) await new Promise((r) => setTimeout(r, 50));
    }
    // A chunk missing from the store is an operator's problem: logged as an error.
    expect(logged).toMatchObject({ level: 'error' });
    expect((await h.http.get(`/api/v1/files/${up.body.id}`).set(admin)).status).toBe(200);
  });
});
