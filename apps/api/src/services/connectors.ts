import {
  NotFoundError,
  newId,
  ValidationError,
  type FieldIssue,
  type HostGuard,
  type SecretBox,
} from '@scaidrive/core';
import {
  decryptConnectorConfig,
  secretContext,
  type Connector,
  type Prisma,
  type PrismaClient,
} from '@scaidrive/db';
import type { components } from '../generated/openapi.js';
import type { ConnectorConfig, ConnectorKind } from '../drivers/types.js';
import type { ConnectorAccess } from './access.js';
import { listConnectors } from './connector-rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import type { SyncRequestService } from './sync-requests.js';
import { assertTargetFree } from './target-overlap.js';
import {
  cleanBasePath,
  cleanPatternSet,
  cleanTargetPath,
  intervalProblem,
  type PatternSet,
} from './validation.js';

type S = components['schemas'];
export type SmbCreate = S['SmbConnectorCreate'];
export type SmbUpdate = S['SmbConnectorUpdate'];
export type SharePointCreate = S['SharePointConnectorCreate'];
export type SharePointUpdate = S['SharePointConnectorUpdate'];
type AnyWrite = Partial<SmbCreate> & Partial<SharePointCreate>;

/** Secret fields: request field → column, encrypted with context `connector:<id>:<field>`. */
const SECRET_FIELDS = {
  password: 'passwordEnc',
  azure_client_secret: 'azureClientSecretEnc',
  azure_certificate: 'azureCertificateEnc',
} as const;
type SecretField = keyof typeof SECRET_FIELDS;

/** Plain fields: request field → column. */
const PLAIN_FIELDS: Record<string, keyof Prisma.ConnectorUncheckedCreateInput> = {
  name: 'name',
  description: 'description',
  target_path: 'targetPath',
  sync_direction: 'syncDirection',
  sync_permissions: 'syncPermissions',
  include_patterns: 'includePatterns',
  exclude_patterns: 'excludePatterns',
  conflict_resolution: 'conflictResolution',
  sync_interval_minutes: 'syncIntervalMinutes',
  server_host: 'serverHost',
  server_port: 'serverPort',
  share_name: 'shareName',
  base_path: 'basePath',
  domain: 'domain',
  username: 'username',
  sync_hidden_files: 'syncHiddenFiles',
  sync_system_files: 'syncSystemFiles',
  site_url: 'siteUrl',
  site_id: 'siteId',
  drive_id: 'driveId',
  library_name: 'libraryName',
  azure_tenant_id: 'azureTenantId',
  azure_client_id: 'azureClientId',
  auth_type: 'authType',
  sync_versions: 'syncVersions',
  sync_metadata: 'syncMetadata',
};

/** Changing any of these makes the next run a full one. */
const FULL_SYNC_FIELDS = new Set([
  'target_path',
  'sync_direction',
  'include_patterns',
  'exclude_patterns',
  'server_host',
  'server_port',
  'share_name',
  'base_path',
  'sync_hidden_files',
  'sync_system_files',
  'site_url',
  'site_id',
  'drive_id',
  'library_name',
]);

/** Fields that change neither what a run syncs nor how: they leave configRevision as it is. */
const SCHEDULING_FIELDS = new Set(['name', 'description', 'sync_interval_minutes', 'enabled']);

/** SMB fields that change where, or as whom, the stored password logs on. */
const CREDENTIAL_TARGET_FIELDS = ['server_host', 'server_port', 'domain', 'username'] as const;
/** Windows compares account and domain names without regard to case. */
const CASELESS_FIELDS = new Set(['domain', 'username']);

/** Changing any of these invalidates a user_auth token cache. */
const REAUTH_FIELDS = new Set(['azure_tenant_id', 'azure_client_id', 'auth_type', 'site_url']);

export { secretContext };

export interface ListOptions {
  limit: number;
  offset: number;
  status?: string;
}

/** Connector configuration: create, read, update, delete, and decryption for drivers. */
export class ConnectorService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly access: ConnectorAccess,
    private readonly secrets: SecretBox,
    private readonly hostGuard: HostGuard,
    private readonly audit: AuditLog,
    private readonly syncRequests: SyncRequestService,
  ) {}

  async list(
    actor: Actor,
    kind: ConnectorKind,
    opts: ListOptions,
  ): Promise<{ rows: Connector[]; total: number }> {
    const shares = await this.access.manageableShares(actor.principal, kind);
    return listConnectors(
      this.prisma,
      { tenantId: actor.principal.tenantId, kind, status: opts.status, shareIds: shares },
      { limit: opts.limit, offset: opts.offset },
    );
  }

  get(actor: Actor, kind: ConnectorKind, id: string): Promise<Connector> {
    return this.access.connector(actor.principal, kind, id);
  }

  async create(
    actor: Actor,
    kind: ConnectorKind,
    body: SmbCreate | SharePointCreate,
  ): Promise<Connector> {
    this.access.requireAdmin(actor.principal);
    const input = body as AnyWrite;
    const issues: FieldIssue[] = [];
    const values = await this.validate(kind, input, issues, undefined);
    const share = await this.prisma.share.findFirst({
      where: { id: input.target_share_id!, tenantId: actor.principal.tenantId, deletedAt: null },
      select: { id: true },
    });
    if (!share)
      issues.push({ field: 'body.target_share_id', reason: 'no such share in your tenant' });
    if (kind === 'sharepoint') {
      const auth = input.auth_type ?? 'app_auth';
      if (auth === 'app_auth' && !input.azure_client_secret && !input.azure_certificate)
        issues.push({
          field: 'body.azure_client_secret',
          reason: 'is required for app_auth (or give azure_certificate)',
        });
    }
    if (issues.length) throw new ValidationError('Invalid connector', issues);
    await this.access.requireShareManager(actor.principal, share!.id);

    const id = newId('cnn');
    const data: Prisma.ConnectorUncheckedCreateInput = {
      id,
      tenantId: actor.principal.tenantId,
      kind,
      name: input.name!,
      targetShareId: share!.id,
      targetPath: '/',
      syncDirection: kind === 'smb' ? 'smb_to_scaidrive' : 'sharepoint_to_scaidrive',
      conflictResolution: 'LAST_WRITER_WINS',
      syncIntervalMinutes: 15,
      syncPermissions: false,
      status: input.enabled === false ? 'disabled' : 'idle',
      fullSyncRequired: true,
      createdBy: actor.principal.userId,
      ...(kind === 'smb'
        ? { serverPort: 445, basePath: '', syncHiddenFiles: false, syncSystemFiles: false }
        : {
            libraryName: 'Documents',
            basePath: '',
            authType: 'app_auth',
            syncVersions: false,
            syncMetadata: false,
          }),
      ...values,
    };
    for (const [field, column] of Object.entries(SECRET_FIELDS)) {
      const v = input[field as SecretField];
      if (typeof v === 'string')
        (data as Record<string, unknown>)[column] = this.secrets.encrypt(
          v,
          secretContext(id, field),
        );
    }
    return this.prisma.$transaction(async (tx) => {
      await assertTargetFree(tx, {
        tenantId: actor.principal.tenantId,
        shareId: share!.id,
        path: data.targetPath!,
      });
      const row = await tx.connector.create({ data });
      await this.audit.record(tx, actor, {
        action: 'connector.created',
        resourceType: 'connector',
        resourceId: id,
        payload: { kind, fields: Object.keys(input).sort(), target_share_id: share!.id },
      });
      return row;
    });
  }

  async update(
    actor: Actor,
    kind: ConnectorKind,
    id: string,
    body: SmbUpdate | SharePointUpdate,
  ): Promise<Connector> {
    const current = await this.access.connector(actor.principal, kind, id);
    const input = body as AnyWrite & { target_share_id?: unknown };
    const issues: FieldIssue[] = [];
    if ('target_share_id' in input)
      issues.push({
        field: 'body.target_share_id',
        reason: 'cannot be changed; create a new connector',
      });
    const values = await this.validate(kind, input, issues, current);
    if (kind === 'sharepoint') {
      const auth = input.auth_type ?? current.authType;
      const hasSecret =
        (input.azure_client_secret ?? current.azureClientSecretEnc) ||
        (input.azure_certificate ?? current.azureCertificateEnc);
      if (auth === 'app_auth' && !hasSecret)
        issues.push({
          field: 'body.azure_client_secret',
          reason: 'is required for app_auth (or give azure_certificate)',
        });
    }
    if (kind === 'smb' && current.passwordEnc && typeof input.password !== 'string') {
      // The stored password logs on wherever the connector points. Sending it to another server
      // or for another account would hand that server an NTLM response to relay or crack, so a
      // change of where or as whom to log on needs the password again.
      const comparable = (f: string, v: unknown) =>
        CASELESS_FIELDS.has(f) && typeof v === 'string' ? v.toLowerCase() : v;
      const moved = CREDENTIAL_TARGET_FIELDS.filter(
        (f) =>
          f in input &&
          !sameValue(
            comparable(f, (current as Record<string, unknown>)[PLAIN_FIELDS[f]!]),
            comparable(f, (values as Record<string, unknown>)[PLAIN_FIELDS[f]!]),
          ),
      );
      if (moved.length)
        issues.push({
          field: 'body.password',
          reason: `is required when ${moved.join(', ')} change${moved.length === 1 ? 's' : ''} (the stored password is never sent to another server or account)`,
        });
    }
    if (issues.length) throw new ValidationError('Invalid connector update', issues);

    const data: Prisma.ConnectorUncheckedUpdateInput = { ...values };
    const changed: string[] = [];
    for (const field of Object.keys(input)) {
      const column = PLAIN_FIELDS[field];
      if (
        column &&
        !sameValue(
          (current as Record<string, unknown>)[column],
          (values as Record<string, unknown>)[column],
        )
      )
        changed.push(field);
    }
    for (const [field, column] of Object.entries(SECRET_FIELDS)) {
      const v = input[field as SecretField];
      if (typeof v === 'string') {
        (data as Record<string, unknown>)[column] = this.secrets.encrypt(
          v,
          secretContext(id, field),
        );
        changed.push(field);
      }
    }
    if (changed.some((f) => FULL_SYNC_FIELDS.has(f))) data.fullSyncRequired = true;
    if (kind === 'sharepoint' && changed.some((f) => REAUTH_FIELDS.has(f))) {
      data.tokenCacheEnc = null;
      data.authorizedAccountId = null;
    }
    if (changed.includes('sync_interval_minutes')) {
      const interval = values.syncIntervalMinutes as number;
      data.nextSyncAt =
        interval > 0 && current.lastSyncAt
          ? new Date(current.lastSyncAt.getTime() + interval * 60_000)
          : null;
    }
    const wasDisabled = current.status === 'disabled';
    let disabling = false;
    if (input.enabled === false && !wasDisabled) {
      data.status = 'disabled';
      data.statusMessage = null;
      disabling = true;
      changed.push('enabled');
    } else if (input.enabled === true && wasDisabled) {
      data.status = 'idle';
      data.statusMessage = null;
      changed.push('enabled');
    }
    if (changed.length === 0) return current;
    // The revision a running sync compares against before it writes back (token cache, delta
    // cursors, "full sync done"): only changes to what is synced, from where and how count.
    if (changed.some((f) => !SCHEDULING_FIELDS.has(f))) data.configRevision = { increment: 1 };
    return this.prisma.$transaction(async (tx) => {
      if (changed.includes('target_path'))
        await assertTargetFree(tx, {
          tenantId: current.tenantId,
          shareId: current.targetShareId,
          path: values.targetPath as string,
          exceptId: current.id,
        });
      const row = await tx.connector.update({ where: { id: current.id }, data });
      if (disabling) await this.syncRequests.cancelActive(tx, current, 'Connector disabled');
      await this.audit.record(tx, actor, {
        action: disabling
          ? 'connector.disabled'
          : input.enabled === true && wasDisabled
            ? 'connector.enabled'
            : 'connector.updated',
        resourceType: 'connector',
        resourceId: id,
        payload: { kind, fields: [...new Set(changed)].sort() },
      });
      return row;
    });
  }

  async delete(actor: Actor, kind: ConnectorKind, id: string): Promise<void> {
    const current = await this.access.connector(actor.principal, kind, id);
    await this.prisma.$transaction(async (tx) => {
      await this.syncRequests.cancelActive(tx, current, 'Connector deleted', {
        includeActive: true,
      });
      // Jobs, file states, identity mappings and OAuth states go with the row (ON DELETE CASCADE);
      // the files already synced into the share are not touched.
      await tx.connector.delete({ where: { id: current.id } });
      await this.audit.record(tx, actor, {
        action: 'connector.deleted',
        resourceType: 'connector',
        resourceId: id,
        payload: { kind, name: current.name, target_share_id: current.targetShareId },
      });
    });
  }

  /** The decrypted configuration a driver needs. Never log or return it. */
  driverConfig(c: Connector): ConnectorConfig {
    const config = decryptConnectorConfig(c, this.secrets);
    if (config.kind === 'local') throw new NotFoundError('Connector');
    return config;
  }

  /** Checks what the schema cannot and returns the column values of the plain fields given. */
  private async validate(
    kind: ConnectorKind,
    input: AnyWrite,
    issues: FieldIssue[],
    current: Connector | undefined,
  ): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [field, column] of Object.entries(PLAIN_FIELDS)) {
      const v = (input as Record<string, unknown>)[field];
      if (v !== undefined) out[column] = v;
    }
    if (input.name !== undefined) {
      out.name = input.name.trim();
      if (!out.name) issues.push({ field: 'body.name', reason: 'must not be blank' });
    }
    if (typeof input.description === 'string') out.description = input.description.trim() || null;
    if (input.sync_interval_minutes !== undefined) {
      const p = intervalProblem(input.sync_interval_minutes);
      if (p) issues.push({ field: 'body.sync_interval_minutes', reason: p });
    }
    if (input.target_path !== undefined) {
      const r = cleanTargetPath(input.target_path);
      if ('problem' in r) issues.push({ field: 'body.target_path', reason: r.problem });
      else out.targetPath = r.value;
    }
    if (input.base_path !== undefined) {
      const r = cleanBasePath(input.base_path);
      if ('problem' in r) issues.push({ field: 'body.base_path', reason: r.problem });
      else out.basePath = r.value;
    }
    for (const f of ['include_patterns', 'exclude_patterns'] as const) {
      const set = input[f] as PatternSet | undefined;
      if (set) out[PLAIN_FIELDS[f]!] = cleanPatternSet(`body.${f}`, set, issues);
    }
    if (kind === 'smb') {
      if (input.server_host !== undefined) {
        const host = input.server_host.trim();
        const verdict = await this.hostGuard.check(host);
        if (!verdict.ok) issues.push({ field: 'body.server_host', reason: verdict.reason });
        else out.serverHost = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
      }
      if (input.domain !== undefined) out.domain = input.domain?.trim() || null;
      if (input.username !== undefined) out.username = input.username.trim();
      if (input.share_name !== undefined) out.shareName = input.share_name.trim();
    } else {
      if (input.site_url !== undefined) {
        const u = parseHttps(input.site_url);
        if (!u)
          issues.push({
            field: 'body.site_url',
            reason: 'must be an https:// URL of a SharePoint site',
          });
        else out.siteUrl = u;
        // A new site invalidates ids resolved from the old one unless given again.
        if (current && u && u !== current.siteUrl) {
          if (input.site_id === undefined) out.siteId = null;
          if (input.drive_id === undefined) out.driveId = null;
        }
      }
      if (
        current &&
        input.library_name !== undefined &&
        input.library_name !== current.libraryName &&
        input.drive_id === undefined
      )
        out.driveId = null;
      if (input.azure_tenant_id !== undefined)
        out.azureTenantId = input.azure_tenant_id.toLowerCase();
      if (input.azure_client_id !== undefined)
        out.azureClientId = input.azure_client_id.toLowerCase();
      if (
        input.azure_certificate !== undefined &&
        !/-----BEGIN [A-Z ]+-----/.test(input.azure_certificate)
      )
        issues.push({
          field: 'body.azure_certificate',
          reason: 'must be PEM (certificate and private key)',
        });
    }
    return out;
  }
}

function parseHttps(raw: string): string | null {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'https:' || !u.hostname || u.username || u.password) return null;
    u.hash = '';
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return null;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (b === undefined) return true;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
