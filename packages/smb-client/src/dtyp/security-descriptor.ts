import { protocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { readSid } from './sid.js';

/** ACE types ([MS-DTYP] 2.4.4.1). */
export const AceType = {
  ACCESS_ALLOWED: 0x00,
  ACCESS_DENIED: 0x01,
  SYSTEM_AUDIT: 0x02,
  ACCESS_ALLOWED_OBJECT: 0x05,
  ACCESS_DENIED_OBJECT: 0x06,
  ACCESS_ALLOWED_CALLBACK: 0x09,
  ACCESS_DENIED_CALLBACK: 0x0a,
} as const;

/** ACE flags. */
export const AceFlag = {
  OBJECT_INHERIT: 0x01,
  CONTAINER_INHERIT: 0x02,
  NO_PROPAGATE_INHERIT: 0x04,
  INHERIT_ONLY: 0x08,
  INHERITED: 0x10,
  SUCCESSFUL_ACCESS: 0x40,
  FAILED_ACCESS: 0x80,
} as const;

/** Security descriptor control bits. */
export const SdControl = {
  OWNER_DEFAULTED: 0x0001,
  GROUP_DEFAULTED: 0x0002,
  DACL_PRESENT: 0x0004,
  DACL_DEFAULTED: 0x0008,
  SACL_PRESENT: 0x0010,
  DACL_AUTO_INHERITED: 0x0400,
  DACL_PROTECTED: 0x1000,
  SELF_RELATIVE: 0x8000,
} as const;

export interface Ace {
  type: 'allow' | 'deny' | 'audit' | 'other';
  /** Raw ACE type. */
  aceType: number;
  /** Raw ACE flags. */
  flags: number;
  /** Access mask. */
  mask: number;
  sid: string;
  inherited: boolean;
  objectInherit: boolean;
  containerInherit: boolean;
  inheritOnly: boolean;
  noPropagate: boolean;
}

export interface SecurityDescriptor {
  control: number;
  owner: string | null;
  group: string | null;
  /** null = no DACL (everyone has full access); [] = empty DACL (nobody). */
  dacl: Ace[] | null;
  daclProtected: boolean;
}

function parseAcl(buf: Buffer, offset: number): Ace[] {
  const r = new Reader(buf, 0, buf.length, 'ACL').seek(offset);
  const revision = r.u8();
  // ACL_REVISION (2) and ACL_REVISION_DS (4) per [MS-DTYP]; Samba's smbcacls writes 3 and servers
  // return it as stored. The ACE layout is the same for all three.
  if (revision < 2 || revision > 4) throw protocolError('bad ACL revision', { revision });
  r.u8();
  const size = r.u16();
  const count = r.u16();
  r.u16();
  if (size < 8) throw protocolError('bad ACL size');
  const acl = new Reader(buf, 0, buf.length, 'ACL').sub(offset, size, 'ACL');
  acl.skip(8);
  const aces: Ace[] = [];
  for (let i = 0; i < count; i++) {
    const start = acl.pos;
    const aceType = acl.u8();
    const flags = acl.u8();
    const aceSize = acl.u16();
    if (aceSize < 8 || aceSize % 4 !== 0) throw protocolError('bad ACE size', { aceSize });
    const ace = acl.sub(start, aceSize, 'ACE');
    ace.skip(4);
    let mask: number;
    let sid = '';
    if (
      aceType === AceType.ACCESS_ALLOWED ||
      aceType === AceType.ACCESS_DENIED ||
      aceType === AceType.SYSTEM_AUDIT ||
      aceType === AceType.ACCESS_ALLOWED_CALLBACK ||
      aceType === AceType.ACCESS_DENIED_CALLBACK
    ) {
      mask = ace.u32();
      sid = readSid(ace);
    } else if (
      aceType === AceType.ACCESS_ALLOWED_OBJECT ||
      aceType === AceType.ACCESS_DENIED_OBJECT
    ) {
      mask = ace.u32();
      const objFlags = ace.u32();
      if (objFlags & 1) ace.skip(16);
      if (objFlags & 2) ace.skip(16);
      sid = readSid(ace);
    } else {
      mask = ace.remaining >= 4 ? ace.u32() : 0;
    }
    acl.seek(start + aceSize);
    const allow =
      aceType === AceType.ACCESS_ALLOWED ||
      aceType === AceType.ACCESS_ALLOWED_OBJECT ||
      aceType === AceType.ACCESS_ALLOWED_CALLBACK;
    const deny =
      aceType === AceType.ACCESS_DENIED ||
      aceType === AceType.ACCESS_DENIED_OBJECT ||
      aceType === AceType.ACCESS_DENIED_CALLBACK;
    aces.push({
      type: allow ? 'allow' : deny ? 'deny' : aceType === AceType.SYSTEM_AUDIT ? 'audit' : 'other',
      aceType,
      flags,
      mask: mask >>> 0,
      sid,
      inherited: (flags & AceFlag.INHERITED) !== 0,
      objectInherit: (flags & AceFlag.OBJECT_INHERIT) !== 0,
      containerInherit: (flags & AceFlag.CONTAINER_INHERIT) !== 0,
      inheritOnly: (flags & AceFlag.INHERIT_ONLY) !== 0,
      noPropagate: (flags & AceFlag.NO_PROPAGATE_INHERIT) !== 0,
    });
  }
  return aces;
}

/** Parses a self-relative SECURITY_DESCRIPTOR ([MS-DTYP] 2.4.6). */
export function parseSecurityDescriptor(buf: Buffer): SecurityDescriptor {
  const r = new Reader(buf, 0, buf.length, 'security descriptor');
  const revision = r.u8();
  if (revision !== 1) throw protocolError('bad security descriptor revision', { revision });
  r.u8();
  const control = r.u16();
  const ownerOff = r.u32();
  const groupOff = r.u32();
  const saclOff = r.u32();
  const daclOff = r.u32();
  void saclOff;
  const sidAt = (off: number) =>
    off ? readSid(new Reader(buf, 0, buf.length, 'SID').seek(off)) : null;
  const dacl = control & SdControl.DACL_PRESENT && daclOff ? parseAcl(buf, daclOff) : null;
  return {
    control,
    owner: sidAt(ownerOff),
    group: sidAt(groupOff),
    dacl,
    daclProtected: (control & SdControl.DACL_PROTECTED) !== 0,
  };
}
