export * from './permissions.js';
export * from './principal.js';
export { evaluatePermissions, type AceLike, type AclLevel } from './acl-eval.js';
export { PermissionService, type ChildRef } from './acl.js';
export {
  AclService,
  type AclEntryInput,
  type AclEntryRecord,
  type AclView,
  type AceType,
  type PrincipalType,
} from './acl-entries.js';
export {
  PrincipalService,
  type UserRecord,
  type GroupRecord,
  type UserRole,
  type UserStatus,
  type Page,
} from './principals.js';
export {
  ShareService,
  principalTypeOf,
  type ShareInfo,
  type ShareMemberInfo,
  type ShareType,
} from './shares.js';
export { TreeService, type FolderRef, type ListOptions, type TrashExpiryResult } from './tree.js';
export {
  FileService,
  EMPTY_SHA256,
  type FileServiceOptions,
  type OpenedContent,
  type WriteFileOptions,
} from './files.js';
export type { NodeRecord } from './nodes.js';
export type { VersionRecord, StoredContent } from './versions.js';
export type { ByteRange } from './content/read.js';
export type { Actor, ChangeRecord, ChangeType } from './change-feed.js';
export { ShareTree, type ShareTreeOptions } from './share-tree.js';
export { Drive, createShareTree, DEFAULT_GC_GRACE_MS, type DriveOptions } from './drive.js';
export { collectGarbage, adoptOrphanChunks, type GcOptions, type GcResult } from './gc.js';
export * from './chunk-store/index.js';
export {
  NameInvalidError,
  NameConflictError,
  PreconditionFailedError,
  ItemNotFoundError,
  QuotaExceededError,
  ContentMismatchError,
} from './errors.js';
export { checkName, checkPath } from './names.js';
