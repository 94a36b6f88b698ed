import type { Router } from 'express';
import { ForbiddenError, NotFoundError } from '@scaidrive/core';
import { Permission, type Drive, type ShareRole } from '@scaidrive/drive';
import { actorOf, page, param, principalOf, requireTenantAdmin, str, tenantOf } from './common.js';
import { change, item, member, redactedChange, share } from './serialize.js';

/** `/shares/**` (share, members, trash, change feed) and ownership transfer. */
export function mountShares(router: Router, drive: Drive): void {
  const s = drive.shares;
  const perms = drive.permissions;
  const shareRef = (id: string) => ({ type: 'share' as const, id });

  /** Owner or tenant admin (deleting, restoring, transferring a share). */
  async function requireOwner(req: Parameters<Parameters<Router['get']>[1]>[0], shareId: string) {
    const p = principalOf(req);
    const sh = await s.find(tenantOf(req), shareId, { includeDeleted: true });
    if (!sh) throw new NotFoundError('Share');
    if (p.isTenantAdmin) return sh;
    const isOwner = sh.ownerId === p.userId || p.groupIds.includes(sh.ownerId);
    if (!isOwner) {
      // Hide shares the caller cannot read at all.
      if (sh.deletedAt || (await perms.effective(p, shareRef(shareId))) === 0)
        throw new NotFoundError('Share');
      throw new ForbiddenError('Only the owner or a tenant admin can do this');
    }
    return sh;
  }

  router.get('/shares', async (req, res) => {
    const { shares, total } = await s.list(tenantOf(req), {
      ...page(req),
      q: str(req.query.q),
      includeTrashed: req.query.include_trashed === 'true',
      visibleTo: principalOf(req),
    });
    res.json({ shares: shares.map(share), total });
  });
  router.post('/shares', async (req, res) => {
    requireTenantAdmin(req);
    const b = req.body as {
      name: string;
      owner_id: string;
      description?: string | null;
      share_type?: 'central' | 'personal' | 'project';
      quota_bytes?: number | null;
    };
    const created = await s.create(
      tenantOf(req),
      {
        name: b.name,
        ownerId: b.owner_id,
        description: b.description ?? null,
        shareType: b.share_type ?? 'central',
        quotaBytes: b.quota_bytes ?? null,
      },
      actorOf(req),
    );
    res.status(201).location(`/api/v1/shares/${created.id}`).json(share(created));
  });
  router.get('/shares/:share_id', async (req, res) => {
    const id = param(req, 'share_id');
    await perms.require(principalOf(req), shareRef(id), Permission.READ);
    res.json(
      share(await s.get(tenantOf(req), id, { includeDeleted: principalOf(req).isTenantAdmin })),
    );
  });
  router.patch('/shares/:share_id', async (req, res) => {
    const id = param(req, 'share_id');
    await perms.require(principalOf(req), shareRef(id), Permission.MANAGE_PERMISSIONS);
    const b = req.body as {
      name?: string;
      description?: string | null;
      quota_bytes?: number | null;
    };
    const updated = await s.update(
      tenantOf(req),
      id,
      {
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...('description' in b ? { description: b.description ?? null } : {}),
        ...('quota_bytes' in b ? { quotaBytes: b.quota_bytes ?? null } : {}),
      },
      actorOf(req),
    );
    res.json(share(updated));
  });
  router.delete('/shares/:share_id', async (req, res) => {
    const id = param(req, 'share_id');
    const sh = await requireOwner(req, id);
    if (sh.deletedAt) throw new NotFoundError('Share');
    await s.softDelete(tenantOf(req), id, actorOf(req));
    res.status(204).end();
  });
  router.post('/shares/:share_id/restore', async (req, res) => {
    const id = param(req, 'share_id');
    await requireOwner(req, id);
    res.json(share(await s.restore(tenantOf(req), id, actorOf(req))));
  });

  router.get('/shares/:share_id/members', async (req, res) => {
    const id = param(req, 'share_id');
    await perms.require(principalOf(req), shareRef(id), Permission.READ);
    const { members, total } = await s.listMembers(tenantOf(req), id, page(req));
    res.json({ members: members.map(member), total });
  });
  router.post('/shares/:share_id/members', async (req, res) => {
    const id = param(req, 'share_id');
    await perms.require(principalOf(req), shareRef(id), Permission.MANAGE_PERMISSIONS);
    const b = req.body as {
      principal_type: 'user' | 'group';
      principal_id: string;
      role: ShareRole;
      expires_at?: string | null;
    };
    const { member: m, created } = await s.setMember(
      tenantOf(req),
      id,
      {
        principalType: b.principal_type,
        principalId: b.principal_id,
        role: b.role,
        expiresAt: b.expires_at ? new Date(b.expires_at) : null,
      },
      actorOf(req),
    );
    res.status(created ? 201 : 200).json(member(m));
  });
  router.patch('/shares/:share_id/members/:member_id', async (req, res) => {
    const id = param(req, 'share_id');
    await perms.require(principalOf(req), shareRef(id), Permission.MANAGE_PERMISSIONS);
    const existing = await s.getMember(tenantOf(req), id, param(req, 'member_id'));
    const b = req.body as { role: ShareRole; expires_at?: string | null };
    const { member: m } = await s.setMember(
      tenantOf(req),
      id,
      {
        principalType: existing.principalType,
        principalId: existing.principalId,
        role: b.role,
        expiresAt:
          'expires_at' in b ? (b.expires_at ? new Date(b.expires_at) : null) : existing.expiresAt,
      },
      actorOf(req),
    );
    res.json(member(m));
  });
  router.delete('/shares/:share_id/members/:member_id', async (req, res) => {
    const id = param(req, 'share_id');
    await perms.require(principalOf(req), shareRef(id), Permission.MANAGE_PERMISSIONS);
    await s.removeMember(tenantOf(req), id, param(req, 'member_id'), actorOf(req));
    res.status(204).end();
  });
  router.post('/permissions/ownership/share/:share_id/transfer', async (req, res) => {
    const id = param(req, 'share_id');
    const sh = await requireOwner(req, id);
    if (sh.deletedAt) throw new NotFoundError('Share');
    const b = req.body as { new_owner_id: string };
    res.json(share(await s.transferOwnership(tenantOf(req), id, b.new_owner_id, actorOf(req))));
  });

  router.get('/shares/:share_id/trash', async (req, res) => {
    const id = param(req, 'share_id');
    const p = principalOf(req);
    // READ too: the listing shows names, and items without permissions of their own have the
    // share's — a caller denied READ on the share (but with DELETE) must not see them.
    const bits = await perms.require(p, shareRef(id), Permission.READ | Permission.DELETE);
    // As in folder listings, trashed items the caller may not read are left out of the page and
    // of `total`; only those with permissions of their own in their chain can differ from the
    // share's. Share managers see the whole trash (as they see every change).
    let hidden: string[] = [];
    if ((bits & Permission.MANAGE_PERMISSIONS) === 0) {
      const candidates = await drive.tree.trashWithOwnAclInChain(tenantOf(req), id);
      const readable = await perms.readableInShare(p, id, candidates);
      hidden = candidates.filter((c) => !readable.has(c));
    }
    const { items, total } = await drive.tree.listTrash(tenantOf(req), id, {
      ...page(req),
      excludeIds: hidden,
    });
    const out = [];
    for (const n of items) out.push(item(n, await drive.tree.pathOf(n.id)));
    res.json({ items: out, total });
  });
  router.get('/shares/:share_id/changes', async (req, res) => {
    const id = param(req, 'share_id');
    const p = principalOf(req);
    const bits = await perms.require(p, shareRef(id), Permission.READ);
    const result = await drive.changes(
      tenantOf(req),
      id,
      str(req.query.cursor) ?? '',
      Number(req.query.limit ?? 1000),
    );
    // Share managers see every change. Anyone else gets the changes of items they may not read
    // (or that are gone for good) without names, sizes or versions: the id and the kind of change
    // stay, so a client that had such an item learns to drop it, and nothing else leaks.
    const items = result.changes.filter((c) => c.resourceType !== 'share').map((c) => c.resourceId);
    const readable =
      (bits & Permission.MANAGE_PERMISSIONS) !== 0
        ? null
        : await perms.readableInShare(p, id, items);
    res.json({
      changes: result.changes.map((c) =>
        readable === null || c.resourceType === 'share' || readable.has(c.resourceId)
          ? change(c)
          : redactedChange(c),
      ),
      cursor: result.cursor,
      has_more: result.hasMore,
      share_id: id,
    });
  });
}
