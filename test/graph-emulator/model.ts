import { randomBytes, randomUUID, X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { HttpError, isoSeconds } from './http.js';
import { emulatorQuickXor } from './quickxor.js';

/**
 * The emulator's state: Entra tenants (apps, users, groups) and SharePoint sites with document
 * libraries (drives) of items, plus the change log that backs `delta`. Everything is in memory.
 * Tests change it directly (acting as a SharePoint user) through these methods; Graph requests
 * change it through the same methods.
 */

export interface EmuUser {
  id: string;
  tenantId: string;
  displayName: string;
  mail: string;
  userPrincipalName: string;
  /** Authorize requests for this user are answered with `access_denied`. */
  denyConsent?: boolean;
}

export interface EmuGroup {
  id: string;
  tenantId: string;
  displayName: string;
  mail: string | null;
}

export interface EmuCertificate {
  thumbprintSha1: string;
  thumbprintSha256: string;
  publicKey: KeyObject;
}

export interface EmuApp {
  clientId: string;
  tenantId: string;
  displayName: string;
  secrets: string[];
  certificates: EmuCertificate[];
  redirectUris: string[];
  /** Application permissions granted (app-only tokens carry them as `roles`). */
  appRoles: string[];
  /** Delegated permissions consented (user tokens carry them as `scp`). */
  delegatedScopes: string[];
}

export interface EmuTenant {
  id: string;
  displayName: string;
  users: Map<string, EmuUser>;
  groups: Map<string, EmuGroup>;
  apps: Map<string, EmuApp>;
}

export interface EmuSite {
  id: string;
  tenantId: string;
  hostname: string;
  /** Server-relative path, e.g. `/sites/marketing`. */
  path: string;
  name: string;
  displayName: string;
  driveIds: string[];
  createdDateTime: string;
}

export type Role = 'read' | 'write' | 'owner';

export interface EmuIdentity {
  type: 'user' | 'group' | 'siteUser' | 'siteGroup';
  id: string;
  displayName?: string;
  email?: string;
}

export interface EmuPermission {
  id: string;
  roles: Role[];
  grantedTo?: EmuIdentity;
  /** Sharing links: the identities the link was shared with, if any. */
  grantedToIdentities?: EmuIdentity[];
  link?: { type: 'view' | 'edit'; scope: 'anonymous' | 'organization' | 'users' };
}

export interface EmuVersion {
  id: string;
  content: Buffer;
  modifiedAt: Date;
  modifiedBy: string;
}

export interface EmuItem {
  id: string;
  name: string;
  parentId: string | null;
  kind: 'file' | 'folder';
  content: Buffer;
  quickXor: string;
  mimeType: string;
  createdAt: Date;
  modifiedAt: Date;
  fsCreated: Date;
  fsModified: Date;
  etagGuid: string;
  etagN: number;
  ctagN: number;
  versions: EmuVersion[];
  /** Unique permissions (used when `inheritPermissions` is false). */
  permissions: EmuPermission[];
  inheritPermissions: boolean;
  fields: Record<string, unknown>;
  createdBy: string;
  modifiedBy: string;
  /** Change sequence of the last change (delta). */
  seq: number;
  deleted: boolean;
}

export interface EmuDrive {
  id: string;
  name: string;
  siteId: string;
  tenantId: string;
  rootId: string;
  items: Map<string, EmuItem>;
  seq: number;
  /** Delta tokens below this sequence are expired (410). */
  tokenFloor: number;
  /** Custom list columns that `listItem/fields` PATCH may set (besides Title). */
  columns: Set<string>;
  rounds: Map<string, DeltaRound>;
  /** parent id → (name key → child id), live items only. */
  childIndex: Map<string, Map<string, string>>;
}

export interface DeltaRound {
  id: string;
  items: Record<string, unknown>[];
  endSeq: number;
  floorAtStart: number;
}

export type ConflictBehavior = 'fail' | 'replace' | 'rename';

export interface ModelOptions {
  /** File names whose content SharePoint rewrites after upload (Office property promotion). */
  officeMutation?: (name: string) => boolean;
}

const INVALID_CHARS = /["*:<>?/\\|]/;
const RESERVED = /^(\.lock|con|prn|aux|nul|com\d|lpt\d|desktop\.ini)$/i;

export function sharePointNameProblem(name: string): string | null {
  if (name.length === 0) return 'The name is empty.';
  if (INVALID_CHARS.test(name)) return 'The provided name cannot contain any illegal characters.';
  if (/^\s|\s$/.test(name)) return 'The provided name cannot begin or end with a space.';
  if (RESERVED.test(name) || name.toLowerCase().includes('_vti_') || name.startsWith('~$'))
    return 'The provided name is reserved.';
  return null;
}

function guid(): string {
  return randomUUID().toUpperCase();
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function itemId(): string {
  const b = randomBytes(32);
  let s = '01';
  for (let i = 0; i < 32; i++) s += B32[b[i]! & 31];
  return s;
}

const MIME: Record<string, string> = {
  txt: 'text/plain',
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
};
function mimeOf(name: string): string {
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  return MIME[ext] ?? 'application/octet-stream';
}

export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

export class EmuModel {
  readonly tenants = new Map<string, EmuTenant>();
  readonly sites = new Map<string, EmuSite>();
  readonly drives = new Map<string, EmuDrive>();
  /** Clock offset for tests (upload-session expiry, token expiry). */
  clockOffsetMs = 0;

  constructor(readonly options: ModelOptions = {}) {}

  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  // ---- Entra ----------------------------------------------------------------------------------

  addTenant(opts: { id?: string; displayName?: string } = {}): EmuTenant {
    const t: EmuTenant = {
      id: opts.id ?? randomUUID(),
      displayName: opts.displayName ?? 'Contoso',
      users: new Map(),
      groups: new Map(),
      apps: new Map(),
    };
    this.tenants.set(t.id, t);
    return t;
  }

  tenant(id: string): EmuTenant {
    const t = this.tenants.get(id);
    if (!t) throw new Error(`no tenant ${id}`);
    return t;
  }

  addApp(
    tenantId: string,
    opts: {
      clientId?: string;
      displayName?: string;
      secret?: string;
      certificatePem?: string;
      redirectUris?: string[];
      appRoles?: string[];
      delegatedScopes?: string[];
    } = {},
  ): EmuApp {
    const app: EmuApp = {
      clientId: opts.clientId ?? randomUUID(),
      tenantId,
      displayName: opts.displayName ?? 'ScaiDrive Connectors',
      secrets: opts.secret ? [opts.secret] : [],
      certificates: [],
      redirectUris: opts.redirectUris ?? [],
      appRoles: opts.appRoles ?? [
        'Sites.ReadWrite.All',
        'Files.ReadWrite.All',
        'User.Read.All',
        'Group.Read.All',
      ],
      delegatedScopes: opts.delegatedScopes ?? [
        'Sites.ReadWrite.All',
        'Files.ReadWrite.All',
        'User.ReadBasic.All',
        'GroupMember.Read.All',
      ],
    };
    if (opts.certificatePem) this.addAppCertificate(app, opts.certificatePem);
    this.tenant(tenantId).apps.set(app.clientId, app);
    return app;
  }

  addAppCertificate(app: EmuApp, certPem: string): void {
    const cert = new X509Certificate(certPem);
    app.certificates.push({
      thumbprintSha1: createHash('sha1').update(cert.raw).digest('base64url'),
      thumbprintSha256: createHash('sha256').update(cert.raw).digest('base64url'),
      publicKey: cert.publicKey,
    });
  }

  addUser(
    tenantId: string,
    opts: { displayName: string; mail?: string; userPrincipalName?: string; id?: string },
  ): EmuUser {
    const t = this.tenant(tenantId);
    const local = opts.displayName.toLowerCase().replace(/[^a-z0-9]+/g, '.');
    const u: EmuUser = {
      id: opts.id ?? randomUUID(),
      tenantId,
      displayName: opts.displayName,
      mail: opts.mail ?? `${local}@contoso.example`,
      userPrincipalName: opts.userPrincipalName ?? opts.mail ?? `${local}@contoso.example`,
    };
    t.users.set(u.id, u);
    return u;
  }

  addGroup(tenantId: string, opts: { displayName: string; mail?: string | null; id?: string }) {
    const g: EmuGroup = {
      id: opts.id ?? randomUUID(),
      tenantId,
      displayName: opts.displayName,
      mail: opts.mail === undefined ? null : opts.mail,
    };
    this.tenant(tenantId).groups.set(g.id, g);
    return g;
  }

  findUser(tenantId: string, idOrUpn: string): EmuUser | undefined {
    const t = this.tenant(tenantId);
    return (
      t.users.get(idOrUpn) ??
      [...t.users.values()].find((u) => u.userPrincipalName.toLowerCase() === idOrUpn.toLowerCase())
    );
  }

  // ---- SharePoint -----------------------------------------------------------------------------

  addSite(
    tenantId: string,
    opts: { hostname?: string; path: string; displayName?: string },
  ): { site: EmuSite; drive: EmuDrive } {
    const hostname = opts.hostname ?? 'contoso.sharepoint.com';
    const path = '/' + opts.path.replace(/^\/+|\/+$/g, '');
    const name = path.split('/').pop() ?? 'site';
    const site: EmuSite = {
      id: `${hostname},${randomUUID()},${randomUUID()}`,
      tenantId,
      hostname,
      path,
      name,
      displayName: opts.displayName ?? name,
      driveIds: [],
      createdDateTime: isoSeconds(this.now()),
    };
    this.sites.set(site.id, site);
    const drive = this.addDrive(site.id, 'Documents');
    return { site, drive };
  }

  addDrive(siteId: string, name: string): EmuDrive {
    const site = this.sites.get(siteId);
    if (!site) throw new Error(`no site ${siteId}`);
    const rootId = itemId();
    const drive: EmuDrive = {
      id: 'b!' + randomBytes(48).toString('base64url'),
      name,
      siteId,
      tenantId: site.tenantId,
      rootId,
      items: new Map(),
      seq: 0,
      tokenFloor: 0,
      columns: new Set(),
      rounds: new Map(),
      childIndex: new Map(),
    };
    const now = this.now();
    drive.items.set(rootId, {
      ...this.blankItem(rootId, 'root', null, 'folder', 'System Account', now),
      inheritPermissions: false,
    });
    drive.seq = 1;
    drive.items.get(rootId)!.seq = 1;
    site.driveIds.push(drive.id);
    this.drives.set(drive.id, drive);
    return drive;
  }

  drive(id: string): EmuDrive {
    const d = this.drives.get(id);
    if (!d) throw new HttpError(404, 'itemNotFound', 'The resource could not be found.');
    return d;
  }

  findSiteByPath(hostname: string, path: string): EmuSite | undefined {
    const p = '/' + path.replace(/^\/+|\/+$/g, '');
    return [...this.sites.values()].find(
      (s) =>
        s.hostname.toLowerCase() === hostname.toLowerCase() &&
        s.path.toLowerCase() === p.toLowerCase(),
    );
  }

  private blankItem(
    id: string,
    name: string,
    parentId: string | null,
    kind: 'file' | 'folder',
    by: string,
    now: Date,
  ): EmuItem {
    return {
      id,
      name,
      parentId,
      kind,
      content: Buffer.alloc(0),
      quickXor: emulatorQuickXor(Buffer.alloc(0)),
      mimeType: kind === 'file' ? mimeOf(name) : '',
      createdAt: now,
      modifiedAt: now,
      fsCreated: now,
      fsModified: now,
      etagGuid: guid(),
      etagN: 1,
      ctagN: 1,
      versions: [],
      permissions: [],
      inheritPermissions: true,
      fields: {},
      createdBy: by,
      modifiedBy: by,
      seq: 0,
      deleted: false,
    };
  }

  touch(drive: EmuDrive, item: EmuItem): void {
    drive.seq += 1;
    item.seq = drive.seq;
  }

  item(drive: EmuDrive, id: string): EmuItem {
    const it = drive.items.get(id);
    if (!it || it.deleted)
      throw new HttpError(404, 'itemNotFound', 'The resource could not be found.');
    return it;
  }

  children(drive: EmuDrive, folderId: string): EmuItem[] {
    const idx = drive.childIndex.get(folderId);
    if (!idx) return [];
    return [...idx.values()].map((id) => drive.items.get(id)!);
  }

  childByName(drive: EmuDrive, folderId: string, name: string): EmuItem | undefined {
    const id = drive.childIndex.get(folderId)?.get(nameKey(name));
    return id ? drive.items.get(id) : undefined;
  }

  private index(drive: EmuDrive, it: EmuItem): void {
    if (it.parentId === null) return;
    let m = drive.childIndex.get(it.parentId);
    if (!m) drive.childIndex.set(it.parentId, (m = new Map()));
    m.set(nameKey(it.name), it.id);
  }

  private unindex(drive: EmuDrive, it: EmuItem): void {
    if (it.parentId === null) return;
    drive.childIndex.get(it.parentId)?.delete(nameKey(it.name));
  }

  /** Path of an item relative to the drive root ('' for the root). */
  pathOf(drive: EmuDrive, item: EmuItem): string {
    const parts: string[] = [];
    let cur: EmuItem | undefined = item;
    while (cur && cur.parentId !== null) {
      parts.unshift(cur.name);
      cur = drive.items.get(cur.parentId);
    }
    return parts.join('/');
  }

  /** Resolves `a/b/c` below `fromId` (default: root). */
  resolve(drive: EmuDrive, path: string, fromId = drive.rootId): EmuItem | undefined {
    let cur = drive.items.get(fromId);
    if (!cur || cur.deleted) return undefined;
    for (const part of path.split('/').filter(Boolean)) {
      if (cur.kind !== 'folder') return undefined;
      cur = this.childByName(drive, cur.id, part);
      if (!cur) return undefined;
    }
    return cur;
  }

  private validateName(drive: EmuDrive, parent: EmuItem, name: string): void {
    const problem = sharePointNameProblem(name);
    if (problem) throw new HttpError(400, 'invalidRequest', problem);
    const full = `${this.pathOf(drive, parent)}/${name}`;
    if (full.length > 400)
      throw new HttpError(
        400,
        'invalidRequest',
        'The resulting path is longer than 400 characters.',
      );
  }

  private uniqueName(drive: EmuDrive, parentId: string, name: string): string {
    const dot = name.lastIndexOf('.');
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const ext = dot > 0 ? name.slice(dot) : '';
    for (let n = 1; ; n++) {
      const candidate = `${stem} ${n}${ext}`;
      if (!this.childByName(drive, parentId, candidate)) return candidate;
    }
  }

  createFolder(
    drive: EmuDrive,
    parentId: string,
    name: string,
    opts: { conflict?: ConflictBehavior; by?: string } = {},
  ): EmuItem {
    const parent = this.item(drive, parentId);
    if (parent.kind !== 'folder')
      throw new HttpError(400, 'invalidRequest', 'Parent is not a folder.');
    this.validateName(drive, parent, name);
    const existing = this.childByName(drive, parentId, name);
    const conflict = opts.conflict ?? 'fail';
    if (existing) {
      if (conflict === 'fail')
        throw new HttpError(409, 'nameAlreadyExists', 'The specified item name already exists.');
      if (conflict === 'replace') {
        if (existing.kind === 'folder') return existing;
        this.deleteItem(drive, existing.id);
      } else name = this.uniqueName(drive, parentId, name);
    }
    const now = this.now();
    const it = this.blankItem(itemId(), name, parentId, 'folder', opts.by ?? 'System Account', now);
    drive.items.set(it.id, it);
    this.index(drive, it);
    this.touch(drive, it);
    return it;
  }

  /** Creates missing folders along `path` (used by tests and by path-addressed uploads). */
  ensureFolders(drive: EmuDrive, path: string, fromId = drive.rootId, by?: string): EmuItem {
    let cur = this.item(drive, fromId);
    for (const part of path.split('/').filter(Boolean)) {
      const next = this.childByName(drive, cur.id, part);
      if (next) {
        if (next.kind !== 'folder')
          throw new HttpError(
            409,
            'nameAlreadyExists',
            'A file exists where a folder is expected.',
          );
        cur = next;
      } else cur = this.createFolder(drive, cur.id, part, { by });
    }
    return cur;
  }

  private mutate(name: string, content: Buffer): Buffer {
    if (this.options.officeMutation?.(name)) {
      return Buffer.concat([content, Buffer.from(`<!-- promoted by SharePoint ${guid()} -->`)]);
    }
    return content;
  }

  /**
   * Creates or replaces a file's content. `ifMatch` is compared with the eTag and the cTag of an
   * existing item. Returns the item and whether it was created.
   */
  writeFile(
    drive: EmuDrive,
    parentId: string,
    name: string,
    content: Buffer,
    opts: {
      conflict?: ConflictBehavior;
      ifMatch?: string;
      by?: string;
      fsModified?: Date;
      fsCreated?: Date;
      targetItemId?: string;
    } = {},
  ): { item: EmuItem; created: boolean } {
    const by = opts.by ?? 'System Account';
    const now = this.now();
    let existing: EmuItem | undefined;
    if (opts.targetItemId) existing = this.item(drive, opts.targetItemId);
    else {
      const parent = this.item(drive, parentId);
      if (parent.kind !== 'folder')
        throw new HttpError(400, 'invalidRequest', 'Parent is not a folder.');
      this.validateName(drive, parent, name);
      existing = this.childByName(drive, parentId, name);
    }
    if (opts.ifMatch !== undefined) {
      if (!existing || !this.etagMatches(existing, opts.ifMatch))
        throw new HttpError(412, 'preconditionFailed', "ETag does not match current item's value");
    }
    if (existing && !opts.targetItemId) {
      const conflict = opts.conflict ?? 'replace';
      if (conflict === 'fail')
        throw new HttpError(409, 'nameAlreadyExists', 'The specified item name already exists.');
      if (conflict === 'rename') {
        name = this.uniqueName(drive, parentId, name);
        existing = undefined;
      } else if (existing.kind === 'folder') {
        throw new HttpError(409, 'nameAlreadyExists', 'A folder with this name already exists.');
      }
    }
    const stored = this.mutate(existing?.name ?? name, content);
    if (existing) {
      existing.content = stored;
      existing.quickXor = emulatorQuickXor(stored);
      existing.modifiedAt = now;
      existing.fsModified = opts.fsModified ?? now;
      existing.modifiedBy = by;
      existing.etagN += 1;
      existing.ctagN += 1;
      existing.versions.push({
        id: `${existing.versions.length + 1}.0`,
        content: stored,
        modifiedAt: now,
        modifiedBy: by,
      });
      this.touch(drive, existing);
      return { item: existing, created: false };
    }
    const it = this.blankItem(itemId(), name, parentId, 'file', by, now);
    it.content = stored;
    it.quickXor = emulatorQuickXor(stored);
    it.fsModified = opts.fsModified ?? now;
    it.fsCreated = opts.fsCreated ?? it.fsModified;
    it.versions.push({ id: '1.0', content: stored, modifiedAt: now, modifiedBy: by });
    drive.items.set(it.id, it);
    this.index(drive, it);
    this.touch(drive, it);
    return { item: it, created: true };
  }

  etagMatches(item: EmuItem, tag: string): boolean {
    const t = tag.trim();
    if (t === '*') return true;
    return t === this.eTag(item) || t === this.cTag(item);
  }

  eTag(item: EmuItem): string {
    return `"{${item.etagGuid}},${item.etagN}"`;
  }

  cTag(item: EmuItem): string {
    return `"c:{${item.etagGuid}},${item.ctagN}"`;
  }

  /** Rename and/or move (PATCH name / parentReference). */
  moveItem(
    drive: EmuDrive,
    id: string,
    opts: { name?: string; parentId?: string; conflict?: ConflictBehavior; ifMatch?: string },
  ): EmuItem {
    const it = this.item(drive, id);
    if (it.parentId === null) throw new HttpError(400, 'invalidRequest', 'Cannot move the root.');
    if (opts.ifMatch !== undefined && !this.etagMatches(it, opts.ifMatch))
      throw new HttpError(412, 'preconditionFailed', "ETag does not match current item's value");
    const newParentId = opts.parentId ?? it.parentId;
    const newName = opts.name ?? it.name;
    const parent = this.item(drive, newParentId);
    if (parent.kind !== 'folder')
      throw new HttpError(400, 'invalidRequest', 'Parent is not a folder.');
    // Cannot move a folder into itself.
    for (
      let p: EmuItem | undefined = parent;
      p;
      p = p.parentId ? drive.items.get(p.parentId) : undefined
    ) {
      if (p.id === it.id)
        throw new HttpError(400, 'invalidRequest', 'Cannot move a folder into itself.');
    }
    this.validateName(drive, parent, newName);
    const clash = this.childByName(drive, newParentId, newName);
    let finalName = newName;
    if (clash && clash.id !== it.id) {
      const conflict = opts.conflict ?? 'fail';
      if (conflict === 'fail')
        throw new HttpError(409, 'nameAlreadyExists', 'The specified item name already exists.');
      if (conflict === 'replace') this.deleteItem(drive, clash.id);
      else finalName = this.uniqueName(drive, newParentId, newName);
    }
    this.unindex(drive, it);
    it.name = finalName;
    it.parentId = newParentId;
    this.index(drive, it);
    it.etagN += 1;
    it.modifiedAt = this.now();
    this.touch(drive, it);
    return it;
  }

  /** Deletes an item; a folder takes its whole subtree with it (children logged first). */
  deleteItem(drive: EmuDrive, id: string, opts: { ifMatch?: string } = {}): void {
    const it = this.item(drive, id);
    if (it.parentId === null) throw new HttpError(403, 'accessDenied', 'Cannot delete the root.');
    if (opts.ifMatch !== undefined && !this.etagMatches(it, opts.ifMatch))
      throw new HttpError(412, 'preconditionFailed', "ETag does not match current item's value");
    const kill = (x: EmuItem) => {
      if (x.kind === 'folder') for (const c of this.children(drive, x.id)) kill(c);
      this.unindex(drive, x);
      x.deleted = true;
      this.touch(drive, x);
    };
    kill(it);
  }

  setFileSystemInfo(drive: EmuDrive, id: string, info: { created?: Date; modified?: Date }) {
    const it = this.item(drive, id);
    if (info.created) it.fsCreated = info.created;
    if (info.modified) it.fsModified = info.modified;
    it.etagN += 1;
    this.touch(drive, it);
    return it;
  }

  patchFields(drive: EmuDrive, id: string, fields: Record<string, unknown>): EmuItem {
    const it = this.item(drive, id);
    for (const k of Object.keys(fields)) {
      if (k !== 'Title' && !drive.columns.has(k))
        throw new HttpError(400, 'invalidRequest', `Field '${k}' is not recognized`);
    }
    Object.assign(it.fields, fields);
    it.etagN += 1;
    it.modifiedAt = this.now();
    this.touch(drive, it);
    return it;
  }

  /** Permissions in effect on an item: its own, or the nearest unique ancestor's (inherited). */
  effectivePermissions(
    drive: EmuDrive,
    item: EmuItem,
  ): { perm: EmuPermission; inheritedFrom?: EmuItem }[] {
    let cur: EmuItem | undefined = item;
    while (cur && cur.inheritPermissions && cur.parentId !== null)
      cur = drive.items.get(cur.parentId);
    if (!cur) return [];
    return cur.permissions.map((perm) =>
      cur === item ? { perm } : { perm, inheritedFrom: cur as EmuItem },
    );
  }

  // ---- Test conveniences (paths relative to the drive root) -----------------------------------

  putFile(
    driveId: string,
    path: string,
    content: Buffer | string,
    opts: { by?: string; mtime?: Date } = {},
  ): EmuItem {
    const drive = this.drive(driveId);
    const parts = path.split('/').filter(Boolean);
    const name = parts.pop()!;
    const parent = this.ensureFolders(drive, parts.join('/'), drive.rootId, opts.by);
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    // Test writes are the "user" editing in SharePoint: never mutated.
    const saved = this.options.officeMutation;
    (this.options as ModelOptions).officeMutation = undefined;
    try {
      return this.writeFile(drive, parent.id, name, buf, { by: opts.by, fsModified: opts.mtime })
        .item;
    } finally {
      (this.options as ModelOptions).officeMutation = saved;
    }
  }

  mkdirp(driveId: string, path: string): EmuItem {
    const drive = this.drive(driveId);
    return this.ensureFolders(drive, path);
  }

  get(driveId: string, path: string): EmuItem | undefined {
    const drive = this.drive(driveId);
    return this.resolve(drive, path);
  }

  move(driveId: string, from: string, to: string): EmuItem {
    const drive = this.drive(driveId);
    const it = this.resolve(drive, from);
    if (!it) throw new Error(`no item at ${from}`);
    const parts = to.split('/').filter(Boolean);
    const name = parts.pop()!;
    const parent = this.ensureFolders(drive, parts.join('/'));
    return this.moveItem(drive, it.id, { name, parentId: parent.id });
  }

  remove(driveId: string, path: string): void {
    const drive = this.drive(driveId);
    const it = this.resolve(drive, path);
    if (!it) throw new Error(`no item at ${path}`);
    this.deleteItem(drive, it.id);
  }

  setPermissions(
    driveId: string,
    path: string,
    permissions: Omit<EmuPermission, 'id'>[],
    opts: { inherit?: boolean } = {},
  ): EmuItem {
    const drive = this.drive(driveId);
    const it = this.resolve(drive, path);
    if (!it) throw new Error(`no item at ${path}`);
    it.permissions = permissions.map((p) => ({ id: randomBytes(9).toString('base64url'), ...p }));
    it.inheritPermissions = opts.inherit ?? false;
    it.etagN += 1;
    this.touch(drive, it);
    return it;
  }

  setFields(driveId: string, path: string, fields: Record<string, unknown>): EmuItem {
    const drive = this.drive(driveId);
    const it = this.resolve(drive, path);
    if (!it) throw new Error(`no item at ${path}`);
    for (const k of Object.keys(fields)) if (k !== 'Title') drive.columns.add(k);
    return this.patchFields(drive, it.id, fields);
  }

  /** Invalidates every delta token and every round in progress (the next use answers 410). */
  expireDeltaTokens(driveId: string): void {
    const drive = this.drive(driveId);
    drive.tokenFloor = drive.seq + 1;
  }

  /** Every live item of a drive, by path ('' excluded). */
  listAll(driveId: string): Map<string, EmuItem> {
    const drive = this.drive(driveId);
    const out = new Map<string, EmuItem>();
    for (const it of drive.items.values()) {
      if (it.deleted || it.parentId === null) continue;
      out.set(this.pathOf(drive, it), it);
    }
    return out;
  }
}
