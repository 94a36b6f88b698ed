import type { Request, Response, Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { AppError, NotFoundError, ValidationError } from '@scaidrive/core';
import { Permission, type Drive, type NodeRecord } from '@scaidrive/drive';
import {
  actorOf,
  etagValue,
  page,
  param,
  principalOf,
  str,
  tenantOf,
  withNameField,
} from './common.js';
import { item, version as serializeVersion } from './serialize.js';

/** Folders and files: browse, create, move/rename, trash/restore, upload, download, versions. */
export function mountItems(router: Router, drive: Drive): void {
  const perms = drive.permissions;
  const ref = (n: { id: string; kind: 'folder' | 'file' }) => ({ type: n.kind, id: n.id });

  /** A node of the expected kind in the caller's tenant (trashed ones only when asked). */
  async function load(req: Request, name: string, kind: 'folder' | 'file', trashed = false) {
    const node = await drive.tree.get(tenantOf(req), param(req, name)).catch(() => null);
    if (!node || node.kind !== kind || (node.deletedAt !== null) !== trashed)
      throw new NotFoundError(kind === 'file' ? 'File' : 'Folder');
    return node;
  }

  async function listing(req: Request, res: Response, folder: NodeRecord, path: string) {
    const p = principalOf(req);
    await perms.require(p, ref(folder), Permission.READ);
    // Children the caller may not read are left out of the page and of `total` (so pages stay
    // full and the count reveals nothing); only children with ACLs of their own can differ.
    const own = p.isTenantAdmin
      ? []
      : await drive.tree.childrenWithOwnAcl(tenantOf(req), folder.id);
    const ownBits = await perms.effectiveForChildren(p, folder.id, own);
    const hidden = own
      .filter((c) => ((ownBits.get(c.id) ?? 0) & Permission.READ) === 0)
      .map((c) => c.id);
    const { items, total } = await drive.tree.list(tenantOf(req), folder.id, {
      ...page(req),
      excludeIds: hidden,
    });
    const bits = await perms.effectiveForChildren(p, folder.id, items);
    const base = path === '/' ? '' : path;
    res.json({
      items: items
        .filter((n) => ((bits.get(n.id) ?? 0) & Permission.READ) !== 0)
        .map((n) => item(n, `${base}/${n.name}`)),
      path,
      total,
      folder_id: folder.id,
      share_id: folder.shareId,
    });
  }

  router.get('/shares/:share_id/browse', async (req, res) => {
    const shareId = param(req, 'share_id');
    await perms.require(principalOf(req), { type: 'share', id: shareId }, Permission.READ);
    const path = str(req.query.path) ?? '/';
    const folder = await withNameField('query.path', () =>
      drive.tree.resolve(tenantOf(req), shareId, path),
    );
    if (!folder || folder.kind !== 'folder') throw new NotFoundError('Folder');
    await listing(req, res, folder, await drive.tree.pathOf(folder.id));
  });
  router.get('/folders/:folder_id/children', async (req, res) => {
    const folder = await load(req, 'folder_id', 'folder');
    await listing(req, res, folder, await drive.tree.pathOf(folder.id));
  });

  router.post('/folders', async (req, res) => {
    const b = req.body as {
      share_id: string;
      parent_id?: string;
      name: string;
      exist_ok?: boolean;
    };
    const p = principalOf(req);
    const share = await drive.shares.find(tenantOf(req), b.share_id);
    if (!share || (await perms.effective(p, { type: 'share', id: b.share_id })) === 0) {
      // Folder-level grants without share access still reach here through parent_id.
      if (!b.parent_id) throw new NotFoundError('Share');
    }
    const parentId = b.parent_id ?? share!.rootNodeId;
    const parent = await drive.tree.get(tenantOf(req), parentId).catch(() => null);
    if (!parent || parent.kind !== 'folder' || parent.deletedAt || parent.shareId !== b.share_id)
      throw new NotFoundError('Folder');
    await perms.require(p, ref(parent), Permission.CREATE);
    const { node, created } = await withNameField('body.name', () =>
      drive.tree.createFolder(
        tenantOf(req),
        b.share_id,
        { folderId: parent.id },
        b.name,
        actorOf(req),
        {
          existOk: b.exist_ok === true,
        },
      ),
    );
    res
      .status(created ? 201 : 200)
      .location(`/api/v1/folders/${node.id}`)
      .json(item(node, await drive.tree.pathOf(node.id)));
  });

  for (const kind of ['folder', 'file'] as const) {
    const base = `/${kind}s/:${kind}_id`;
    router.get(base, async (req, res) => {
      const node = await load(req, `${kind}_id`, kind);
      await perms.require(principalOf(req), ref(node), Permission.READ);
      res.json(item(node, await drive.tree.pathOf(node.id)));
    });

    router.patch(base, async (req, res) => {
      const node = await load(req, `${kind}_id`, kind);
      const p = principalOf(req);
      const b = req.body as { name?: string; parent_id?: string; if_version?: number };
      const moving = b.parent_id !== undefined && b.parent_id !== node.parentId;
      if (moving) {
        await perms.require(p, ref(node), Permission.DELETE);
        const dest = await drive.tree.get(tenantOf(req), b.parent_id!).catch(() => null);
        if (!dest || dest.kind !== 'folder' || dest.deletedAt || dest.shareId !== node.shareId)
          throw new NotFoundError('Destination folder');
        await perms.require(p, ref(dest), Permission.CREATE);
      }
      if (b.name !== undefined && b.name !== node.name)
        await perms.require(p, ref(node), Permission.WRITE);
      const moved = await withNameField('body.name', () =>
        drive.tree.move(
          tenantOf(req),
          node.id,
          {
            ...(moving ? { parentId: b.parent_id } : {}),
            ...(b.name !== undefined ? { name: b.name } : {}),
          },
          actorOf(req),
          b.if_version !== undefined ? { ifVersion: String(b.if_version) } : {},
        ),
      );
      res.json(item(moved, await drive.tree.pathOf(moved.id)));
    });

    router.delete(base, async (req, res) => {
      const node = await load(req, `${kind}_id`, kind);
      await perms.require(principalOf(req), ref(node), Permission.DELETE);
      const ifMatch = etagValue(req.headers['if-match']);
      await drive.tree.trash(
        tenantOf(req),
        node.id,
        actorOf(req),
        ifMatch ? { ifVersion: ifMatch } : {},
      );
      res.status(204).end();
    });

    router.post(`${base}/restore`, async (req, res) => {
      const node = await load(req, `${kind}_id`, kind, true);
      const p = principalOf(req);
      await perms.require(p, ref(node), Permission.DELETE);
      const b = (req.body ?? {}) as { parent_id?: string; name?: string };
      if (b.parent_id) {
        const dest = await drive.tree.get(tenantOf(req), b.parent_id).catch(() => null);
        if (!dest || dest.kind !== 'folder' || dest.deletedAt || dest.shareId !== node.shareId)
          throw new NotFoundError('Destination folder');
        await perms.require(p, ref(dest), Permission.CREATE);
      }
      const restored = await withNameField('body.name', () =>
        drive.tree.restore(tenantOf(req), node.id, actorOf(req), {
          ...(b.parent_id ? { parentId: b.parent_id } : {}),
          ...(b.name ? { name: b.name } : {}),
        }),
      );
      res.json(item(restored, await drive.tree.pathOf(restored.id)));
    });
  }

  // ── content ──

  function uploadOptions(req: Request) {
    const size = contentLength(req);
    const modified = str(req.query.modified_at);
    const ifMatch = etagValue(req.headers['if-match']);
    return {
      ...(size !== undefined ? { size } : {}),
      ...(modified ? { modifiedAt: new Date(modified) } : {}),
      ...(str(req.query.mime_type) ? { mimeType: str(req.query.mime_type)! } : {}),
      ...(str(req.query.checksum_sha256)
        ? { expectedSha256: str(req.query.checksum_sha256)! }
        : {}),
      ...(ifMatch !== undefined ? { ifMatch } : {}),
      ...(req.headers['if-none-match'] === '*' ? { ifMatch: null } : {}),
    };
  }

  router.post('/folders/:folder_id/files', async (req, res) => {
    const folder = await load(req, 'folder_id', 'folder');
    const p = principalOf(req);
    const name = String(req.query.name);
    const existing = await withNameField('query.name', () =>
      drive.tree.child(tenantOf(req), folder.id, name),
    );
    if (existing && existing.kind === 'file')
      await perms.require(p, ref(existing), Permission.WRITE);
    else await perms.require(p, ref(folder), Permission.CREATE);
    const { node, created } = await withNameField('query.name', () =>
      drive.files.writeFile(
        tenantOf(req),
        folder.shareId,
        { folderId: folder.id },
        name,
        req,
        actorOf(req),
        uploadOptions(req),
      ),
    );
    res
      .status(created ? 201 : 200)
      .location(`/api/v1/files/${node.id}`)
      .json(item(node, await drive.tree.pathOf(node.id)));
  });

  router.put('/files/:file_id/content', async (req, res) => {
    const file = await load(req, 'file_id', 'file');
    await perms.require(principalOf(req), ref(file), Permission.WRITE);
    const path = await drive.tree.pathOf(file.id);
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    const { node } = await drive.files.writeFile(
      tenantOf(req),
      file.shareId,
      { folderId: file.parentId! },
      file.name,
      req,
      actorOf(req),
      { ...uploadOptions(req), createParents: false },
    );
    res.json(item(node, parent === '/' ? `/${node.name}` : `${parent}/${node.name}`));
  });

  router.get('/files/:file_id/content', async (req, res) => {
    const file = await load(req, 'file_id', 'file');
    await perms.require(principalOf(req), ref(file), Permission.READ);
    const versionNumber = req.query.version !== undefined ? Number(req.query.version) : undefined;
    const { version } = await drive.files.head(tenantOf(req), file.id, { versionNumber });
    const range = parseRange(req.headers.range, version.size);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${version.size}`);
      throw new AppError('RANGE_NOT_SATISFIABLE', `The file has ${version.size} bytes`, {
        details: { size: version.size },
      });
    }
    const opened = await drive.files.open(tenantOf(req), file.id, {
      versionNumber: version.versionNumber === 0 && !version.id ? undefined : version.versionNumber,
      ...(range ? { range } : {}),
    });
    res.status(range ? 206 : 200);
    res.setHeader('Content-Type', file.mimeType ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(opened.range.end - opened.range.start));
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', `"${opened.version.versionNumber}"`);
    res.setHeader('Last-Modified', opened.version.modifiedAt.toUTCString());
    res.setHeader('X-Checksum-Sha256', opened.version.sha256);
    res.setHeader(
      'Content-Disposition',
      `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    );
    if (range)
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end - 1}/${version.size}`);
    try {
      await pipeline(opened.stream, res);
    } catch (err) {
      // The client went away, or a chunk failed mid-stream: the status is sent, so just cut the
      // connection (the client sees a short body); log anything that is not a disconnect.
      if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE')
        req.log.error('download failed mid-stream', { err });
      res.destroy();
    }
  });

  router.get('/files/:file_id/versions', async (req, res) => {
    const file = await load(req, 'file_id', 'file');
    await perms.require(principalOf(req), ref(file), Permission.READ);
    const { versions, total } = await drive.files.versions(tenantOf(req), file.id, page(req));
    res.json({ versions: versions.map((v) => serializeVersion(v, file.currentVersionId)), total });
  });
  router.post('/files/:file_id/versions/:version_number/restore', async (req, res) => {
    const file = await load(req, 'file_id', 'file');
    await perms.require(principalOf(req), ref(file), Permission.WRITE);
    const { node } = await drive.files.restoreVersion(
      tenantOf(req),
      file.id,
      Number(req.params.version_number),
      actorOf(req),
    );
    res.json(item(node, await drive.tree.pathOf(node.id)));
  });
}

/** Exact byte count from Content-Length (absent for chunked uploads). */
function contentLength(req: Request): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined || req.headers['transfer-encoding']) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ValidationError('Invalid Content-Length', [
      { field: 'header.content-length', reason: 'must be a byte count' },
    ]);
  return n;
}

/**
 * One `bytes=` range → `[start, end)`; undefined when absent, malformed or multi-range (served
 * whole, as RFC 9110 allows); 'unsatisfiable' when it starts beyond the content.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'unsatisfiable' {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (last < start) return undefined;
  return { start, end: last + 1 };
}
