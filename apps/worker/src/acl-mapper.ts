import type { IdentityMapping } from '@scaidrive/db';
import type { AclMapper, MappedAcl, SourcePrincipal, TargetAce } from '@scaidrive/sync';

/**
 * Source ACEs → ScaiDrive ACL entries through the connector's identity mappings. SMB principals
 * match on SID (a mapping given as `DOMAIN\name` matches through its resolved SID, or by name when
 * the source resolved the ACE's SID to that name); SharePoint principals match on the Entra object
 * id. `Everyone` maps to `everyone`. Anything unmapped is reported, never guessed.
 */
export function createAclMapper(mappings: IdentityMapping[]): AclMapper {
  const byKey = new Map<string, IdentityMapping>();
  for (const m of mappings) {
    byKey.set(m.principalKey, m);
    if (m.resolvedSid) byKey.set(m.resolvedSid.toUpperCase(), m);
  }
  const find = (p: SourcePrincipal): IdentityMapping | undefined => {
    if (p.kind === 'sid') {
      const bySid = byKey.get(p.id.toUpperCase());
      if (bySid) return bySid;
      const byName = p.name ? byKey.get(p.name.normalize('NFC').toLowerCase()) : undefined;
      // A name now held by another kind of account (a user mapping, a group of that name) is not
      // this mapping's principal.
      return byName && p.type && p.type !== byName.identityType ? undefined : byName;
    }
    return byKey.get(p.id.toLowerCase());
  };
  return (snapshot): MappedAcl => {
    const entries: TargetAce[] = [];
    const unmapped: SourcePrincipal[] = [];
    for (const ace of snapshot.entries) {
      if (ace.permissions.length === 0) continue;
      if (ace.principal.kind === 'everyone') {
        entries.push({
          principalType: 'everyone',
          principalId: 'everyone',
          aceType: ace.type,
          permissions: ace.permissions,
          inheritToChildren: ace.inheritToChildren,
        });
        continue;
      }
      const m = find(ace.principal);
      if (!m) {
        unmapped.push(ace.principal);
        continue;
      }
      entries.push({
        principalType: m.identityType === 'group' ? 'group' : 'user',
        principalId: m.scaidrivePrincipalId,
        aceType: ace.type,
        permissions: ace.permissions,
        inheritToChildren: ace.inheritToChildren,
      });
    }
    return { entries, unmapped };
  };
}
