import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Readable } from 'node:stream';
import { createGroup, createUser } from '@scaidrive/testkit';
import { bearer } from '../api/harness.js';
import { startE2E, type E2E } from './e2e-harness.js';

// End to end through the API and a real worker: every conflict strategy, versions and metadata,
// permissions through identity mappings.
let e: E2E;
const op = () => ({ userId: e.api.t1.adminId, origin: 'manual' });
const auth = () => bearer(e.api.t1.adminToken);

beforeAll(async () => {
  e = await startE2E();
}, 60_000);
afterAll(async () => {
  await e?.close();
  expect(e.fx.guard.violations).toEqual([]);
});

/** A ScaiDrive user writes a file in the share (not the connector). */
async function editInScaiDrive(folderPath: string, name: string, text: string, mtime = new Date()) {
  const d = e.worker.drive;
  const folder = await d.tree.mkdirp(e.api.t1.tenantId, e.api.t1.shareId, folderPath, op());
  await d.files.writeFile(
    e.api.t1.tenantId,
    e.api.t1.shareId,
    { folderId: folder.id },
    name,
    Readable.from([Buffer.from(text)]),
    op(),
    { modifiedAt: mtime },
  );
}

describe('conflicts (bidirectional, both sides edited)', () => {
  let id = '';
  const hourAgo = () => new Date(Date.now() - 3_600_000);
  const inAnHour = () => new Date(Date.now() + 3_600_000);

  beforeAll(async () => {
    for (const s of ['lww', 'keep', 'server', 'client', 'manual'])
      e.fx.emu.model.putFile(e.fx.driveId, `Conf/c-${s}.txt`, `base ${s}`, { mtime: hourAgo() });
    id = await e.createConnector({ base_path: 'Conf', target_path: '/Conflicts' });
    expect((await e.syncAndWait(id)).status).toBe('completed');
    expect(await e.shareFiles('/Conflicts')).toEqual(e.libraryFiles('Conf'));
  });

  async function conflict(strategy: string, file: string, spMtime: Date) {
    const p = await e.api.http
      .patch(`/api/v1/sharepoint-connectors/${id}`)
      .set(auth())
      .send({ conflict_resolution: strategy });
    expect(p.status).toBe(200);
    e.fx.emu.model.putFile(e.fx.driveId, `Conf/${file}`, `sharepoint ${strategy}`, {
      mtime: spMtime,
    });
    await editInScaiDrive('/Conflicts', file, `scaidrive ${strategy}`);
    const job = await e.syncAndWait(id);
    expect(job.status).toBe('completed');
    return { sp: e.libraryFiles('Conf'), sd: await e.shareFiles('/Conflicts') };
  }

  it('LAST_WRITER_WINS: the newer modification wins on both sides', async () => {
    const { sp, sd } = await conflict('LAST_WRITER_WINS', 'c-lww.txt', inAnHour());
    expect(sp['c-lww.txt']).toBe('sharepoint LAST_WRITER_WINS');
    expect(sd['c-lww.txt']).toBe('sharepoint LAST_WRITER_WINS');
  });

  it('KEEP_BOTH: the loser is kept beside the winner, on both sides', async () => {
    const { sp, sd } = await conflict('KEEP_BOTH', 'c-keep.txt', new Date());
    const keep = (files: Record<string, string>) =>
      Object.entries(files).filter(([k]) => k.startsWith('c-keep'));
    expect(
      keep(sd)
        .map(([, v]) => v)
        .sort(),
    ).toEqual(['scaidrive KEEP_BOTH', 'sharepoint KEEP_BOTH']);
    expect(
      keep(sp)
        .map(([, v]) => v)
        .sort(),
    ).toEqual(['scaidrive KEEP_BOTH', 'sharepoint KEEP_BOTH']);
    expect(keep(sd).some(([k]) => /\(conflict \d{4}-\d{2}-\d{2} \d{6} from /.test(k))).toBe(true);
  });

  it('SERVER_WINS: ScaiDrive wins', async () => {
    const { sp, sd } = await conflict('SERVER_WINS', 'c-server.txt', inAnHour());
    expect(sd['c-server.txt']).toBe('scaidrive SERVER_WINS');
    expect(sp['c-server.txt']).toBe('scaidrive SERVER_WINS');
  });

  it('CLIENT_WINS: SharePoint wins', async () => {
    const { sp, sd } = await conflict('CLIENT_WINS', 'c-client.txt', hourAgo());
    expect(sd['c-client.txt']).toBe('sharepoint CLIENT_WINS');
    expect(sp['c-client.txt']).toBe('sharepoint CLIENT_WINS');
  });

  it('MANUAL: nothing moves and the file state is a conflict', async () => {
    const { sp, sd } = await conflict('MANUAL', 'c-manual.txt', inAnHour());
    expect(sp['c-manual.txt']).toBe('sharepoint MANUAL');
    expect(sd['c-manual.txt']).toBe('scaidrive MANUAL');
    const states = await e.api.http
      .get(`/api/v1/sharepoint-connectors/${id}/file-states?status=conflict`)
      .set(auth());
    expect(states.body.file_states.map((s: { path: string }) => s.path)).toContain('c-manual.txt');
  });
});

describe('versions and metadata', () => {
  it('imports SharePoint versions in order and list-item fields', async () => {
    const m = e.fx.emu.model;
    m.putFile(e.fx.driveId, 'Meta/v.txt', 'v1');
    m.putFile(e.fx.driveId, 'Meta/v.txt', 'v2!');
    m.putFile(e.fx.driveId, 'Meta/v.txt', 'v3!!');
    m.putFile(e.fx.driveId, 'Meta/doc.txt', 'doc');
    m.setFields(e.fx.driveId, 'Meta/doc.txt', { Title: 'Quarterly', Department: 'Sales' });
    const id = await e.createConnector({
      base_path: 'Meta',
      target_path: '/Meta',
      sync_versions: true,
      sync_metadata: true,
      sync_direction: 'sharepoint_to_scaidrive',
    });
    expect((await e.syncAndWait(id)).status).toBe('completed');
    const t = e.target('/Meta');
    const versions = await t.listVersions!('v.txt');
    // Imported oldest first: ScaiDrive version numbers follow SharePoint's order; the current is the newest.
    const ordered = [...versions].sort((a, b) => Number(a.id) - Number(b.id));
    expect(ordered.map((v) => v.size)).toEqual([2, 3, 4]);
    expect(versions.find((v) => v.current)?.size).toBe(4);
    expect(await t.readMetadata!('doc.txt')).toMatchObject({
      Title: 'Quarterly',
      Department: 'Sales',
    });
    // A second run imports nothing twice.
    expect((await e.syncAndWait(id)).status).toBe('completed');
    expect((await t.listVersions!('v.txt')).length).toBe(3);
  });
});

describe('permissions through identity mappings', () => {
  it('maps Entra users and groups to ScaiDrive ACL entries; links are not mapped', async () => {
    const prisma = e.api.db.prisma;
    const tenantId = e.api.t1.tenantId;
    const user = await createUser(prisma, tenantId, { email: 'alice@scaidrive.example' });
    const group = await createGroup(prisma, tenantId, 'Marketing');
    const m = e.fx.emu.model;
    m.putFile(e.fx.driveId, 'Perm/secret/plan.txt', 'plan');
    m.setPermissions(e.fx.driveId, 'Perm/secret', [
      {
        roles: ['owner'],
        grantedTo: {
          type: 'user',
          id: e.fx.alice.id,
          displayName: e.fx.alice.displayName,
          email: e.fx.alice.mail,
        },
      },
      {
        roles: ['write'],
        grantedTo: { type: 'group', id: e.fx.group.id, displayName: e.fx.group.displayName },
      },
      { roles: ['read'], link: { type: 'view', scope: 'organization' } },
    ]);
    const id = await e.createConnector({
      base_path: 'Perm',
      target_path: '/Perm',
      sync_permissions: true,
      sync_direction: 'sharepoint_to_scaidrive',
    });
    for (const [type, principal, target] of [
      ['user', e.fx.alice.id, user.id],
      ['group', e.fx.group.id, group.id],
    ] as const) {
      const r = await e.api.http
        .post(`/api/v1/sharepoint-connectors/${id}/identity-mappings`)
        .set(auth())
        .send({ identity_type: type, smb_principal: principal, scaidrive_principal_id: target });
      expect(r.status).toBe(201);
    }
    const job = await e.syncAndWait(id);
    expect(job.status).toBe('completed');
    const entries = await prisma.aclEntry.findMany({
      where: { tenantId, origin: `connector:${id}` },
    });
    // The link is reported on the job (on the folder and, inherited, on its file), not silently
    // dropped; both principals were mapped.
    const { summary } = await e.jobDetail(id, job.id);
    expect(summary.unmapped_grants.count).toBe(2);
    const link = { reason: 'sharing_link', detail: 'organization view link' };
    expect(
      [...summary.unmapped_grants.samples].sort((a: any, b: any) => a.path.localeCompare(b.path)),
    ).toEqual([
      { path: 'secret', ...link },
      { path: 'secret/plan.txt', ...link },
    ]);
    expect(summary.unmapped_principal_count).toBe(0);
    expect(summary.error).toBeNull();
    const byPrincipal = Object.fromEntries(entries.map((x) => [x.principalId, x.permissions]));
    expect(byPrincipal[user.id]).toBe(63); // owner: every permission
    expect(byPrincipal[group.id]).toBe(1 | 2 | 4 | 8); // write: READ WRITE DELETE CREATE
    expect(entries.some((x) => x.principalType === 'everyone')).toBe(false); // the link is not mapped
  });
});
