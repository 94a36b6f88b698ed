import { displayText, isoSeconds, mapJsonStrings } from '@scaidrive/core';
import type { Connector, FileState, IdentityMapping, SyncJob } from '@scaidrive/db';
import type { components } from '../generated/openapi.js';
import { resolutionOf } from '../services/file-states.js';
import { jobSummary } from './job-summary.js';

type S = components['schemas'];

const iso = (d: Date | null | undefined): string | null => isoSeconds(d ?? null);
const isoReq = (d: Date): string => isoSeconds(d)!;

function patterns(v: unknown): S['PatternSet'] {
  const o = (v ?? {}) as { extensions?: unknown; patterns?: unknown };
  const out: S['PatternSet'] = {};
  if (Array.isArray(o.extensions)) out.extensions = o.extensions as string[];
  if (Array.isArray(o.patterns)) out.patterns = o.patterns as string[];
  return out;
}

function common(c: Connector) {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    target_share_id: c.targetShareId,
    target_path: c.targetPath,
    sync_permissions: c.syncPermissions,
    include_patterns: patterns(c.includePatterns),
    exclude_patterns: patterns(c.excludePatterns),
    conflict_resolution: c.conflictResolution as S['ConflictResolution'],
    sync_interval_minutes: c.syncIntervalMinutes,
    enabled: c.status !== 'disabled',
    status: c.status as S['ConnectorStatus'],
    status_message: c.statusMessage,
    error_count: c.errorCount,
    last_sync_at: iso(c.lastSyncAt),
    next_sync_at: c.status === 'disabled' || c.syncIntervalMinutes === 0 ? null : iso(c.nextSyncAt),
    total_files_synced: Number(c.totalFilesSynced),
    total_bytes_synced: Number(c.totalBytesSynced),
    full_sync_required: c.fullSyncRequired,
    created_at: isoReq(c.createdAt),
    updated_at: isoReq(c.updatedAt),
  };
}

/** Secrets are never serialised: only whether one is stored. */
export function smbConnector(c: Connector): S['SmbConnector'] {
  return {
    ...common(c),
    sync_direction: c.syncDirection as S['SmbSyncDirection'],
    server_host: c.serverHost ?? '',
    server_port: c.serverPort ?? 445,
    share_name: c.shareName ?? '',
    base_path: c.basePath ?? '',
    domain: c.domain,
    username: c.username ?? '',
    password_set: c.passwordEnc !== null,
    sync_hidden_files: c.syncHiddenFiles ?? false,
    sync_system_files: c.syncSystemFiles ?? false,
  };
}

export function sharePointConnector(c: Connector): S['SharePointConnector'] {
  return {
    ...common(c),
    sync_direction: c.syncDirection as S['SharePointSyncDirection'],
    site_url: c.siteUrl ?? '',
    site_id: c.siteId,
    drive_id: c.driveId,
    library_name: c.libraryName ?? 'Documents',
    base_path: c.basePath ?? '',
    azure_tenant_id: c.azureTenantId ?? '',
    azure_client_id: c.azureClientId ?? '',
    azure_client_secret_set: c.azureClientSecretEnc !== null,
    azure_certificate_set: c.azureCertificateEnc !== null,
    auth_type: c.authType === 'user_auth' ? 'user_auth' : 'app_auth',
    authorized: c.tokenCacheEnc !== null,
    sync_versions: c.syncVersions ?? false,
    sync_metadata: c.syncMetadata ?? false,
  };
}

export function connector(c: Connector): S['SmbConnector'] | S['SharePointConnector'] {
  return c.kind === 'smb' ? smbConnector(c) : sharePointConnector(c);
}

/** `withSummary`: the job detail (`GET …/jobs/{job_id}`); lists leave the summary out. */
export function syncJob(
  j: Omit<SyncJob, 'summary'> & { summary?: SyncJob['summary'] },
  o: { withSummary?: boolean } = {},
): S['SyncJob'] {
  const out: S['SyncJob'] = {
    id: j.id,
    connector_id: j.connectorId,
    status: j.status as S['SyncJobStatus'],
    trigger: j.trigger as S['SyncJob']['trigger'],
    full_sync: j.fullSync,
    confirm_deletes: j.confirmDeletes,
    created_at: isoReq(j.createdAt),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
    files_scanned: j.filesScanned,
    files_synced: j.filesSynced,
    bytes_transferred: Number(j.bytesTransferred),
    error_count: j.errorCount,
    conflicts: j.conflicts,
    deletes: j.deletes,
    message: j.message,
    attempt: j.attempt,
    cancel_requested_at: iso(j.cancelRequestedAt),
  };
  if (o.withSummary) out.summary = jobSummary(j.summary);
  return out;
}

export function fileState(f: FileState): S['FileState'] {
  const hasSource = f.sourceId !== null || f.sourceSize !== null || f.sourceMtime !== null;
  const hasTarget = f.targetId !== null || f.targetSize !== null || f.targetMtime !== null;
  return {
    id: f.id,
    path: displayText(f.path),
    type: f.kind as S['FileState']['type'],
    status: f.status as S['FileStateStatus'],
    source: hasSource
      ? {
          item_id: f.sourceId === null ? null : displayText(f.sourceId),
          size: f.sourceSize === null ? null : Number(f.sourceSize),
          modified_at: iso(f.sourceMtime),
          version: f.sourceVersion,
          hash: f.sourceHash,
        }
      : null,
    target: hasTarget
      ? {
          item_id: f.targetId === null ? null : displayText(f.targetId),
          size: f.targetSize === null ? null : Number(f.targetSize),
          modified_at: iso(f.targetMtime),
          version: f.targetVersion,
          hash: f.targetHash,
        }
      : null,
    last_synced_at: iso(f.lastSyncedAt),
    last_error: f.lastError === null ? null : displayText(f.lastError),
    last_error_code: f.lastErrorCode,
    conflict:
      f.conflict === null
        ? null
        : (mapJsonStrings(f.conflict, displayText) as Record<string, unknown>),
    resolution: resolutionOf(f),
  };
}

export function identityMapping(m: IdentityMapping): S['IdentityMapping'] {
  return {
    id: m.id,
    identity_type: m.identityType as S['IdentityType'],
    smb_principal: m.smbPrincipal,
    scaidrive_principal_id: m.scaidrivePrincipalId,
    created_at: isoReq(m.createdAt),
  };
}
