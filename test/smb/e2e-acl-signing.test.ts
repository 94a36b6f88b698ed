import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SmbClient, type SmbSession } from '@scaidrive/smb-client';
import { createGroup, createUser } from '@scaidrive/testkit';
import { bearer } from '../api/harness.js';
import { putScaiDrive, sha256, startSmbE2E, type SmbE2E } from './harness.js';

/**
 * On a Samba that requires signing: permissions (DACLs set with smbcacls → identity mappings →
 * ScaiDrive ACL entries, unmapped principals counted), write-back to the share, and files that
 * are locked or unreadable on the server becoming per-file errors while the rest syncs.
 */
let e: SmbE2E;
let netbios: string;
let group: string; // Unix group mapped to the Samba domain group `ntGroup`
let ntGroup: string;
const P = { READ: 1, WRITE: 2, DELETE: 4, CREATE: 8, MANAGE_PERMISSIONS: 32 };
const users: Record<'alice' | 'bob' | 'carol', { name: string; sid?: string; id?: string }> = {
  alice: { name: '' },
  bob: { name: '' },
  carol: { name: '' },
};
let finance: { id: string; sid?: string };

async function smbcacls(rel: string, args: string[]): Promise<void> {
  const r = await e.samba.smbcacls('data', rel, args);
  if (r.code !== 0) throw new Error(`smbcacls ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

beforeAll(async () => {
  e = await startSmbE2E({ samba: { signing: 'mandatory', users: 4 } });
  netbios = e.samba.netbiosName;
  const tag = netbios.slice(3).toLowerCase();
  group = `sdtg${tag}`.slice(0, 30);
  ntGroup = `Finance${tag.slice(0, 6)}`;
  execFileSync('groupadd', [group]);
  execFileSync('net', [
    '-s',
    e.samba.confPath,
    'groupmap',
    'add',
    `ntgroup=${ntGroup}`,
    `unixgroup=${group}`,
    'type=domain',
  ]);
  users.alice.name = e.samba.users[1]!.username;
  users.bob.name = e.samba.users[2]!.username;
  users.carol.name = e.samba.users[3]!.username;
}, 120_000);

afterAll(async () => {
  await e?.close();
  if (group) execFileSync('groupdel', [group]);
});

describe('on a signing-mandatory server', () => {
  it('the probe reports a signed session', async () => {
    const id = await e.createConnector({ base_path: '', target_path: '/probe' });
    const res = await e.api.http
      .post(`/api/v1/smb-connectors/${id}/test`)
      .set(bearer(e.api.t1.adminToken));
    expect(res.body).toMatchObject({ success: true, details: { signing: true } });
    expect(res.body.message).toMatch(/, signed, /);
  });
});

describe('permissions', () => {
  let id: string;
  const target = '/Permissions';

  /** The connector's ACL entries on the ScaiDrive item at `rel`, in comparable form. */
  async function acl(rel: string) {
    const entry = await e.target(target).stat(rel);
    expect(entry).not.toBeNull();
    const rows = await e.api.db.prisma.aclEntry.findMany({
      where: { resourceId: entry!.id!, origin: `connector:${id}` },
    });
    return {
      ids: rows.map((r) => r.id).sort(),
      entries: rows
        .map((r) => ({
          principal: r.principalId,
          type: r.aceType,
          permissions: r.permissions,
          inherit: r.inheritToChildren,
        }))
        .sort((a, b) => `${a.principal}${a.type}`.localeCompare(`${b.principal}${b.type}`)),
    };
  }

  beforeAll(async () => {
    const prisma = e.api.db.prisma;
    const tenantId = e.api.t1.tenantId;
    for (const u of Object.values(users)) u.id = (await createUser(prisma, tenantId)).id;
    finance = { id: (await createGroup(prisma, tenantId, 'Finance')).id };
    await e.samba.smbclientOk('data', 'mkdir acl; mkdir acl\\Team; mkdir acl\\Public');
    const who = (n: string) => `${netbios}\\${n}`;
    await smbcacls('acl/Team', [
      '--add',
      [
        `ACL:${who(users.alice.name)}:ALLOWED/OI|CI/CHANGE`,
        `ACL:${who(ntGroup)}:ALLOWED/OI|CI/READ`,
        `ACL:${who(users.carol.name)}:ALLOWED/0x0/READ`,
      ].join(','),
    ]);
    // Created after the folder's ACL: it inherits alice's and the group's grants.
    const local = path.join(e.samba.dir, 'plan.docx');
    writeFileSync(local, 'the plan');
    await e.samba.smbclientOk(
      'data',
      `put ${local} acl\\Team\\plan.docx; put ${local} acl\\Public\\open.docx`,
    );
    await smbcacls('acl/Team/plan.docx', ['--add', `ACL:${who(users.bob.name)}:DENIED/0x0/W`]);
    id = await e.createConnector({
      base_path: 'acl',
      target_path: target,
      sync_permissions: true,
    });
    // SID of bob through smb-client (an operator could read it from Windows' security dialog).
    const s: SmbSession = await SmbClient.connect(e.samba.clientOptions());
    try {
      const found = await s.lookupNames([who(users.bob.name), who(users.carol.name)]);
      users.bob.sid = found.get(who(users.bob.name))!.sid;
      users.carol.sid = found.get(who(users.carol.name))!.sid;
    } finally {
      await s.close();
    }
    const map = async (
      identity_type: string,
      smb_principal: string,
      scaidrive_principal_id: string,
    ) => {
      const r = await e.api.http
        .post(`/api/v1/smb-connectors/${id}/identity-mappings`)
        .set(bearer(e.api.t1.adminToken))
        .send({ identity_type, smb_principal, scaidrive_principal_id });
      expect(r.status).toBe(201);
    };
    await map('user', `${netbios}\\${users.alice.name}`, users.alice.id!); // by name
    await map('user', users.bob.sid, users.bob.id!); // by SID
    await map('group', `${netbios.toLowerCase()}\\${ntGroup.toUpperCase()}`, finance.id); // by name, other case
  }, 60_000);

  it('maps DACLs to ScaiDrive ACL entries and counts unmapped principals', async () => {
    const job = await e.sync(id);
    expect(job.status).toBe('completed');
    expect(job.errorCount).toBe(0);
    // Mappings given as DOMAIN\name now carry their SID.
    const rows = await e.api.db.prisma.identityMapping.findMany({ where: { connectorId: id } });
    for (const r of rows) expect(r.resolvedSid).toMatch(/^S-1-5-21-\d+-\d+-\d+-\d+$/);
    expect(rows.find((r) => r.scaidrivePrincipalId === users.bob.id)!.resolvedSid).toBe(
      users.bob.sid,
    );

    const team = await acl('Team');
    expect(team.entries).toEqual(
      expect.arrayContaining([
        {
          principal: users.alice.id,
          type: 'allow',
          permissions: P.READ | P.WRITE | P.DELETE | P.CREATE,
          inherit: true,
        },
        { principal: finance.id, type: 'allow', permissions: P.READ, inherit: true },
        { principal: 'everyone', type: 'allow', permissions: P.READ, inherit: true },
      ]),
    );
    expect(team.entries.map((x) => x.principal)).not.toContain(users.carol.id);
    const plan = await acl('Team/plan.docx');
    expect(plan.entries).toEqual(
      expect.arrayContaining([
        {
          principal: users.alice.id,
          type: 'allow',
          permissions: P.READ | P.WRITE | P.DELETE,
          inherit: false,
        },
        { principal: finance.id, type: 'allow', permissions: P.READ, inherit: false },
        { principal: users.bob.id, type: 'deny', permissions: P.WRITE, inherit: false },
      ]),
    );
    // Unmapped: carol, the share owner's account and its primary group — reported, never guessed.
    const unmapped = job.summary!.unmappedPrincipals!;
    const ids = unmapped.map((p) => p.id);
    expect(ids).toContain(users.carol.sid);
    expect(unmapped.find((p) => p.id === users.carol.sid)?.name?.toLowerCase()).toBe(
      `${netbios}\\${users.carol.name}`.toLowerCase(),
    );
    for (const mapped of [users.bob.sid, rows[0]!.resolvedSid, 'everyone'])
      expect(ids).not.toContain(mapped);
    expect(unmapped.map((p) => p.name?.split('\\')[1]).sort()).toEqual(
      [users.carol.name, e.samba.user.username, 'None'].sort(),
    );
    expect(job.summary!.unmappedPrincipalCount).toBe(3);
  });

  it('writes only ACLs that changed', async () => {
    const before = { team: await acl('Team'), plan: await acl('Team/plan.docx') };
    // A stored SID gone stale (the account was recreated under the same name) is refreshed.
    const prisma = e.api.db.prisma;
    const aliceMap = await prisma.identityMapping.findFirstOrThrow({
      where: { connectorId: id, scaidrivePrincipalId: users.alice.id! },
    });
    await prisma.identityMapping.update({
      where: { id: aliceMap.id },
      data: { resolvedSid: 'S-1-5-21-1-2-3-99999' },
    });
    const again = await e.sync(id);
    expect(again.status).toBe('completed');
    expect(
      (await prisma.identityMapping.findUniqueOrThrow({ where: { id: aliceMap.id } })).resolvedSid,
    ).toBe(aliceMap.resolvedSid);
    expect((await acl('Team')).ids).toEqual(before.team.ids);
    expect((await acl('Team/plan.docx')).ids).toEqual(before.plan.ids);
    // alice loses her grant on the folder (not propagated to existing children by smbcacls).
    await smbcacls('acl/Team', [
      '--delete',
      `ACL:${netbios}\\${users.alice.name}:ALLOWED/OI|CI/CHANGE`,
    ]);
    const changed = await e.sync(id);
    expect(changed.status).toBe('completed');
    const team = await acl('Team');
    expect(team.entries.map((x) => x.principal)).not.toContain(users.alice.id);
    expect(team.entries).toContainEqual({
      principal: finance.id,
      type: 'allow',
      permissions: P.READ,
      inherit: true,
    });
    expect((await acl('Team/plan.docx')).ids).toEqual(before.plan.ids);
  });

  it('a name mapping is not re-pointed to an account of another kind', async () => {
    // A group mapping whose stored SID is stale, while the name now resolves to a user.
    const prisma = e.api.db.prisma;
    const aliceMap = await prisma.identityMapping.findFirstOrThrow({
      where: { connectorId: id, scaidrivePrincipalId: users.alice.id! },
    });
    const stale = 'S-1-5-21-1-2-3-88888';
    await prisma.identityMapping.update({
      where: { id: aliceMap.id },
      data: { identityType: 'group', resolvedSid: stale },
    });
    try {
      expect((await e.sync(id)).status).toBe('completed');
      expect(
        (await prisma.identityMapping.findUniqueOrThrow({ where: { id: aliceMap.id } }))
          .resolvedSid,
      ).toBe(stale);
    } finally {
      await prisma.identityMapping.update({
        where: { id: aliceMap.id },
        data: { identityType: aliceMap.identityType, resolvedSid: aliceMap.resolvedSid },
      });
    }
  });

  it('carries ScaiDrive edits back to the signing-mandatory share', async () => {
    await putScaiDrive(e.target(target), 'Public/from-scaidrive.docx', 'written in ScaiDrive');
    const job = await e.sync(id);
    expect(job.status).toBe('completed');
    expect(job.filesSynced).toBe(1);
    expect(readFileSync(e.samba.localPath('data', 'acl/Public/from-scaidrive.docx'), 'utf8')).toBe(
      'written in ScaiDrive',
    );
  });
});

describe('per-file errors', () => {
  it('a locked and an unreadable file fail alone; the rest syncs, and they follow once freed', async () => {
    const root = e.samba.localPath('data', 'err');
    await e.samba.smbclientOk('data', 'mkdir err; mkdir err\\sub');
    const local = path.join(e.samba.dir, 'x.docx');
    for (const name of ['ok1.docx', 'locked.docx', 'sub\\ok2.docx']) {
      writeFileSync(local, `content of ${name}`);
      await e.samba.smbclientOk('data', `put ${local} err\\${name}`);
    }
    writeFileSync(path.join(root, 'secret.docx'), 'root only');
    chownSync(path.join(root, 'secret.docx'), 0, 0);
    chmodSync(path.join(root, 'secret.docx'), 0o000);
    const id = await e.createConnector({ base_path: 'err', target_path: '/Errors' });
    // Another user holds locked.docx open with no sharing (as an application would).
    const holder = await SmbClient.connect(e.samba.clientOptions(e.samba.users[1]));
    try {
      const tree = await holder.openShare('data');
      const h = await tree.open('err/locked.docx', { access: 0x1 | 0x80, shareAccess: 0 });
      try {
        const job = await e.sync(id);
        expect(job.status).toBe('completed');
        expect(job.errorCount).toBe(2);
        const codes = Object.fromEntries(job.summary!.errors!.map((x) => [x.path, x.code]));
        expect(codes).toEqual({
          'locked.docx': 'ITEM_LOCKED',
          'secret.docx': 'ITEM_ACCESS_DENIED',
        });
        const snap = await e.shareTree('/Errors');
        expect(snap.files).toEqual({
          'ok1.docx': sha256('content of ok1.docx'),
          'sub/ok2.docx': sha256('content of sub\\ok2.docx'),
        });
        const states = await e.api.http
          .get(`/api/v1/smb-connectors/${id}/file-states?status=error`)
          .set(bearer(e.api.t1.adminToken));
        expect(
          (states.body.file_states as { path: string; last_error: string | null }[])
            .map((s) => s.path)
            .sort(),
        ).toEqual(['locked.docx', 'secret.docx']);
        const c = await e.api.http
          .get(`/api/v1/smb-connectors/${id}`)
          .set(bearer(e.api.t1.adminToken));
        expect(c.body).toMatchObject({ status: 'idle', error_count: 2 });
      } finally {
        await h.close();
      }
    } finally {
      await holder.close();
    }
    chmodSync(path.join(root, 'secret.docx'), 0o644);
    const job = await e.sync(id);
    expect(job.errorCount).toBe(0);
    expect(job.filesSynced).toBe(2);
    expect(Object.keys((await e.shareTree('/Errors')).files).sort()).toEqual([
      'locked.docx',
      'ok1.docx',
      'secret.docx',
      'sub/ok2.docx',
    ]);
  });
});
