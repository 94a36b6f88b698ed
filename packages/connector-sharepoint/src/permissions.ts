import type { AclSnapshot, Permission, SourceAce } from '@scaidrive/sync';

/**
 * Graph item permissions → `SourceAce`s. Users and groups granted directly (`grantedToV2.user`,
 * `.group`) become Entra principals; roles read / write / owner become ScaiDrive permissions.
 * Sharing links and SharePoint-only principals (site users/groups) are reported, not mapped.
 */
export interface GraphIdentity {
  id?: string;
  displayName?: string;
  email?: string;
}
export interface GraphPermission {
  id: string;
  roles?: string[];
  grantedToV2?: {
    user?: GraphIdentity;
    group?: GraphIdentity;
    siteUser?: GraphIdentity;
    siteGroup?: GraphIdentity;
  };
  grantedToIdentitiesV2?: GraphPermission['grantedToV2'][];
  link?: { type?: string; scope?: string; webUrl?: string };
  inheritedFrom?: { id?: string; path?: string };
}

export interface UnmappedGrant {
  permissionId: string;
  reason: 'sharing_link' | 'sharepoint_principal';
  detail: string;
}

const ROLE_PERMISSIONS: Record<string, Permission[]> = {
  read: ['READ'],
  write: ['READ', 'WRITE', 'CREATE', 'DELETE'],
  owner: ['READ', 'WRITE', 'CREATE', 'DELETE', 'SHARE', 'MANAGE_PERMISSIONS'],
};

export function rolesToPermissions(roles: string[] = []): Permission[] {
  const set = new Set<Permission>();
  for (const r of roles) for (const p of ROLE_PERMISSIONS[r.toLowerCase()] ?? []) set.add(p);
  return [...set];
}

export function mapPermissions(
  perms: GraphPermission[],
  isFolder: boolean,
): { acl: AclSnapshot; unmapped: UnmappedGrant[] } {
  const entries: SourceAce[] = [];
  const unmapped: UnmappedGrant[] = [];
  for (const p of perms) {
    if (p.link) {
      unmapped.push({
        permissionId: p.id,
        reason: 'sharing_link',
        detail: `${p.link.scope ?? '?'} ${p.link.type ?? '?'} link`,
      });
      continue;
    }
    const g = p.grantedToV2;
    const permissions = rolesToPermissions(p.roles);
    if (permissions.length === 0) continue;
    const who = g?.user
      ? { id: g.user, type: 'user' as const }
      : g?.group
        ? { id: g.group, type: 'group' as const }
        : null;
    if (!who || !who.id.id) {
      const sp = g?.siteGroup ?? g?.siteUser;
      unmapped.push({
        permissionId: p.id,
        reason: 'sharepoint_principal',
        detail: sp?.displayName ?? 'unknown principal',
      });
      continue;
    }
    entries.push({
      principal: {
        kind: 'entra',
        id: who.id.id,
        name: who.id.email ?? who.id.displayName,
        type: who.type,
      },
      type: 'allow',
      permissions,
      inherited: !!p.inheritedFrom,
      inheritToChildren: isFolder,
    });
  }
  const inheritFromParent = perms.length > 0 && perms.every((p) => !!p.inheritedFrom);
  return { acl: { inheritFromParent, entries }, unmapped };
}
