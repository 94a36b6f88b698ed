import { isoSeconds } from '@scaidrive/core';
import {
  bitsToPermissions,
  type AclEntryRecord,
  type AclView,
  type ChangeRecord,
  type GroupRecord,
  type NodeRecord,
  type ShareInfo,
  type ShareMemberInfo,
  type UserRecord,
  type VersionRecord,
} from '@scaidrive/drive';

const iso = (d: Date | null | undefined): string | null => isoSeconds(d ?? null);
const isoReq = (d: Date): string => isoSeconds(d)!;

export function user(u: UserRecord) {
  return {
    id: u.id,
    email: u.email,
    display_name: u.displayName,
    role: u.role,
    status: u.status,
    last_seen_at: iso(u.lastSeenAt),
    created_at: isoReq(u.createdAt),
    updated_at: isoReq(u.updatedAt),
  };
}

export function group(g: GroupRecord) {
  return {
    id: g.id,
    name: g.name,
    email: g.email,
    description: g.description,
    member_count: g.memberCount,
    created_at: isoReq(g.createdAt),
    updated_at: isoReq(g.updatedAt),
  };
}

export function share(s: ShareInfo) {
  return {
    id: s.id,
    tenant_id: s.tenantId,
    name: s.name,
    description: s.description,
    share_type: s.shareType,
    owner_id: s.ownerId,
    is_deleted: s.deletedAt !== null,
    deleted_at: iso(s.deletedAt),
    quota_bytes: s.quotaBytes,
    used_bytes: s.usedBytes,
    root_folder_id: s.rootNodeId,
    created_at: isoReq(s.createdAt),
    modified_at: isoReq(s.updatedAt),
  };
}

export function member(m: ShareMemberInfo) {
  return {
    id: m.id,
    share_id: m.shareId,
    principal_type: m.principalType,
    principal_id: m.principalId,
    role: m.role,
    expires_at: iso(m.expiresAt),
    created_at: isoReq(m.createdAt),
  };
}

/** A folder or file; `path` is share-relative (`/` for the root). */
export function item(n: NodeRecord, path: string) {
  return {
    id: n.id,
    type: n.kind,
    name: n.name,
    path,
    share_id: n.shareId,
    parent_id: n.parentId,
    size: n.kind === 'file' ? n.size : 0,
    version: n.kind === 'file' ? n.version : null,
    checksum_sha256: n.kind === 'file' ? n.sha256 : null,
    mime_type: n.mimeType,
    modified_at: isoReq(n.modifiedAt),
    created_at: isoReq(n.createdAt),
    updated_at: isoReq(n.updatedAt),
    created_by: n.createdBy,
    modified_by: n.modifiedBy,
    is_deleted: n.deletedAt !== null,
    deleted_at: iso(n.deletedAt),
    inherit_acl: n.inheritAcl,
    metadata: n.metadata,
  };
}

export function version(v: VersionRecord, currentVersionId: string | null) {
  return {
    id: v.id,
    version_number: v.versionNumber,
    size: v.size,
    checksum_sha256: v.sha256,
    modified_at: isoReq(v.modifiedAt),
    created_by: v.createdBy,
    created_at: isoReq(v.createdAt),
    is_current: v.id === currentVersionId,
    origin: v.origin,
  };
}

export function aclEntry(e: AclEntryRecord) {
  return {
    id: e.id,
    principal_type: e.principalType,
    principal_id: e.principalId,
    permissions: bitsToPermissions(e.permissions),
    ace_type: e.aceType,
    inherit_to_children: e.inheritToChildren,
    origin: e.origin,
    created_at: isoReq(e.createdAt),
  };
}

export function acl(v: AclView) {
  return {
    resource_type: v.resourceType,
    resource_id: v.resourceId,
    inherit_from_parent: v.inheritFromParent,
    entries: v.entries.map(aclEntry),
  };
}

export function change(c: ChangeRecord) {
  return {
    id: c.id,
    resource_type: c.resourceType,
    resource_id: c.resourceId,
    change_type: c.changeType,
    old_path: c.oldPath,
    new_path: c.newPath,
    version: c.version,
    version_id: c.versionId,
    changed_by: c.changedBy,
    changed_at: isoReq(c.changedAt),
    origin: c.origin,
    metadata: c.metadata,
  };
}

/** A change of an item the caller may not read: which item and what happened, nothing more. */
export function redactedChange(c: ChangeRecord) {
  return {
    ...change(c),
    old_path: null,
    new_path: null,
    version: null,
    version_id: null,
    metadata: null,
  };
}
