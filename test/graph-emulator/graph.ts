import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt, verifyJwtSignature } from './jwt.js';
import { HttpError, isoSeconds, readBody, readJson, sendJson } from './http.js';
import type { RouteClass } from './faults.js';
import type {
  ConflictBehavior,
  DeltaRound,
  EmuDrive,
  EmuIdentity,
  EmuItem,
  EmuModel,
  EmuSite,
} from './model.js';

/**
 * Microsoft Graph v1.0 as the SharePoint connector uses it. Routes are documented in README.md;
 * where the Graph documentation is silent the behaviour is a guess, listed there too.
 */

export interface Caller {
  tenantId: string;
  appId: string;
  /** Present for delegated (user) tokens. */
  userId?: string;
  roles: string[];
  scopes: string[];
}

export interface UploadSession {
  id: string;
  driveId: string;
  parentId: string;
  name: string;
  targetItemId?: string;
  conflict: ConflictBehavior;
  ifMatch?: string;
  fileSize?: number;
  fsModified?: Date;
  fsCreated?: Date;
  chunks: Buffer[];
  received: number;
  expiresAt: number;
  by: string;
  done: boolean;
}

export interface GraphHostOptions {
  /** Largest body of a simple `PUT …/content` (default 4 MiB, the documented small-file rule). */
  simpleUploadLimit?: number;
  /** Default page size of children and delta (default 200). */
  pageSize?: number;
  /** Largest page whatever `$top` asks (default 1000); tests lower it to force paging. */
  maxPageSize?: number;
  /** Upload session lifetime without activity (default 15 minutes, guessed). */
  uploadSessionLifetimeMs?: number;
  /** Download URL lifetime (default 1 hour). */
  downloadUrlLifetimeMs?: number;
}

export const SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024;

export class GraphHost {
  readonly sessions = new Map<string, UploadSession>();
  readonly tempAuthKey = randomBytes(32);

  constructor(
    private readonly model: EmuModel,
    private readonly tokenKey: KeyObject,
    private readonly origin: () => string,
    private readonly spOrigin: () => string,
    private readonly loginOrigin: () => string,
    readonly options: GraphHostOptions = {},
  ) {}

  private get maxPage(): number {
    return this.options.maxPageSize ?? 1000;
  }

  private get base(): string {
    return `${this.origin()}/v1.0`;
  }

  /** Route class of a Graph request (for faults and the log), without side effects. */
  classify(method: string, url: URL): RouteClass {
    const p = url.pathname;
    if (/^\/v1\.0\/(users|groups|me)(\/|$)/.test(p)) return 'directory';
    if (/^\/v1\.0\/sites\//.test(p) && !p.includes('/drives/')) return 'sites';
    if (/delta/.test(p)) return 'delta';
    if (/\/createUploadSession$/.test(p)) return 'createUploadSession';
    if (/\/versions/.test(p)) return 'versions';
    if (/\/permissions/.test(p)) return 'permissions';
    if (/\/listItem/.test(p)) return 'fields';
    if (/\/content$/.test(p)) return method === 'PUT' ? 'simpleUpload' : 'content';
    if (/\/children$/.test(p)) return 'children';
    if (/^\/v1\.0\/drives\/[^/]+$/.test(p)) return 'drives';
    if (/^\/v1\.0\/drives\//.test(p)) return 'item';
    return 'other';
  }

  authenticate(req: IncomingMessage): Caller {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    const unauth = (msg: string) =>
      new HttpError(401, 'InvalidAuthenticationToken', msg, {
        'www-authenticate': `Bearer realm="", authorization_uri="${this.loginOrigin()}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      });
    if (!m) throw unauth('Access token is empty.');
    const jwt = decodeJwt(m[1]!);
    if (!jwt) throw unauth('IDX14100: JWT is not well formed.');
    if (!verifyJwtSignature(jwt, this.tokenKey)) throw unauth('Access token validation failure.');
    const p = jwt.payload;
    const now = Math.floor(this.model.now().getTime() / 1000);
    if (typeof p.exp !== 'number' || p.exp < now)
      throw unauth('Lifetime validation failed, the token is expired.');
    if (p.aud !== this.origin()) throw unauth('Access token validation failure. Invalid audience.');
    return {
      tenantId: String(p.tid),
      appId: String(p.appid),
      userId: p.idtyp === 'user' ? String(p.oid) : undefined,
      roles: Array.isArray(p.roles) ? (p.roles as string[]) : [],
      scopes: typeof p.scp === 'string' ? p.scp.split(' ') : [],
    };
  }

  private requirePermission(
    caller: Caller,
    kind: 'files-read' | 'files-write' | 'users' | 'groups',
  ) {
    const all = [...caller.roles, ...caller.scopes];
    const ok = {
      'files-read': [
        'Sites.Read.All',
        'Sites.ReadWrite.All',
        'Files.Read.All',
        'Files.ReadWrite.All',
        'Sites.FullControl.All',
      ],
      'files-write': ['Sites.ReadWrite.All', 'Files.ReadWrite.All', 'Sites.FullControl.All'],
      users: ['User.Read.All', 'User.ReadBasic.All', 'Directory.Read.All'],
      groups: ['Group.Read.All', 'GroupMember.Read.All', 'Directory.Read.All'],
    }[kind];
    if (!all.some((p) => ok.includes(p))) {
      if (kind === 'users' || kind === 'groups')
        throw new HttpError(
          403,
          'Authorization_RequestDenied',
          'Insufficient privileges to complete the operation.',
        );
      throw new HttpError(
        403,
        'accessDenied',
        'Either scp or roles claim need to be present in the token.',
      );
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const caller = this.authenticate(req);
    const path = url.pathname;
    if (!path.startsWith('/v1.0/')) throw new HttpError(400, 'BadRequest', 'Invalid version.');
    const rest = path.slice('/v1.0/'.length);
    const method = req.method ?? 'GET';

    if (rest === 'me') {
      if (!caller.userId)
        throw new HttpError(
          400,
          'BadRequest',
          '/me request is only valid with delegated authentication flow.',
        );
      const u = this.model.tenant(caller.tenantId).users.get(caller.userId)!;
      return sendJson(res, 200, this.userJson(u));
    }
    if (/^(users|groups)(\/|$)/.test(rest)) return this.directory(req, res, url, caller, rest);
    if (rest.startsWith('sites/')) return this.sites(req, res, url, caller, rest.slice(6));
    if (rest.startsWith('drives/')) {
      const slash = rest.indexOf('/', 7);
      const driveId = decodeURIComponent(slash < 0 ? rest.slice(7) : rest.slice(7, slash));
      const drive = this.model.drive(driveId);
      this.checkTenant(caller, drive.tenantId);
      if (slash < 0) {
        if (method !== 'GET') throw new HttpError(405, 'invalidRequest', 'Method not allowed.');
        this.requirePermission(caller, 'files-read');
        return sendJson(res, 200, this.driveJson(drive));
      }
      return this.driveRoute(req, res, url, caller, drive, rest.slice(slash + 1));
    }
    throw new HttpError(
      400,
      'BadRequest',
      `Resource not found for the segment '${rest.split('/')[0]}'.`,
    );
  }

  private checkTenant(caller: Caller, tenantId: string): void {
    if (caller.tenantId !== tenantId)
      throw new HttpError(
        403,
        'accessDenied',
        'Access denied. The token belongs to another tenant.',
      );
  }

  // ---- directory --------------------------------------------------------------------------------

  private userJson(u: {
    id: string;
    displayName: string;
    mail: string;
    userPrincipalName: string;
  }) {
    return {
      id: u.id,
      displayName: u.displayName,
      mail: u.mail,
      userPrincipalName: u.userPrincipalName,
    };
  }

  private directory(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    caller: Caller,
    rest: string,
  ) {
    const [kind, id] = rest.split('/') as ['users' | 'groups', string | undefined];
    this.requirePermission(caller, kind);
    const tenant = this.model.tenant(caller.tenantId);
    const list =
      kind === 'users'
        ? [...tenant.users.values()].map((u) => this.userJson(u))
        : [...tenant.groups.values()].map((g) => ({
            id: g.id,
            displayName: g.displayName,
            mail: g.mail,
          }));
    if (id) {
      const found = list.find((x) => x.id === decodeURIComponent(id));
      if (!found)
        throw new HttpError(
          404,
          'Request_ResourceNotFound',
          `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
        );
      return sendJson(res, 200, found);
    }
    const search = url.searchParams.get('$search');
    let out: Record<string, unknown>[] = list;
    if (search !== null) {
      if ((req.headers['consistencylevel'] ?? '').toString().toLowerCase() !== 'eventual')
        throw new HttpError(
          400,
          'Request_UnsupportedQuery',
          "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        );
      const clauses = [...search.matchAll(/"([A-Za-z]+):([^"]*)"/g)].map((m) => ({
        prop: m[1]!,
        value: m[2]!.toLowerCase(),
      }));
      if (clauses.length === 0)
        throw new HttpError(
          400,
          'Request_UnsupportedQuery',
          "Syntax error: character '\"' is not valid at position 0 in '$search'. Use \"property:value\".",
        );
      const and = /"\s+AND\s+"/.test(search);
      const matches = (obj: Record<string, unknown>, c: { prop: string; value: string }) => {
        const v = obj[c.prop];
        if (typeof v !== 'string') return false;
        const s = v.toLowerCase();
        if (s.startsWith(c.value)) return true;
        return s.split(/[\s.@_-]+/).some((w) => w.startsWith(c.value));
      };
      out = list.filter((o) =>
        and ? clauses.every((c) => matches(o, c)) : clauses.some((c) => matches(o, c)),
      );
    }
    const select = url.searchParams.get('$select');
    if (select) {
      const keys = select.split(',').map((s) => s.trim());
      out = out.map((o) =>
        Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k) || k === 'id')),
      );
    }
    const top = Number(url.searchParams.get('$top') ?? 100);
    sendJson(res, 200, {
      '@odata.context': `${this.base}/$metadata#${kind}`,
      value: out.slice(0, top),
    });
  }

  // ---- sites ------------------------------------------------------------------------------------

  siteJson(site: EmuSite) {
    return {
      id: site.id,
      name: site.name,
      displayName: site.displayName,
      webUrl: `https://${site.hostname}${site.path}`,
      createdDateTime: site.createdDateTime,
      siteCollection: { hostname: site.hostname },
    };
  }

  driveJson(drive: EmuDrive) {
    const site = this.model.sites.get(drive.siteId)!;
    return {
      id: drive.id,
      name: drive.name,
      driveType: 'documentLibrary',
      description: '',
      webUrl: `https://${site.hostname}${site.path}/${drive.name === 'Documents' ? 'Shared%20Documents' : encodeURIComponent(drive.name)}`,
      createdDateTime: site.createdDateTime,
      owner: { group: { displayName: `${site.displayName} Owners` } },
      quota: {
        total: 27487790694400,
        used: 0,
        remaining: 27487790694400,
        deleted: 0,
        state: 'normal',
      },
    };
  }

  private sites(req: IncomingMessage, res: ServerResponse, url: URL, caller: Caller, rest: string) {
    this.requirePermission(caller, 'files-read');
    let site: EmuSite | undefined;
    let tail: string;
    const colon = rest.indexOf(':');
    const firstSlash = rest.indexOf('/');
    if (colon >= 0 && (firstSlash < 0 || colon < firstSlash)) {
      // /sites/{hostname}:/{server-relative-path}[:/tail]
      const hostname = decodeURIComponent(rest.slice(0, colon));
      const after = rest.slice(colon + 1);
      const end = after.indexOf(':');
      const sitePath = decodeURIComponent(end < 0 ? after : after.slice(0, end));
      tail = end < 0 ? '' : after.slice(end + 1).replace(/^\//, '');
      site = this.model.findSiteByPath(hostname, sitePath);
    } else {
      const id = decodeURIComponent(firstSlash < 0 ? rest : rest.slice(0, firstSlash));
      tail = firstSlash < 0 ? '' : rest.slice(firstSlash + 1);
      site = this.model.sites.get(id);
    }
    if (!site) throw new HttpError(404, 'itemNotFound', 'Requested site could not be found');
    this.checkTenant(caller, site.tenantId);
    if (tail === '') return sendJson(res, 200, this.siteJson(site));
    if (tail === 'drives')
      return sendJson(res, 200, {
        '@odata.context': `${this.base}/$metadata#drives`,
        value: site.driveIds.map((d) => this.driveJson(this.model.drives.get(d)!)),
      });
    if (tail === 'drive')
      return sendJson(res, 200, this.driveJson(this.model.drives.get(site.driveIds[0]!)!));
    throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${tail}'.`);
  }

  // ---- items ------------------------------------------------------------------------------------

  downloadUrl(drive: EmuDrive, item: EmuItem, versionId?: string): string {
    const site = this.model.sites.get(drive.siteId)!;
    const exp = this.model.now().getTime() + (this.options.downloadUrlLifetimeMs ?? 3_600_000);
    const payload = [drive.id, item.id, versionId ?? '', String(exp)].join('|');
    const sig = createHmac('sha256', this.tempAuthKey).update(payload).digest('base64url');
    const tempauth = `${Buffer.from(payload).toString('base64url')}.${sig}`;
    const u = new URL(`${this.spOrigin()}${site.path}/_layouts/15/download.aspx`);
    u.searchParams.set('UniqueId', item.id);
    if (versionId) u.searchParams.set('version', versionId);
    u.searchParams.set('tempauth', tempauth);
    return u.toString();
  }

  verifyTempAuth(token: string): { driveId: string; itemId: string; versionId: string } | null {
    const [p, sig] = token.split('.');
    if (!p || !sig) return null;
    const payload = Buffer.from(p, 'base64url').toString('utf8');
    const expect = createHmac('sha256', this.tempAuthKey).update(payload).digest('base64url');
    if (expect !== sig) return null;
    const [driveId, itemId, versionId, exp] = payload.split('|');
    if (Number(exp) < this.model.now().getTime()) return null;
    return { driveId: driveId!, itemId: itemId!, versionId: versionId ?? '' };
  }

  private identity(by: string) {
    return { user: { displayName: by } };
  }

  itemJson(drive: EmuDrive, item: EmuItem, opts: { delta?: boolean; select?: string[] } = {}) {
    if (item.deleted) {
      const parent = item.parentId ? drive.items.get(item.parentId) : undefined;
      return {
        id: item.id,
        deleted: { state: 'deleted' },
        parentReference: { driveType: 'documentLibrary', driveId: drive.id, id: parent?.id },
        ...(item.kind === 'folder' ? { folder: { childCount: 0 } } : { file: {} }),
        lastModifiedDateTime: isoSeconds(item.modifiedAt),
      };
    }
    const site = this.model.sites.get(drive.siteId)!;
    const path = this.model.pathOf(drive, item);
    const out: Record<string, unknown> = {
      createdDateTime: isoSeconds(item.createdAt),
      eTag: this.model.eTag(item),
      id: item.id,
      lastModifiedDateTime: isoSeconds(item.modifiedAt),
      name: item.name,
      webUrl: `https://${site.hostname}${site.path}/Shared%20Documents/${path.split('/').map(encodeURIComponent).join('/')}`,
      size: item.kind === 'file' ? item.content.length : this.folderSize(drive, item),
      createdBy: this.identity(item.createdBy),
      lastModifiedBy: this.identity(item.modifiedBy),
      fileSystemInfo: {
        createdDateTime: isoSeconds(item.fsCreated),
        lastModifiedDateTime: isoSeconds(item.fsModified),
      },
    };
    if (!opts.delta) out.cTag = this.model.cTag(item);
    if (item.parentId === null) {
      out.root = {};
      out.name = 'root';
      out.parentReference = { driveType: 'documentLibrary', driveId: drive.id };
    } else {
      const parent = drive.items.get(item.parentId)!;
      const ref: Record<string, unknown> = {
        driveType: 'documentLibrary',
        driveId: drive.id,
        id: parent.id,
        siteId: site.id,
      };
      if (!opts.delta) {
        const pp = this.model.pathOf(drive, parent);
        ref.path = `/drives/${drive.id}/root:${pp ? '/' + pp : ''}`;
        ref.name = parent.parentId === null ? drive.name : parent.name;
      }
      out.parentReference = ref;
    }
    if (item.kind === 'folder')
      out.folder = { childCount: this.model.children(drive, item.id).length };
    else {
      out.file = { mimeType: item.mimeType, hashes: { quickXorHash: item.quickXor } };
      out['@microsoft.graph.downloadUrl'] = this.downloadUrl(drive, item);
    }
    if (opts.select && opts.select.length) {
      const keep = new Set([...opts.select, 'id']);
      for (const k of Object.keys(out)) if (!keep.has(k) && !k.startsWith('@')) delete out[k];
    }
    return out;
  }

  private folderSize(drive: EmuDrive, folder: EmuItem): number {
    let n = 0;
    for (const c of this.model.children(drive, folder.id))
      n += c.kind === 'file' ? c.content.length : this.folderSize(drive, c);
    return n;
  }

  /** Parses `root`, `items/{id}`, `root:/a/b:`, `items/{id}:/a/b:` followed by an optional tail. */
  private address(drive: EmuDrive, rest: string): { base: EmuItem; path: string[]; tail: string } {
    const m = /^(root|items\/[^/:]+)(?::(\/[^:]*):?)?(?:\/(.*))?$/.exec(rest);
    if (!m) throw new HttpError(400, 'BadRequest', 'Unsupported item address.');
    const baseId = m[1] === 'root' ? drive.rootId : decodeURIComponent(m[1]!.slice(6));
    const base = this.model.item(drive, baseId);
    const path = (m[2] ?? '')
      .split('/')
      .filter(Boolean)
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          throw new HttpError(400, 'invalidRequest', 'Invalid path encoding.');
        }
      });
    return { base, path, tail: m[3] ?? '' };
  }

  private async driveRoute(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    caller: Caller,
    drive: EmuDrive,
    rest: string,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const { base, path, tail } = this.address(drive, rest);
    const target = path.length ? this.model.resolve(drive, path.join('/'), base.id) : base;
    const select = url.searchParams
      .get('$select')
      ?.split(',')
      .map((s) => s.trim());
    const by = this.callerName(caller);
    const ifMatch = (req.headers['if-match'] as string | undefined) ?? undefined;
    const write = method !== 'GET';
    this.requirePermission(caller, write ? 'files-write' : 'files-read');

    if (tail.startsWith('delta')) {
      if (base.parentId !== null || path.length)
        throw new HttpError(
          400,
          'invalidRequest',
          'Delta is only supported on the root folder of a document library.',
        );
      return this.delta(res, url, drive, tail);
    }

    // Uploads may address a path that does not exist yet.
    if (tail === 'content' && method === 'PUT')
      return this.simpleUpload(req, res, url, drive, base, path, target, by, ifMatch);
    if (tail === 'createUploadSession' && method === 'POST')
      return this.createUploadSession(req, res, drive, base, path, target, by, ifMatch);

    if (!target) throw new HttpError(404, 'itemNotFound', 'The resource could not be found.');

    if (tail === '') {
      if (method === 'GET') return sendJson(res, 200, this.itemJson(drive, target, { select }));
      if (method === 'PATCH') return this.patchItem(req, res, url, drive, target, ifMatch);
      if (method === 'DELETE') {
        this.model.deleteItem(drive, target.id, { ifMatch });
        res.writeHead(204);
        return void res.end();
      }
    }
    if (tail === 'children') {
      if (method === 'GET') return this.children(res, url, drive, target, select);
      if (method === 'POST') {
        const body = await readJson(req);
        const conflict =
          (body['@microsoft.graph.conflictBehavior'] as ConflictBehavior | undefined) ?? 'fail';
        if (typeof body.name !== 'string' || !body.folder)
          throw new HttpError(
            400,
            'invalidRequest',
            'Only folders can be created this way (name and folder required).',
          );
        const f = this.model.createFolder(drive, target.id, body.name, { conflict, by });
        return sendJson(res, 201, this.itemJson(drive, f));
      }
    }
    if (tail === 'content' && method === 'GET') {
      if (target.kind !== 'file')
        throw new HttpError(400, 'invalidRequest', 'Only files have content.');
      res.writeHead(302, { location: this.downloadUrl(drive, target), 'content-length': '0' });
      return void res.end();
    }
    if (tail === 'versions' && method === 'GET') {
      if (target.kind !== 'file')
        throw new HttpError(400, 'invalidRequest', 'Folders have no versions.');
      return sendJson(res, 200, {
        value: [...target.versions].reverse().map((v) => this.versionJson(target, v)),
      });
    }
    const vm = /^versions\/([^/]+)(\/content)?$/.exec(tail);
    if (vm && method === 'GET') {
      const vid = decodeURIComponent(vm[1]!);
      const v = target.versions.find((x) => x.id === vid);
      if (!v) throw new HttpError(404, 'itemNotFound', 'The version could not be found.');
      if (!vm[2]) return sendJson(res, 200, this.versionJson(target, v));
      res.writeHead(302, { location: this.downloadUrl(drive, target, vid), 'content-length': '0' });
      return void res.end();
    }
    if (tail === 'permissions' && method === 'GET') {
      return sendJson(res, 200, {
        value: this.model.effectivePermissions(drive, target).map(({ perm, inheritedFrom }) => {
          const id = (x: EmuIdentity) => ({
            [x.type]: {
              id: x.id,
              displayName: x.displayName,
              ...(x.email ? { email: x.email } : {}),
            },
          });
          const o: Record<string, unknown> = {
            id: perm.id,
            roles: perm.roles,
            shareId: perm.link ? `s!${perm.id}` : undefined,
          };
          if (perm.grantedTo) o.grantedToV2 = id(perm.grantedTo);
          if (perm.grantedToIdentities) o.grantedToIdentitiesV2 = perm.grantedToIdentities.map(id);
          if (perm.link)
            o.link = { ...perm.link, webUrl: `https://contoso.sharepoint.com/:f:/s/x/${perm.id}` };
          if (inheritedFrom)
            o.inheritedFrom = {
              driveId: drive.id,
              id: inheritedFrom.id,
              path: `/drives/${drive.id}/root:/${this.model.pathOf(drive, inheritedFrom)}`,
            };
          return o;
        }),
      });
    }
    if (tail === 'listItem' || tail === 'listItem/fields') {
      if (method === 'PATCH' && tail === 'listItem/fields') {
        const body = await readJson(req);
        const it = this.model.patchFields(drive, target.id, body);
        return sendJson(res, 200, this.fieldsJson(drive, it));
      }
      if (method === 'GET') {
        if (tail === 'listItem/fields') return sendJson(res, 200, this.fieldsJson(drive, target));
        return sendJson(res, 200, {
          id: String(target.seq),
          eTag: this.model.eTag(target),
          fields: this.fieldsJson(drive, target),
        });
      }
    }
    throw new HttpError(400, 'BadRequest', `Unsupported request ${method} ${tail}`);
  }

  private callerName(caller: Caller): string {
    if (!caller.userId) return 'SharePoint App';
    return this.model.tenant(caller.tenantId).users.get(caller.userId)?.displayName ?? 'User';
  }

  private versionJson(
    item: EmuItem,
    v: { id: string; content: Buffer; modifiedAt: Date; modifiedBy: string },
  ) {
    return {
      id: v.id,
      lastModifiedDateTime: isoSeconds(v.modifiedAt),
      size: v.content.length,
      lastModifiedBy: this.identity(v.modifiedBy),
    };
  }

  private fieldsJson(drive: EmuDrive, item: EmuItem) {
    return {
      '@odata.etag': this.model.eTag(item),
      id: String(item.seq),
      FileLeafRef: item.name,
      ContentType: item.kind === 'folder' ? 'Folder' : 'Document',
      Created: isoSeconds(item.createdAt),
      Modified: isoSeconds(item.modifiedAt),
      AuthorLookupId: '1',
      EditorLookupId: '1',
      _UIVersionString: item.versions.at(-1)?.id ?? '1.0',
      FileSizeDisplay: String(item.content.length),
      ...item.fields,
    };
  }

  private async patchItem(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    drive: EmuDrive,
    item: EmuItem,
    ifMatch?: string,
  ) {
    const body = await readJson(req);
    const conflict =
      (body['@microsoft.graph.conflictBehavior'] as ConflictBehavior | undefined) ??
      (url.searchParams.get('@microsoft.graph.conflictBehavior') as ConflictBehavior | null) ??
      'fail';
    const ref = body.parentReference as { id?: string; path?: string } | undefined;
    let parentId: string | undefined;
    if (ref?.id) parentId = ref.id;
    else if (ref?.path) {
      const p = ref.path.replace(/^\/drives?\/[^/]*\/root:?/, '').replace(/^\/drive\/root:?/, '');
      const parent = this.model.resolve(drive, decodeURIComponent(p));
      if (!parent) throw new HttpError(404, 'itemNotFound', 'The parent could not be found.');
      parentId = parent.id;
    }
    if (ifMatch !== undefined && !this.model.etagMatches(item, ifMatch))
      throw new HttpError(412, 'preconditionFailed', "ETag does not match current item's value");
    if (typeof body.name === 'string' || parentId) {
      this.model.moveItem(drive, item.id, {
        name: typeof body.name === 'string' ? body.name : undefined,
        parentId,
        conflict,
      });
    }
    const fsi = body.fileSystemInfo as
      { lastModifiedDateTime?: string; createdDateTime?: string } | undefined;
    if (fsi) {
      this.model.setFileSystemInfo(drive, item.id, {
        modified: fsi.lastModifiedDateTime ? new Date(fsi.lastModifiedDateTime) : undefined,
        created: fsi.createdDateTime ? new Date(fsi.createdDateTime) : undefined,
      });
    }
    sendJson(res, 200, this.itemJson(drive, item));
  }

  private children(
    res: ServerResponse,
    url: URL,
    drive: EmuDrive,
    folder: EmuItem,
    select?: string[],
  ) {
    if (folder.kind !== 'folder')
      throw new HttpError(400, 'invalidRequest', 'The item is not a folder.');
    const top = Math.min(
      Number(url.searchParams.get('$top') ?? this.options.pageSize ?? 200) || 200,
      this.maxPage,
    );
    const skip = Number(
      url.searchParams.get('$skiptoken')
        ? Buffer.from(url.searchParams.get('$skiptoken')!, 'base64url').toString()
        : 0,
    );
    const all = this.model.children(drive, folder.id);
    const page = all.slice(skip, skip + top);
    const body: Record<string, unknown> = {
      '@odata.context': `${this.base}/$metadata#drives('${drive.id}')/items('${folder.id}')/children`,
      value: page.map((c) => this.itemJson(drive, c, { select })),
    };
    if (skip + top < all.length) {
      const next = new URL(
        `${this.base}/drives/${encodeURIComponent(drive.id)}/items/${folder.id}/children`,
      );
      next.searchParams.set('$top', String(top));
      if (select) next.searchParams.set('$select', select.join(','));
      next.searchParams.set('$skiptoken', Buffer.from(String(skip + top)).toString('base64url'));
      body['@odata.nextLink'] = next.toString();
    }
    sendJson(res, 200, body);
  }

  // ---- delta ------------------------------------------------------------------------------------

  private deltaUrl(drive: EmuDrive, token: string | null, top?: number): string {
    const u = new URL(`${this.base}/drives/${encodeURIComponent(drive.id)}/root/delta`);
    if (token) u.searchParams.set('token', token);
    if (top) u.searchParams.set('$top', String(top));
    return u.toString();
  }

  private delta(res: ServerResponse, url: URL, drive: EmuDrive, tail: string) {
    const paren = /^delta\(token='([^']*)'\)$/.exec(tail);
    const token = paren ? paren[1]! : url.searchParams.get('token');
    const topParam = url.searchParams.get('$top');
    const top = Math.min(Number(topParam ?? this.options.pageSize ?? 200) || 200, this.maxPage);
    const gone = () =>
      new HttpError(
        410,
        'resyncRequired',
        "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd. Upload any local changes that the server doesn't know about.",
        { location: this.deltaUrl(drive, null, topParam ? top : undefined) },
        'resyncChangesApplyDifferences',
      );

    if (token === 'latest') {
      return sendJson(res, 200, {
        value: [],
        '@odata.deltaLink': this.deltaUrl(drive, `s.${drive.seq}`),
      });
    }
    let round: DeltaRound;
    let offset = 0;
    if (token && token.startsWith('r.')) {
      const [, id, off] = token.split('.');
      const r = drive.rounds.get(id ?? '');
      if (!r) throw gone();
      if (r.floorAtStart < drive.tokenFloor) throw gone();
      round = r;
      offset = Number(off);
    } else {
      let since: number | null = null;
      if (token) {
        const m = /^s\.(\d+)$/.exec(token);
        if (!m) throw new HttpError(400, 'invalidRequest', 'Invalid delta token.');
        since = Number(m[1]);
        if (since < drive.tokenFloor) throw gone();
      }
      round = this.startRound(drive, since);
    }
    const page = round.items.slice(offset, offset + top);
    const body: Record<string, unknown> = {
      '@odata.context': `${this.base}/$metadata#Collection(driveItem)`,
      value: page,
    };
    if (offset + top < round.items.length)
      body['@odata.nextLink'] = this.deltaUrl(
        drive,
        `r.${round.id}.${offset + top}`,
        topParam ? top : undefined,
      );
    else
      body['@odata.deltaLink'] = this.deltaUrl(
        drive,
        `s.${round.endSeq}`,
        topParam ? top : undefined,
      );
    sendJson(res, 200, body);
  }

  /** Materialises one round (stable snapshot): a full enumeration or the changes after `since`. */
  private startRound(drive: EmuDrive, since: number | null): DeltaRound {
    const items: Record<string, unknown>[] = [];
    const emitted = new Set<string>();
    const emit = (it: EmuItem) => {
      if (emitted.has(it.id)) return;
      emitted.add(it.id);
      items.push(this.itemJson(drive, it, { delta: true }));
    };
    if (since === null) {
      const walk = (folder: EmuItem) => {
        emit(folder);
        const kids = this.model.children(drive, folder.id);
        for (const k of kids) if (k.kind === 'file') emit(k);
        for (const k of kids) if (k.kind === 'folder') walk(k);
      };
      walk(drive.items.get(drive.rootId)!);
    } else {
      const changed = [...drive.items.values()]
        .filter((i) => i.seq > since)
        .sort((a, b) => a.seq - b.seq);
      for (const it of changed) {
        if (!it.deleted) {
          // Ancestors come first (parents before children), as the service does.
          const chain: EmuItem[] = [];
          for (
            let p = it.parentId ? drive.items.get(it.parentId) : undefined;
            p;
            p = p.parentId ? drive.items.get(p.parentId) : undefined
          )
            chain.unshift(p);
          for (const a of chain) emit(a);
        }
        emit(it);
      }
    }
    const round: DeltaRound = {
      id: randomBytes(8).toString('hex'),
      items,
      endSeq: drive.seq,
      floorAtStart: drive.tokenFloor,
    };
    drive.rounds.set(round.id, round);
    if (drive.rounds.size > 64) drive.rounds.delete(drive.rounds.keys().next().value!);
    return round;
  }

  // ---- uploads ----------------------------------------------------------------------------------

  private parentAndName(
    drive: EmuDrive,
    base: EmuItem,
    path: string[],
  ): { parentId: string; name: string } {
    if (path.length === 0) throw new HttpError(400, 'invalidRequest', 'A file name is required.');
    const parentPath = path.slice(0, -1).join('/');
    const parent = this.model.ensureFolders(drive, parentPath, base.id);
    return { parentId: parent.id, name: path.at(-1)! };
  }

  private async simpleUpload(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    drive: EmuDrive,
    base: EmuItem,
    path: string[],
    target: EmuItem | undefined,
    by: string,
    ifMatch?: string,
  ) {
    const limit = this.options.simpleUploadLimit ?? SIMPLE_UPLOAD_LIMIT;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      throw new HttpError(
        413,
        'requestEntityTooLarge',
        `Simple upload is limited to ${limit} bytes; use an upload session.`,
      );
    }
    const body = await readBody(req, limit);
    const conflict =
      (url.searchParams.get('@microsoft.graph.conflictBehavior') as ConflictBehavior | null) ??
      'replace';
    let result;
    if (path.length === 0) {
      if (base.kind !== 'file')
        throw new HttpError(400, 'invalidRequest', 'Cannot upload content to a folder.');
      result = this.model.writeFile(drive, base.parentId!, base.name, body, {
        targetItemId: base.id,
        ifMatch,
        by,
      });
    } else {
      if (ifMatch !== undefined && !target)
        throw new HttpError(412, 'preconditionFailed', "ETag does not match current item's value");
      const { parentId, name } = this.parentAndName(drive, base, path);
      result = this.model.writeFile(drive, parentId, name, body, { conflict, ifMatch, by });
    }
    sendJson(res, result.created ? 201 : 200, this.itemJson(drive, result.item));
  }

  private async createUploadSession(
    req: IncomingMessage,
    res: ServerResponse,
    drive: EmuDrive,
    base: EmuItem,
    path: string[],
    target: EmuItem | undefined,
    by: string,
    ifMatch?: string,
  ) {
    const body = await readJson(req);
    const item = (body.item ?? {}) as Record<string, unknown>;
    const conflict =
      (item['@microsoft.graph.conflictBehavior'] as ConflictBehavior | undefined) ?? 'fail';
    let parentId: string;
    let name: string;
    let targetItemId: string | undefined;
    if (path.length === 0) {
      if (base.kind !== 'file')
        throw new HttpError(400, 'invalidRequest', 'Address the parent folder and the file name.');
      parentId = base.parentId!;
      name = base.name;
      targetItemId = base.id;
    } else {
      if (typeof item.name === 'string' && item.name !== path.at(-1))
        throw new HttpError(
          400,
          'invalidRequest',
          'The item name in the body must match the name in the path.',
        );
      ({ parentId, name } = this.parentAndName(drive, base, path));
      if (target && conflict === 'fail')
        throw new HttpError(409, 'nameAlreadyExists', 'The specified item name already exists.');
    }
    const existing = targetItemId ? base : target;
    if (ifMatch !== undefined && (!existing || !this.model.etagMatches(existing, ifMatch)))
      throw new HttpError(412, 'preconditionFailed', "ETag does not match current item's value");
    const fsi = item.fileSystemInfo as
      { lastModifiedDateTime?: string; createdDateTime?: string } | undefined;
    const id = randomBytes(16).toString('hex');
    const lifetime = this.options.uploadSessionLifetimeMs ?? 15 * 60_000;
    const s: UploadSession = {
      id,
      driveId: drive.id,
      parentId,
      name,
      targetItemId,
      conflict,
      ifMatch,
      fileSize: typeof item.fileSize === 'number' ? item.fileSize : undefined,
      fsModified: fsi?.lastModifiedDateTime ? new Date(fsi.lastModifiedDateTime) : undefined,
      fsCreated: fsi?.createdDateTime ? new Date(fsi.createdDateTime) : undefined,
      chunks: [],
      received: 0,
      expiresAt: this.model.now().getTime() + lifetime,
      by,
      done: false,
    };
    this.sessions.set(id, s);
    const site = this.model.sites.get(drive.siteId)!;
    const sig = createHmac('sha256', this.tempAuthKey).update(`upload|${id}`).digest('base64url');
    sendJson(res, 200, {
      '@odata.context': `${this.base}/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${this.spOrigin()}${site.path}/_api/v2.0/drives/${encodeURIComponent(drive.id)}/items/${parentId}/uploadSession?guid=${id}&overwrite=${conflict === 'replace'}&tempauth=${sig}`,
      expirationDateTime: new Date(s.expiresAt).toISOString(),
      nextExpectedRanges: ['0-'],
    });
  }

  verifyUploadAuth(id: string, sig: string): boolean {
    return (
      createHmac('sha256', this.tempAuthKey).update(`upload|${id}`).digest('base64url') === sig
    );
  }
}
