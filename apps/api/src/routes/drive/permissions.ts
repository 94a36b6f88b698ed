import type { Request, Router } from 'express';
import { ForbiddenError, NotFoundError } from '@scaidrive/core';
import {
  Permission,
  bitsToPermissions,
  permissionBooleans,
  permissionsToBits,
  type Drive,
  type PermissionName,
  type Principal,
  type ResourceRef,
} from '@scaidrive/drive';
import { actorOf, param, principalOf, tenantOf } from './common.js';
import { acl, aclEntry } from './serialize.js';

/** `/permissions/acl/**`, `/permissions/effective`, `/permissions/check`. */
export function mountPermissions(router: Router, drive: Drive): void {
  const perms = drive.permissions;
  const resourceOf = (req: Request): ResourceRef => ({
    type: param(req, 'resource_type') as ResourceRef['type'],
    id: param(req, 'resource_id'),
  });
  const base = '/permissions/acl/:resource_type/:resource_id';

  router.get(base, async (req, res) => {
    const r = resourceOf(req);
    await perms.require(principalOf(req), r, Permission.MANAGE_PERMISSIONS);
    res.json(acl(await drive.acl.get(tenantOf(req), r)));
  });
  router.post(base, async (req, res) => {
    const r = resourceOf(req);
    await perms.require(principalOf(req), r, Permission.MANAGE_PERMISSIONS);
    const b = req.body as {
      principal_type: 'user' | 'group' | 'everyone';
      principal_id: string;
      permissions: PermissionName[];
      ace_type: 'allow' | 'deny';
      inherit_to_children?: boolean;
    };
    const { entry, created } = await drive.acl.add(
      tenantOf(req),
      r,
      {
        principalType: b.principal_type,
        principalId: b.principal_id,
        permissions: permissionsToBits(b.permissions, 'body.permissions'),
        aceType: b.ace_type,
        inheritToChildren: b.inherit_to_children ?? true,
      },
      actorOf(req),
    );
    res.status(created ? 201 : 200).json(aclEntry(entry));
  });
  router.delete(base, async (req, res) => {
    const r = resourceOf(req);
    await perms.require(principalOf(req), r, Permission.MANAGE_PERMISSIONS);
    const b = req.body as {
      principal_type: 'user' | 'group' | 'everyone';
      principal_id: string;
      ace_type: 'allow' | 'deny';
    };
    await drive.acl.remove(
      tenantOf(req),
      r,
      { principalType: b.principal_type, principalId: b.principal_id, aceType: b.ace_type },
      actorOf(req),
    );
    res.status(204).end();
  });
  router.put(`${base}/inheritance`, async (req, res) => {
    const r = resourceOf(req);
    await perms.require(principalOf(req), r, Permission.MANAGE_PERMISSIONS);
    const b = req.body as { inherit_from_parent: boolean; copy_inherited?: boolean };
    const view = await drive.acl.setInheritance(
      tenantOf(req),
      r,
      b.inherit_from_parent,
      actorOf(req),
      {
        copyInherited: b.copy_inherited === true,
      },
    );
    res.json(acl(view));
  });

  /** You may ask about what you can see: the item, or at least its share (else 404). */
  async function requireVisible(me: Principal, r: ResourceRef): Promise<void> {
    await perms.require(me, r, Permission.READ).catch((err: unknown) => {
      if (err instanceof ForbiddenError) return;
      throw err;
    });
  }

  /** The principal a check is about: the caller, or (with MANAGE_PERMISSIONS) another user. */
  async function subject(
    req: Request,
    r: ResourceRef,
    userId: string | undefined,
  ): Promise<Principal> {
    const me = principalOf(req);
    if (!userId || userId === me.userId) return me;
    await perms.require(me, r, Permission.MANAGE_PERMISSIONS);
    const user = await drive.principals.findUser(me.tenantId, userId);
    if (!user) throw new NotFoundError('User');
    return drive.principals.principalFor(me.tenantId, userId).catch(() => ({
      // A suspended user holds nothing through this API.
      tenantId: me.tenantId,
      userId,
      groupIds: [],
      isTenantAdmin: false,
    }));
  }

  router.get('/permissions/effective', async (req, res) => {
    const r: ResourceRef = {
      type: String(req.query.resource_type) as ResourceRef['type'],
      id: String(req.query.resource_id),
    };
    await requireVisible(principalOf(req), r);
    const who = await subject(
      req,
      r,
      typeof req.query.user_id === 'string' ? req.query.user_id : undefined,
    );
    const bits = await perms.effective(who, r);
    res.json({
      resource_type: r.type,
      resource_id: r.id,
      user_id: who.userId,
      permissions: bits,
      permission_names: bitsToPermissions(bits),
      ...permissionBooleans(bits),
    });
  });
  router.post('/permissions/check', async (req, res) => {
    const b = req.body as {
      resource_type: ResourceRef['type'];
      resource_id: string;
      permission: PermissionName;
      user_id?: string;
    };
    const r: ResourceRef = { type: b.resource_type, id: b.resource_id };
    await requireVisible(principalOf(req), r);
    const who = await subject(req, r, b.user_id);
    const bits = await perms.effective(who, r);
    const want = Permission[b.permission];
    res.json({
      allowed: (bits & want) === want,
      resource_type: r.type,
      resource_id: r.id,
      user_id: who.userId,
      permission: b.permission,
      permissions: bits,
    });
  });
}
