export * from './permissions.js';
export * from './principal.js';
export { evaluatePermissions, type AceLike, type AclLevel } from './acl-eval.js';
export { PermissionService, type ChildRef } from './acl.js';
