import { describe, expect, it } from '@jest/globals';
import type { IdentityMapping } from '@scaidrive/db';
import type { AclSnapshot } from '@scaidrive/sync';
import { createAclMapper } from './acl-mapper.js';

const mapping = (over: Partial<IdentityMapping>): IdentityMapping =>
  ({
    id: 'map_1',
    tenantId: 'tnt_1',
    connectorId: 'cnn_1',
    identityType: 'user',
    smbPrincipal: 'CORP\\alice',
    principalKey: 'corp\\alice',
    resolvedSid: null,
    scaidrivePrincipalId: 'usr_alice',
    ...over,
  }) as IdentityMapping;

const acl = (principal: AclSnapshot['entries'][number]['principal']): AclSnapshot => ({
  inheritFromParent: false,
  entries: [
    { principal, type: 'allow', permissions: ['READ'], inherited: false, inheritToChildren: true },
  ],
});

describe('createAclMapper: DOMAIN\\name mappings', () => {
  it('match an ACE by its resolved name only when the kind of account agrees', async () => {
    const map = createAclMapper([mapping({})]);
    const ctx = { path: 'x', kind: 'file' as const };
    const user = await map(
      acl({ kind: 'sid', id: 'S-1-5-21-1-2-3-1001', name: 'CORP\\alice', type: 'user' }),
      ctx,
    );
    expect(user.entries.map((e) => e.principalId)).toEqual(['usr_alice']);
    // The name now belongs to a group: reported, not granted to the user.
    const group = await map(
      acl({ kind: 'sid', id: 'S-1-5-21-1-2-3-1002', name: 'CORP\\alice', type: 'group' }),
      ctx,
    );
    expect(group.entries).toEqual([]);
    expect(group.unmapped.map((p) => p.id)).toEqual(['S-1-5-21-1-2-3-1002']);
    // Kind unknown: the name decides, as before.
    const unknown = await map(
      acl({ kind: 'sid', id: 'S-1-5-21-1-2-3-1003', name: 'corp\\ALICE' }),
      ctx,
    );
    expect(unknown.entries.map((e) => e.principalId)).toEqual(['usr_alice']);
  });
});
