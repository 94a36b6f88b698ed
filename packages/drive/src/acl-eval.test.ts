import { describe, expect, it } from '@jest/globals';
import { evaluatePermissions } from './acl-eval.js';
import {
  Permission as P,
  ROLE_PERMISSIONS,
  bitsToPermissions,
  permissionsToBits,
} from './permissions.js';

const allow = (permissions: number) => ({ aceType: 'allow', permissions });
const deny = (permissions: number) => ({ aceType: 'deny', permissions });

describe('evaluatePermissions', () => {
  const cases: [string, number, Parameters<typeof evaluatePermissions>[1], number][] = [
    ['role alone decides without entries', ROLE_PERMISSIONS.reader, [], P.READ],
    ['no role, no entries: nothing', 0, [[], []], 0],
    ['allow adds to the role', P.READ, [[allow(P.WRITE)]], P.READ | P.WRITE],
    ['deny removes from the role', ROLE_PERMISSIONS.owner, [[deny(P.DELETE)]], 63 & ~P.DELETE],
    ['deny beats allow on the same level', 0, [[allow(P.READ | P.WRITE), deny(P.WRITE)]], P.READ],
    ['inherited deny removes a role bit', P.READ | P.WRITE, [[], [deny(P.WRITE)]], P.READ],
    [
      'explicit allow beats inherited deny',
      P.READ,
      [[allow(P.WRITE)], [deny(P.WRITE)]],
      P.READ | P.WRITE,
    ],
    [
      'explicit deny beats inherited allow',
      0,
      [[deny(P.READ)], [allow(P.READ | P.CREATE)]],
      P.CREATE,
    ],
    [
      'nearer level decides per bit',
      0,
      [[allow(P.READ)], [deny(P.READ | P.WRITE)], [allow(P.WRITE)]],
      P.READ,
    ],
  ];
  it.each(cases)('%s', (_name, role, levels, expected) => {
    expect(bitsToPermissions(evaluatePermissions(role, levels))).toEqual(
      bitsToPermissions(expected),
    );
  });
});

describe('permission names', () => {
  it('round-trips names and bits', () => {
    expect(permissionsToBits(['READ', 'MANAGE_PERMISSIONS'])).toBe(33);
    expect(bitsToPermissions(33)).toEqual(['READ', 'MANAGE_PERMISSIONS']);
    expect(() => permissionsToBits(['FLY'])).toThrow(/Unknown permission/);
  });
});
