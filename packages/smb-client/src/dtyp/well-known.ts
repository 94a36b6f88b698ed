import type { SidType } from './types.js';

/** Well-known SIDs ([MS-DTYP] 2.4.2.4) resolved without asking the server. */
const WELL_KNOWN: Record<string, { domain: string; name: string; type: SidType }> = {
  'S-1-0-0': { domain: '', name: 'NULL SID', type: 'well-known-group' },
  'S-1-1-0': { domain: '', name: 'Everyone', type: 'well-known-group' },
  'S-1-2-0': { domain: '', name: 'LOCAL', type: 'well-known-group' },
  'S-1-3-0': { domain: '', name: 'CREATOR OWNER', type: 'well-known-group' },
  'S-1-3-1': { domain: '', name: 'CREATOR GROUP', type: 'well-known-group' },
  'S-1-3-4': { domain: '', name: 'OWNER RIGHTS', type: 'well-known-group' },
  'S-1-5-1': { domain: 'NT AUTHORITY', name: 'DIALUP', type: 'well-known-group' },
  'S-1-5-2': { domain: 'NT AUTHORITY', name: 'NETWORK', type: 'well-known-group' },
  'S-1-5-3': { domain: 'NT AUTHORITY', name: 'BATCH', type: 'well-known-group' },
  'S-1-5-4': { domain: 'NT AUTHORITY', name: 'INTERACTIVE', type: 'well-known-group' },
  'S-1-5-6': { domain: 'NT AUTHORITY', name: 'SERVICE', type: 'well-known-group' },
  'S-1-5-7': { domain: 'NT AUTHORITY', name: 'ANONYMOUS LOGON', type: 'well-known-group' },
  'S-1-5-9': {
    domain: 'NT AUTHORITY',
    name: 'ENTERPRISE DOMAIN CONTROLLERS',
    type: 'well-known-group',
  },
  'S-1-5-10': { domain: 'NT AUTHORITY', name: 'SELF', type: 'well-known-group' },
  'S-1-5-11': { domain: 'NT AUTHORITY', name: 'Authenticated Users', type: 'well-known-group' },
  'S-1-5-12': { domain: 'NT AUTHORITY', name: 'RESTRICTED', type: 'well-known-group' },
  'S-1-5-13': { domain: 'NT AUTHORITY', name: 'TERMINAL SERVER USER', type: 'well-known-group' },
  'S-1-5-14': {
    domain: 'NT AUTHORITY',
    name: 'REMOTE INTERACTIVE LOGON',
    type: 'well-known-group',
  },
  'S-1-5-18': { domain: 'NT AUTHORITY', name: 'SYSTEM', type: 'well-known-group' },
  'S-1-5-19': { domain: 'NT AUTHORITY', name: 'LOCAL SERVICE', type: 'well-known-group' },
  'S-1-5-20': { domain: 'NT AUTHORITY', name: 'NETWORK SERVICE', type: 'well-known-group' },
  'S-1-5-32-544': { domain: 'BUILTIN', name: 'Administrators', type: 'alias' },
  'S-1-5-32-545': { domain: 'BUILTIN', name: 'Users', type: 'alias' },
  'S-1-5-32-546': { domain: 'BUILTIN', name: 'Guests', type: 'alias' },
  'S-1-5-32-547': { domain: 'BUILTIN', name: 'Power Users', type: 'alias' },
  'S-1-5-32-548': { domain: 'BUILTIN', name: 'Account Operators', type: 'alias' },
  'S-1-5-32-549': { domain: 'BUILTIN', name: 'Server Operators', type: 'alias' },
  'S-1-5-32-550': { domain: 'BUILTIN', name: 'Print Operators', type: 'alias' },
  'S-1-5-32-551': { domain: 'BUILTIN', name: 'Backup Operators', type: 'alias' },
  'S-1-5-32-552': { domain: 'BUILTIN', name: 'Replicator', type: 'alias' },
  'S-1-5-32-555': { domain: 'BUILTIN', name: 'Remote Desktop Users', type: 'alias' },
  'S-1-5-32-568': { domain: 'BUILTIN', name: 'IIS_IUSRS', type: 'alias' },
};

export function wellKnownSid(
  sid: string,
): { domain: string; name: string; type: SidType } | undefined {
  return WELL_KNOWN[sid];
}
