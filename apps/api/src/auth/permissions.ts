import type { Principal } from './principal.js';

/** Permission bits (platform facts §3.4); the same values `@scaidrive/drive` exports. */
export const PermissionBit = {
  READ: 1,
  WRITE: 2,
  DELETE: 4,
  CREATE: 8,
  SHARE: 16,
  MANAGE_PERMISSIONS: 32,
} as const;

export interface ResourceRef {
  type: 'share' | 'folder' | 'file';
  id: string;
}

/**
 * Effective permissions of a principal on a share-store resource (share role ∪ allow − deny; tenant
 * admins get everything). The share store's `PermissionService` implements it; main.ts injects it.
 * A resource outside the principal's tenant yields 0.
 */
export interface PermissionChecker {
  effective(
    principal: Pick<Principal, 'tenantId' | 'userId' | 'groupIds' | 'isTenantAdmin'>,
    resource: ResourceRef,
  ): Promise<number>;
}
