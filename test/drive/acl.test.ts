import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Permission as P,
  bitsToPermissions,
  type Principal,
  type ResourceRef,
} from '@scaidrive/drive';
import { createTenant, createUser } from '@scaidrive/testkit';
import { driveFixture, streamOf, type DriveFixture } from './support.js';

let f: DriveFixture;
const who: Record<string, Principal> = {};
const res: Record<string, ResourceRef> = {};
const actor = {};

beforeAll(async () => {
  f = await driveFixture();
  const { drive, tenantId } = f;
  const u = async (name: string, role: 'user' | 'tenant_admin' = 'user') =>
    (await drive.principals.createUser(tenantId, { displayName: name, role })).id;
  const owner = await u('owner');
  const reader = await u('reader');
  const contributor = await u('contributor');
  const groupie = await u('groupie');
  const roleGroupie = await u('role-groupie');
  const outsider = await u('outsider');
  const expired = await u('expired');
  const grp = await drive.principals.createGroup(tenantId, { name: 'Readers+create' });
  const grp2 = await drive.principals.createGroup(tenantId, { name: 'Contributors' });
  await drive.principals.addGroupMember(tenantId, grp.id, groupie);
  await drive.principals.addGroupMember(tenantId, grp2.id, roleGroupie);

  const share = await drive.shares.create(tenantId, { name: 'ACL', ownerId: owner }, actor);
  const m = (
    id: string,
    role: 'reader' | 'contributor',
    principalType: 'user' | 'group' = 'user',
    expiresAt?: Date,
  ) =>
    drive.shares.setMember(
      tenantId,
      share.id,
      { principalType, principalId: id, role, expiresAt },
      actor,
    );
  await m(reader, 'reader');
  await m(contributor, 'contributor');
  await m(grp2.id, 'contributor', 'group');
  await m(expired, 'reader', 'user', new Date(Date.now() - 60_000));

  const a = await drive.tree.mkdirp(tenantId, share.id, '/A', actor);
  const b = await drive.tree.mkdirp(tenantId, share.id, '/A/B', actor);
  const fTxt = (
    await drive.files.writeFile(
      tenantId,
      share.id,
      { path: '/A/B' },
      'f.txt',
      streamOf(Buffer.from('f')),
      actor,
    )
  ).node;
  const gTxt = (
    await drive.files.writeFile(
      tenantId,
      share.id,
      { path: '/A' },
      'g.txt',
      streamOf(Buffer.from('g')),
      actor,
    )
  ).node;
  res.share = { type: 'share', id: share.id };
  res.A = { type: 'folder', id: a.id };
  res.B = { type: 'folder', id: b.id };
  res.f = { type: 'file', id: fTxt.id };
  res.g = { type: 'file', id: gTxt.id };

  const add = (
    r: ResourceRef,
    principalType: 'user' | 'group' | 'everyone',
    principalId: string,
    aceType: 'allow' | 'deny',
    permissions: number,
    inheritToChildren = true,
  ) =>
    drive.acl.add(
      tenantId,
      r,
      { principalType, principalId, aceType, permissions, inheritToChildren },
      actor,
    );
  await add(res.share, 'group', grp.id, 'allow', P.READ | P.CREATE);
  await add(res.A, 'user', reader, 'deny', P.READ);
  await add(res.B, 'user', reader, 'allow', P.READ);
  await add(res.f, 'everyone', 'everyone', 'deny', P.DELETE);
  await add(res.A, 'user', outsider, 'allow', P.READ | P.WRITE, false);
  await drive.acl.setInheritance(tenantId, res.g, false, actor);

  const principal = (
    userId: string,
    groupIds: string[] = [],
    isTenantAdmin = false,
  ): Principal => ({
    tenantId,
    userId,
    groupIds,
    isTenantAdmin,
  });
  who.owner = principal(owner);
  who.admin = f.admin;
  who.reader = principal(reader);
  who.contributor = principal(contributor);
  who.groupie = principal(groupie, [grp.id]);
  who.roleGroupie = principal(roleGroupie, [grp2.id]);
  who.outsider = principal(outsider);
  who.expired = principal(expired);
  const other = await createTenant(f.db.prisma, 'Other');
  const otherAdmin = await createUser(f.db.prisma, other.id, { role: 'tenant_admin' });
  who.otherTenantAdmin = {
    tenantId: other.id,
    userId: otherAdmin.id,
    groupIds: [],
    isTenantAdmin: true,
  };
});
afterAll(async () => {
  await f.close();
});

const ALL = 63;
const RWDC = P.READ | P.WRITE | P.DELETE | P.CREATE;
const table: [string, string, number, string][] = [
  ['owner', 'share', ALL, 'owner role: everything'],
  ['owner', 'f', ALL & ~P.DELETE, 'an everyone-deny removes a bit even from the owner'],
  ['admin', 'f', ALL, 'tenant admin: everything, denies do not apply'],
  ['otherTenantAdmin', 'share', 0, 'another tenant sees nothing'],
  ['reader', 'share', P.READ, 'reader role'],
  ['reader', 'A', 0, 'explicit deny on the folder'],
  ['reader', 'B', P.READ, 'explicit allow beats the inherited deny'],
  ['reader', 'f', P.READ, 'nearest level (B allow) decides over A deny'],
  ['reader', 'g', P.READ, 'inheritance off: the parent deny does not reach, the role still counts'],
  ['contributor', 'share', RWDC, 'contributor role'],
  ['contributor', 'f', RWDC & ~P.DELETE, 'deny on the file'],
  ['contributor', 'g', RWDC, 'role through a non-inheriting file'],
  ['groupie', 'share', P.READ | P.CREATE, 'group allow on the share'],
  ['groupie', 'f', P.READ | P.CREATE, 'group allow inherited down the tree'],
  ['groupie', 'g', 0, 'inheritance off cuts the share allow'],
  ['roleGroupie', 'share', RWDC, 'a group member gets the group role'],
  ['outsider', 'share', 0, 'no role, no entries'],
  ['outsider', 'A', P.READ | P.WRITE, 'allow on the folder itself'],
  ['outsider', 'B', 0, 'inherit_to_children=false does not reach children'],
  ['expired', 'share', 0, 'expired membership counts for nothing'],
];

describe('effective permissions (one function for every check)', () => {
  it.each(table)('%s on %s → %s (%s)', async (p, r, expected) => {
    const bits = await f.drive.permissions.effective(who[p]!, res[r]!);
    expect(bitsToPermissions(bits)).toEqual(bitsToPermissions(expected));
  });

  it('answers a whole listing at once with the same rule', async () => {
    const children = [
      { id: res.B!.id, inheritAcl: true },
      { id: res.g!.id, inheritAcl: false },
    ];
    for (const p of ['reader', 'groupie', 'contributor', 'outsider'] as const) {
      const map = await f.drive.permissions.effectiveForChildren(who[p]!, res.A!.id, children);
      expect(map.get(res.B!.id) ?? 0).toBe(await f.drive.permissions.effective(who[p]!, res.B!));
      expect(map.get(res.g!.id) ?? 0).toBe(await f.drive.permissions.effective(who[p]!, res.g!));
    }
  });

  it('answers "which of these may they read" for a whole share at once with the same rule', async () => {
    const items = [res.A!, res.B!, res.f!, res.g!];
    const ids = [...items.map((r) => r.id), 'nod_missing'];
    for (const p of Object.keys(who)) {
      const readable = await f.drive.permissions.readableInShare(who[p]!, res.share!.id, ids);
      const expected = new Set<string>();
      for (const r of items)
        if ((await f.drive.permissions.effective(who[p]!, r)) & P.READ) expected.add(r.id);
      expect({ p, readable: [...readable].sort() }).toEqual({ p, readable: [...expected].sort() });
    }
    // The reader is denied A by its own entry but reads B, f (B's allow) and g (inheritance off).
    expect(
      [...(await f.drive.permissions.readableInShare(who.reader!, res.share!.id, ids))].sort(),
    ).toEqual([res.B!.id, res.f!.id, res.g!.id].sort());
  });

  it('reports a wrong resource type or an unknown id as no permission', async () => {
    expect(await f.drive.permissions.effective(who.admin!, { type: 'file', id: res.A!.id })).toBe(
      0,
    );
    expect(await f.drive.permissions.effective(who.admin!, { type: 'share', id: 'shr_nope' })).toBe(
      0,
    );
  });
});

describe('require', () => {
  it('is NotFound when the caller can read neither the item nor the share', async () => {
    await expect(f.drive.permissions.require(who.outsider!, res.B!, P.WRITE)).rejects.toMatchObject(
      {
        code: 'NOT_FOUND',
      },
    );
    await expect(
      f.drive.permissions.require(who.expired!, res.share!, P.READ),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      f.drive.permissions.require(who.otherTenantAdmin!, res.f!, P.READ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('is Forbidden when the caller can see it but lacks the permission', async () => {
    await expect(f.drive.permissions.require(who.reader!, res.f!, P.WRITE)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      details: { required: ['WRITE'] },
    });
    // Cannot read folder A, but can read the share: 403, not 404.
    await expect(f.drive.permissions.require(who.reader!, res.A!, P.READ)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    // Can read folder A without share access (outsider's explicit allow): 403 for DELETE.
    await expect(
      f.drive.permissions.require(who.outsider!, res.A!, P.DELETE),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await f.drive.permissions.require(who.contributor!, res.g!, P.WRITE)).toBe(RWDC);
  });
});

describe('ACL administration', () => {
  it('rejects principals of another tenant and unknown permissions', async () => {
    await expect(
      f.drive.acl.add(
        f.tenantId,
        res.A!,
        {
          principalType: 'user',
          principalId: who.otherTenantAdmin!.userId,
          aceType: 'allow',
          permissions: 1,
        },
        actor,
      ),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(
      f.drive.acl.add(
        f.tenantId,
        res.A!,
        { principalType: 'everyone', principalId: 'everyone', aceType: 'allow', permissions: 0 },
        actor,
      ),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('copies inherited entries when breaking inheritance on request', async () => {
    const view = await f.drive.acl.setInheritance(f.tenantId, res.B!, false, actor, {
      copyInherited: true,
    });
    expect(view.inheritFromParent).toBe(false);
    // The reader deny from A and the group allow from the share are now B's own entries...
    expect(
      view.entries.map((e) => `${e.aceType}:${e.principalType}:${e.permissions}`).sort(),
    ).toEqual(['allow:group:9', 'allow:user:1', 'deny:user:1'].sort());
    // ...so the groupie's effective permission on B is unchanged; the reader's nearest level now
    // holds both allow and deny READ, and deny wins within a level.
    expect(await f.drive.permissions.effective(who.groupie!, res.B!)).toBe(P.READ | P.CREATE);
    expect(await f.drive.permissions.effective(who.reader!, res.B!)).toBe(0);
    await f.drive.acl.remove(
      f.tenantId,
      res.B!,
      { principalType: 'user', principalId: who.reader!.userId, aceType: 'deny' },
      actor,
    );
    await f.drive.acl.setInheritance(f.tenantId, res.B!, true, actor);
    expect(await f.drive.permissions.effective(who.reader!, res.B!)).toBe(P.READ);
  });
});
