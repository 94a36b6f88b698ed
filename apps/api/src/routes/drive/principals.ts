import type { Router } from 'express';
import type { Drive } from '@scaidrive/drive';
import { page, param, requirePrincipalAdmin, str, tenantOf } from './common.js';
import { group, user } from './serialize.js';

/** `/users/**` and `/groups/**`: reading for every user of the tenant, changes for tenant admins. */
export function mountPrincipals(router: Router, drive: Drive): void {
  const p = drive.principals;

  router.get('/users', async (req, res) => {
    const { users, total } = await p.listUsers(tenantOf(req), {
      ...page(req),
      q: str(req.query.q),
    });
    res.json({ users: users.map(user), total });
  });
  router.post('/users', async (req, res) => {
    requirePrincipalAdmin(req);
    const b = req.body as {
      email?: string | null;
      display_name?: string | null;
      role?: 'user' | 'tenant_admin';
    };
    const created = await p.createUser(tenantOf(req), {
      email: b.email ?? null,
      displayName: b.display_name ?? null,
      role: b.role ?? 'user',
    });
    res.status(201).location(`/api/v1/users/${created.id}`).json(user(created));
  });
  router.get('/users/:user_id', async (req, res) => {
    res.json(user(await p.getUser(tenantOf(req), param(req, 'user_id'))));
  });
  router.patch('/users/:user_id', async (req, res) => {
    requirePrincipalAdmin(req);
    const b = req.body as {
      email?: string | null;
      display_name?: string | null;
      role?: 'user' | 'tenant_admin';
      status?: 'active' | 'suspended';
    };
    const updated = await p.updateUser(tenantOf(req), param(req, 'user_id'), {
      ...('email' in b ? { email: b.email ?? null } : {}),
      ...('display_name' in b ? { displayName: b.display_name ?? null } : {}),
      ...(b.role ? { role: b.role } : {}),
      ...(b.status ? { status: b.status } : {}),
    });
    res.json(user(updated));
  });
  router.delete('/users/:user_id', async (req, res) => {
    requirePrincipalAdmin(req);
    await p.deleteUser(tenantOf(req), param(req, 'user_id'));
    res.status(204).end();
  });
  router.get('/users/:user_id/groups', async (req, res) => {
    await p.getUser(tenantOf(req), param(req, 'user_id'));
    const groups = await p.groupsOfUser(tenantOf(req), param(req, 'user_id'));
    res.json({ groups: groups.map(group), total: groups.length });
  });

  router.get('/groups', async (req, res) => {
    const { groups, total } = await p.listGroups(tenantOf(req), {
      ...page(req),
      q: str(req.query.q),
    });
    res.json({ groups: groups.map(group), total });
  });
  router.post('/groups', async (req, res) => {
    requirePrincipalAdmin(req);
    const b = req.body as { name: string; email?: string | null; description?: string | null };
    const created = await p.createGroup(tenantOf(req), b);
    res.status(201).location(`/api/v1/groups/${created.id}`).json(group(created));
  });
  router.get('/groups/:group_id', async (req, res) => {
    res.json(group(await p.getGroup(tenantOf(req), param(req, 'group_id'))));
  });
  router.patch('/groups/:group_id', async (req, res) => {
    requirePrincipalAdmin(req);
    res.json(group(await p.updateGroup(tenantOf(req), param(req, 'group_id'), req.body)));
  });
  router.delete('/groups/:group_id', async (req, res) => {
    requirePrincipalAdmin(req);
    await p.deleteGroup(tenantOf(req), param(req, 'group_id'));
    res.status(204).end();
  });
  router.get('/groups/:group_id/members', async (req, res) => {
    const { users, total } = await p.listGroupMembers(
      tenantOf(req),
      param(req, 'group_id'),
      page(req),
    );
    res.json({ users: users.map(user), total });
  });
  router.put('/groups/:group_id/members/:user_id', async (req, res) => {
    requirePrincipalAdmin(req);
    await p.addGroupMember(tenantOf(req), param(req, 'group_id'), param(req, 'user_id'));
    res.status(204).end();
  });
  router.delete('/groups/:group_id/members/:user_id', async (req, res) => {
    requirePrincipalAdmin(req);
    await p.removeGroupMember(tenantOf(req), param(req, 'group_id'), param(req, 'user_id'));
    res.status(204).end();
  });
}
