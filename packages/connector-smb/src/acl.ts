import { AceType, type Ace, type SecurityDescriptor } from '@scaidrive/smb-client';
import type {
  AclSnapshot,
  EntryKind,
  Permission,
  SourceAce,
  SourcePrincipal,
} from '@scaidrive/sync';

/** Access-mask bits ([MS-DTYP] 2.4.3, [MS-SMB2] 2.2.13.1). */
export const Right = {
  FILE_READ_DATA: 0x1, // folders: FILE_LIST_DIRECTORY
  FILE_WRITE_DATA: 0x2, // folders: FILE_ADD_FILE
  FILE_APPEND_DATA: 0x4, // folders: FILE_ADD_SUBDIRECTORY
  FILE_READ_EA: 0x8,
  FILE_WRITE_EA: 0x10,
  FILE_EXECUTE: 0x20, // folders: FILE_TRAVERSE
  FILE_DELETE_CHILD: 0x40,
  FILE_READ_ATTRIBUTES: 0x80,
  FILE_WRITE_ATTRIBUTES: 0x100,
  DELETE: 0x10000,
  READ_CONTROL: 0x20000,
  WRITE_DAC: 0x40000,
  WRITE_OWNER: 0x80000,
  SYNCHRONIZE: 0x100000,
  GENERIC_ALL: 0x10000000,
  GENERIC_EXECUTE: 0x20000000,
  GENERIC_WRITE: 0x40000000,
  GENERIC_READ: 0x80000000,
} as const;

/** The file object's generic mapping ([MS-SMB2] 2.2.13.1.1 FILE_GENERIC_*). */
const FILE_GENERIC_READ = 0x120089;
const FILE_GENERIC_WRITE = 0x120116;
const FILE_GENERIC_EXECUTE = 0x1200a0;
const FILE_ALL_ACCESS = 0x1f01ff;

/** Generic bits replaced by the specific and standard rights they stand for. */
export function expandGeneric(mask: number): number {
  let m = mask >>> 0;
  if (m & Right.GENERIC_READ) m |= FILE_GENERIC_READ;
  if (m & Right.GENERIC_WRITE) m |= FILE_GENERIC_WRITE;
  if (m & Right.GENERIC_EXECUTE) m |= FILE_GENERIC_EXECUTE;
  if (m & Right.GENERIC_ALL) m |= FILE_ALL_ACCESS;
  return (m & 0x0fffffff) >>> 0;
}

const ORDER: Permission[] = ['READ', 'WRITE', 'DELETE', 'CREATE', 'MANAGE_PERMISSIONS'];

/**
 * An ACE's access mask as ScaiDrive permissions (documented in docs/smb.md). An allow grants a
 * permission only when it carries the right that permission needs; a deny withholds a permission
 * when it carries any right that permission includes — so a partial mask never widens access.
 *
 * | ScaiDrive          | allow needs                           | deny on any of                    |
 * |--------------------|---------------------------------------|-----------------------------------|
 * | READ               | FILE_READ_DATA / LIST_DIRECTORY       | same                              |
 * | WRITE              | FILE_WRITE_DATA / ADD_FILE            | WRITE_DATA, APPEND_DATA           |
 * | CREATE (folders)   | ADD_FILE and ADD_SUBDIRECTORY         | ADD_FILE, ADD_SUBDIRECTORY        |
 * | DELETE             | DELETE                                | DELETE, FILE_DELETE_CHILD         |
 * | MANAGE_PERMISSIONS | WRITE_DAC                             | WRITE_DAC, WRITE_OWNER            |
 *
 * Generic rights are expanded first (GENERIC_READ → READ; GENERIC_WRITE → WRITE (+ CREATE on
 * folders); GENERIC_ALL → all five; GENERIC_EXECUTE → none). Attribute, EA, execute/traverse,
 * READ_CONTROL and SYNCHRONIZE rights have no ScaiDrive counterpart; SHARE is never granted.
 */
export function maskToPermissions(
  mask: number,
  kind: EntryKind,
  type: 'allow' | 'deny',
): Permission[] {
  const m = expandGeneric(mask);
  const has = (bits: number) => (m & bits) === bits;
  const any = (bits: number) => (m & bits) !== 0;
  const out = new Set<Permission>();
  const folder = kind === 'folder';
  if (type === 'allow') {
    if (has(Right.FILE_READ_DATA)) out.add('READ');
    if (has(Right.FILE_WRITE_DATA)) out.add('WRITE');
    if (folder && has(Right.FILE_WRITE_DATA | Right.FILE_APPEND_DATA)) out.add('CREATE');
    if (has(Right.DELETE)) out.add('DELETE');
    if (has(Right.WRITE_DAC)) out.add('MANAGE_PERMISSIONS');
  } else {
    if (any(Right.FILE_READ_DATA)) out.add('READ');
    if (any(Right.FILE_WRITE_DATA | Right.FILE_APPEND_DATA)) out.add('WRITE');
    if (folder && any(Right.FILE_WRITE_DATA | Right.FILE_APPEND_DATA)) out.add('CREATE');
    if (any(Right.DELETE | Right.FILE_DELETE_CHILD)) out.add('DELETE');
    if (any(Right.WRITE_DAC | Right.WRITE_OWNER)) out.add('MANAGE_PERMISSIONS');
  }
  return ORDER.filter((p) => out.has(p));
}

export const EVERYONE_SID = 'S-1-1-0';

/** What the SID resolver knows about a SID. */
export interface SidInfo {
  /** `DOMAIN\name` (or the bare name of a well-known principal). */
  name: string;
  type?: 'user' | 'group';
}

/** The SIDs of a descriptor's DACL that need a name. */
export function daclSids(sd: SecurityDescriptor): string[] {
  const sids = new Set<string>();
  for (const ace of sd.dacl ?? []) if (ace.sid && ace.sid !== EVERYONE_SID) sids.add(ace.sid);
  return [...sids];
}

function principalOf(sid: string, names: ReadonlyMap<string, SidInfo>): SourcePrincipal {
  if (sid === EVERYONE_SID) return { kind: 'everyone', id: 'everyone', name: 'Everyone' };
  const p: SourcePrincipal = { kind: 'sid', id: sid };
  const info = names.get(sid);
  if (info) {
    p.name = info.name;
    if (info.type) p.type = info.type;
  }
  return p;
}

/** Whether the ACE takes part in the item's own permissions (see `toAclSnapshot`). */
function effective(ace: Ace): boolean {
  return (ace.type === 'allow' || ace.type === 'deny') && !ace.inheritOnly && ace.sid !== '';
}

/**
 * A security descriptor as the engine's ACL snapshot.
 *
 * - Allow and deny ACEs (callback/object variants included: a conditional allow is dropped, a
 *   conditional deny is kept — never widen access); audit and unknown ACEs are ignored.
 * - `inherited` = the ACE's INHERITED flag; `inheritToChildren` = CONTAINER_INHERIT or
 *   OBJECT_INHERIT on a folder (files have no children).
 * - Inherit-only ACEs (including CREATOR OWNER templates) do not apply to the item itself and are
 *   skipped; Windows and Samba give every child its own inherited copy, which that child reports.
 * - `inheritFromParent` = the DACL is not protected. A missing (NULL) DACL grants everyone full
 *   access and is reported as such.
 */
export function toAclSnapshot(
  sd: SecurityDescriptor,
  kind: EntryKind,
  names: ReadonlyMap<string, SidInfo>,
): AclSnapshot {
  if (sd.dacl === null) {
    return {
      inheritFromParent: true,
      entries: [
        {
          principal: principalOf(EVERYONE_SID, names),
          type: 'allow',
          permissions: maskToPermissions(Right.GENERIC_ALL, kind, 'allow'),
          inherited: false,
          inheritToChildren: kind === 'folder',
        },
      ],
    };
  }
  const entries: SourceAce[] = [];
  for (const ace of sd.dacl) {
    if (!effective(ace)) continue;
    const type = ace.type as 'allow' | 'deny';
    if (type === 'allow' && ace.aceType === AceType.ACCESS_ALLOWED_CALLBACK) continue; // conditional
    const permissions = maskToPermissions(ace.mask, kind, type);
    if (permissions.length === 0) continue;
    entries.push({
      principal: principalOf(ace.sid, names),
      type,
      permissions,
      inherited: ace.inherited,
      inheritToChildren: kind === 'folder' && (ace.containerInherit || ace.objectInherit),
    });
  }
  return { inheritFromParent: !sd.daclProtected, entries };
}
