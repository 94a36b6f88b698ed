/** Who is asking: built by the API from a JWT or a service token, by the worker for a connector. */
export interface Principal {
  tenantId: string;
  userId: string;
  groupIds: string[];
  /** Users with the DB role `tenant_admin` (or a `tenant:admin` scope): every permission in the tenant. */
  isTenantAdmin: boolean;
}

export type ResourceType = 'share' | 'folder' | 'file';

export interface ResourceRef {
  type: ResourceType;
  id: string;
}

export function isResourceType(value: unknown): value is ResourceType {
  return value === 'share' || value === 'folder' || value === 'file';
}
