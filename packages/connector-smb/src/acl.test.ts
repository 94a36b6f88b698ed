import { describe, expect, it } from '@jest/globals';
import { AceType, type Ace, type SecurityDescriptor } from '@scaidrive/smb-client';
import { Right, expandGeneric, maskToPermissions, toAclSnapshot, daclSids } from './acl.js';

// Masks as Windows' Advanced Security dialog and smbcacls name them.
const READ = 0x1200a9; // Read & execute
const WRITE = 0x100116; // Write
const CHANGE = 0x1301bf; // Modify
const FULL = 0x1f01ff; // Full control

describe('maskToPermissions (the table in docs/smb.md)', () => {
  it.each([
    [READ, 'file', 'allow', ['READ']],
    [WRITE, 'file', 'allow', ['WRITE']],
    [WRITE, 'folder', 'allow', ['WRITE', 'CREATE']],
    [CHANGE, 'file', 'allow', ['READ', 'WRITE', 'DELETE']],
    [CHANGE, 'folder', 'allow', ['READ', 'WRITE', 'DELETE', 'CREATE']],
    [FULL, 'file', 'allow', ['READ', 'WRITE', 'DELETE', 'MANAGE_PERMISSIONS']],
    [FULL, 'folder', 'allow', ['READ', 'WRITE', 'DELETE', 'CREATE', 'MANAGE_PERMISSIONS']],
    [
      Right.GENERIC_ALL,
      'folder',
      'allow',
      ['READ', 'WRITE', 'DELETE', 'CREATE', 'MANAGE_PERMISSIONS'],
    ],
    [Right.GENERIC_READ, 'file', 'allow', ['READ']],
    [Right.GENERIC_WRITE, 'folder', 'allow', ['WRITE', 'CREATE']],
    [Right.GENERIC_EXECUTE, 'file', 'allow', []],
    [Right.FILE_APPEND_DATA, 'file', 'allow', []],
    [Right.FILE_APPEND_DATA, 'folder', 'allow', []],
    [Right.FILE_DELETE_CHILD, 'folder', 'allow', []],
    [Right.WRITE_OWNER, 'file', 'allow', []],
    [Right.WRITE_DAC, 'file', 'allow', ['MANAGE_PERMISSIONS']],
    [Right.READ_CONTROL | Right.SYNCHRONIZE | Right.FILE_READ_ATTRIBUTES, 'file', 'allow', []],
    // Denies withhold a permission on any right it includes.
    [Right.FILE_APPEND_DATA, 'file', 'deny', ['WRITE']],
    [Right.FILE_APPEND_DATA, 'folder', 'deny', ['WRITE', 'CREATE']],
    [Right.FILE_DELETE_CHILD, 'folder', 'deny', ['DELETE']],
    [Right.WRITE_OWNER, 'file', 'deny', ['MANAGE_PERMISSIONS']],
    [WRITE, 'file', 'deny', ['WRITE']],
    [Right.GENERIC_READ, 'file', 'deny', ['READ']],
    [FULL, 'folder', 'deny', ['READ', 'WRITE', 'DELETE', 'CREATE', 'MANAGE_PERMISSIONS']],
  ] as const)('mask %s on a %s, %s → %j', (mask, kind, type, want) => {
    expect(maskToPermissions(mask, kind, type)).toEqual(want);
  });

  it('expands generic rights with the file generic mapping', () => {
    expect(expandGeneric(Right.GENERIC_READ)).toBe(0x120089);
    expect(expandGeneric(Right.GENERIC_WRITE)).toBe(0x120116);
    expect(expandGeneric(Right.GENERIC_ALL | Right.GENERIC_READ)).toBe(0x1f01ff);
  });
});

function ace(over: Partial<Ace>): Ace {
  const flags = over.flags ?? 0;
  return {
    type: 'allow',
    aceType: AceType.ACCESS_ALLOWED,
    flags,
    mask: READ,
    sid: 'S-1-5-21-1-2-3-1001',
    inherited: (flags & 0x10) !== 0,
    objectInherit: (flags & 0x1) !== 0,
    containerInherit: (flags & 0x2) !== 0,
    inheritOnly: (flags & 0x8) !== 0,
    noPropagate: (flags & 0x4) !== 0,
    ...over,
  };
}

function sd(dacl: Ace[] | null, daclProtected = false): SecurityDescriptor {
  return { control: 0, owner: 'S-1-5-21-1-2-3-1000', group: null, dacl, daclProtected };
}

describe('toAclSnapshot', () => {
  const names = new Map([
    ['S-1-5-21-1-2-3-1001', { name: 'CORP\\alice', type: 'user' as const }],
    ['S-1-5-21-1-2-3-2001', { name: 'CORP\\Finance', type: 'group' as const }],
  ]);

  it('translates allow/deny ACEs, names, inheritance flags; skips what does not apply', () => {
    const snap = toAclSnapshot(
      sd([
        ace({ type: 'deny', aceType: AceType.ACCESS_DENIED, mask: WRITE, flags: 0x3 }),
        ace({ sid: 'S-1-5-21-1-2-3-2001', mask: CHANGE, flags: 0x2 | 0x10 }),
        ace({ sid: 'S-1-1-0', mask: READ, flags: 0x1 }),
        ace({ sid: 'S-1-3-0', mask: FULL, flags: 0xb }), // CREATOR OWNER template (inherit-only)
        ace({ sid: 'S-1-5-21-1-2-3-9999', mask: FULL }), // unknown SID stays a SID
        ace({ aceType: AceType.ACCESS_ALLOWED_CALLBACK, mask: FULL }), // conditional allow: dropped
        ace({ type: 'deny', aceType: AceType.ACCESS_DENIED_CALLBACK, mask: Right.DELETE }),
        ace({ type: 'audit', aceType: AceType.SYSTEM_AUDIT, mask: FULL }),
        ace({ mask: Right.SYNCHRONIZE }), // no ScaiDrive counterpart: no entry
      ]),
      'folder',
      names,
    );
    expect(snap.inheritFromParent).toBe(true);
    expect(snap.entries).toEqual([
      {
        principal: { kind: 'sid', id: 'S-1-5-21-1-2-3-1001', name: 'CORP\\alice', type: 'user' },
        type: 'deny',
        permissions: ['WRITE', 'CREATE'],
        inherited: false,
        inheritToChildren: true,
      },
      {
        principal: { kind: 'sid', id: 'S-1-5-21-1-2-3-2001', name: 'CORP\\Finance', type: 'group' },
        type: 'allow',
        permissions: ['READ', 'WRITE', 'DELETE', 'CREATE'],
        inherited: true,
        inheritToChildren: true,
      },
      {
        principal: { kind: 'everyone', id: 'everyone', name: 'Everyone' },
        type: 'allow',
        permissions: ['READ'],
        inherited: false,
        inheritToChildren: true,
      },
      {
        principal: { kind: 'sid', id: 'S-1-5-21-1-2-3-9999' },
        type: 'allow',
        permissions: ['READ', 'WRITE', 'DELETE', 'CREATE', 'MANAGE_PERMISSIONS'],
        inherited: false,
        inheritToChildren: false,
      },
      {
        principal: { kind: 'sid', id: 'S-1-5-21-1-2-3-1001', name: 'CORP\\alice', type: 'user' },
        type: 'deny',
        permissions: ['DELETE'],
        inherited: false,
        inheritToChildren: false,
      },
    ]);
  });

  it('files never pass permissions on; protected DACLs do not inherit; NULL DACL = everyone', () => {
    const f = toAclSnapshot(sd([ace({ flags: 0x3 })], true), 'file', names);
    expect(f.inheritFromParent).toBe(false);
    expect(f.entries[0]!.inheritToChildren).toBe(false);
    expect(toAclSnapshot(sd([]), 'file', names)).toEqual({ inheritFromParent: true, entries: [] });
    expect(toAclSnapshot(sd(null), 'folder', names).entries).toEqual([
      {
        principal: { kind: 'everyone', id: 'everyone', name: 'Everyone' },
        type: 'allow',
        permissions: ['READ', 'WRITE', 'DELETE', 'CREATE', 'MANAGE_PERMISSIONS'],
        inherited: false,
        inheritToChildren: true,
      },
    ]);
  });

  it('lists the SIDs that need names', () => {
    expect(
      daclSids(sd([ace({}), ace({ sid: 'S-1-1-0' }), ace({}), ace({ sid: 'S-1-5-32-544' })])),
    ).toEqual(['S-1-5-21-1-2-3-1001', 'S-1-5-32-544']);
  });
});
