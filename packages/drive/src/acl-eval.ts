/**
 * The permission rule, as a pure function (facts §3.4): effective = (role ∪ allows) − denies.
 *
 * ACL entries come in levels, nearest first: the resource's own entries, then — while inheritance
 * is on — the inheritable entries of its parent, grandparent, …, the share root folder and the
 * share itself. For each permission bit the nearest level that mentions it decides; within a level
 * an explicit deny wins over an allow. So a deny anywhere up the chain removes a bit the role
 * grants, unless a nearer level allows it again ("explicit beats inherited"); and a deny on the
 * resource itself always wins. Tenant admins bypass all of this (handled by the caller).
 */

export interface AceLike {
  aceType: 'allow' | 'deny' | string;
  permissions: number;
}

/** Entries of one level that already match the principal. */
export type AclLevel = readonly AceLike[];

export function evaluatePermissions(roleBits: number, levels: readonly AclLevel[]): number {
  let decided = 0;
  let allowed = 0;
  let denied = 0;
  for (const level of levels) {
    let levelAllow = 0;
    let levelDeny = 0;
    for (const ace of level) {
      if (ace.aceType === 'deny') levelDeny |= ace.permissions;
      else if (ace.aceType === 'allow') levelAllow |= ace.permissions;
    }
    const undecided = ~decided;
    denied |= levelDeny & undecided;
    allowed |= levelAllow & ~levelDeny & undecided;
    decided |= levelAllow | levelDeny;
  }
  return (allowed | (roleBits & ~denied)) & 63;
}
