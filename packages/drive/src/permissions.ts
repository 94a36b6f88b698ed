import { ValidationError } from '@scaidrive/core';

/** Permission bit flags (facts §3.4). Request bodies use the names, effective permissions the bits. */
export const Permission = {
  READ: 1,
  WRITE: 2,
  DELETE: 4,
  CREATE: 8,
  SHARE: 16,
  MANAGE_PERMISSIONS: 32,
} as const;
export type PermissionName = keyof typeof Permission;

export const PERMISSION_NAMES = Object.keys(Permission) as PermissionName[];
/** Every permission bit. */
export const ALL_PERMISSIONS = 63;

export type ShareRole = 'owner' | 'admin' | 'contributor' | 'reader';
export const SHARE_ROLES: readonly ShareRole[] = ['owner', 'admin', 'contributor', 'reader'];

/** What a share role grants before any ACL entry is applied. */
export const ROLE_PERMISSIONS: Record<ShareRole, number> = {
  owner: ALL_PERMISSIONS,
  admin: ALL_PERMISSIONS,
  contributor: Permission.READ | Permission.WRITE | Permission.DELETE | Permission.CREATE,
  reader: Permission.READ,
};

export function isShareRole(value: unknown): value is ShareRole {
  return typeof value === 'string' && (SHARE_ROLES as readonly string[]).includes(value);
}

/** `['READ','WRITE']` → 3. Unknown names are a ValidationError naming `field`. */
export function permissionsToBits(names: readonly string[], field = 'permissions'): number {
  let bits = 0;
  for (const name of names) {
    const bit = (Permission as Record<string, number>)[name];
    if (bit === undefined)
      throw new ValidationError(`Unknown permission "${name}"`, [
        { field, reason: `unknown permission "${name}" (one of ${PERMISSION_NAMES.join(', ')})` },
      ]);
    bits |= bit;
  }
  return bits;
}

/** 3 → `['READ','WRITE']` (in flag order). */
export function bitsToPermissions(bits: number): PermissionName[] {
  return PERMISSION_NAMES.filter((name) => (bits & Permission[name]) !== 0);
}

/** `{can_read, can_write, …}` as the effective-permission responses show them. */
export function permissionBooleans(
  bits: number,
): Record<`can_${Lowercase<PermissionName>}`, boolean> {
  const out = {} as Record<`can_${Lowercase<PermissionName>}`, boolean>;
  for (const name of PERMISSION_NAMES)
    out[`can_${name.toLowerCase() as Lowercase<PermissionName>}`] = (bits & Permission[name]) !== 0;
  return out;
}
