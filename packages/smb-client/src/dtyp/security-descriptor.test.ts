import { describe, expect, it } from '@jest/globals';
import { AppError } from '@scaidrive/core';
import { parseSecurityDescriptor } from './security-descriptor.js';

// Returned by Samba 4.17 after `smbcacls --set 'ACL:DOM\u1:ALLOWED/I/R,ACL:Everyone:ALLOWED/IO/FULL,
// ACL:DOM\u0:ALLOWED/0/FULL'`: smbcacls stores the DACL with AclRevision 3.
const SAMBA_REVISION_3 =
  '010004801400000030000000000000004c000000010500000000000515000000022a8c3aad7f991855315ab2e8030000' +
  '010500000000000515000000022a8c3aad7f991855315ab201020000030064000300000000081400ff011f0001010000' +
  '000000010000000000002400ff011f00010500000000000515000000022a8c3aad7f991855315ab2e803000000102400' +
  '89001200010500000000000515000000022a8c3aad7f991855315ab2e9030000';
const DOMAIN = 'S-1-5-21-982264322-412712877-2992255317';

describe('parseSecurityDescriptor', () => {
  it('parses a DACL with AclRevision 3 as Samba returns it', () => {
    const sd = parseSecurityDescriptor(Buffer.from(SAMBA_REVISION_3, 'hex'));
    expect(sd.owner).toBe(`${DOMAIN}-1000`);
    expect(sd.group).toBe(`${DOMAIN}-513`);
    expect(sd.dacl).toHaveLength(3);
    expect(sd.dacl![0]).toMatchObject({
      type: 'allow',
      sid: 'S-1-1-0',
      mask: 0x1f01ff,
      inheritOnly: true,
      inherited: false,
    });
    expect(sd.dacl![1]).toMatchObject({ sid: `${DOMAIN}-1000`, mask: 0x1f01ff, flags: 0 });
    expect(sd.dacl![2]).toMatchObject({ sid: `${DOMAIN}-1001`, mask: 0x120089, inherited: true });
  });

  it('still rejects an ACL revision that does not exist', () => {
    const bad = Buffer.from(SAMBA_REVISION_3, 'hex');
    bad[0x4c] = 9;
    expect(() => parseSecurityDescriptor(bad)).toThrow(AppError);
    bad[0x4c] = 1;
    expect(() => parseSecurityDescriptor(bad)).toThrow(/bad ACL revision/);
  });
});
