/**
 * @scaidrive/connector-smb — SMB shares as a sync `Source` (over @scaidrive/smb-client), the
 * `/test` probe, and SID ↔ name helpers for identity mappings. See README.md.
 */
export { createSmbSource, defaultSessionPool, SmbSource, type SmbSourceDeps } from './source.js';
export { SmbSessionPool, type SessionPoolOptions, type SmbLease } from './session-pool.js';
export {
  clientOptionsOf,
  normalizeBase,
  type SmbConnectionConfig,
  type SmbSourceConfig,
} from './config.js';
export {
  probeSmb,
  createSmbDriver,
  describeProbeFailure,
  type SmbConnectorDriver,
  type SmbProbeOptions,
  type SmbProbeOutcome,
  type SmbProbeError,
} from './probe.js';
export {
  maskToPermissions,
  expandGeneric,
  toAclSnapshot,
  daclSids,
  Right,
  EVERYONE_SID,
  type SidInfo,
} from './acl.js';
export {
  SidResolver,
  type LsaLookup,
  type ResolvedName,
  type SidResolverOptions,
} from './sid-resolver.js';
export {
  smbNameProblem,
  tempName,
  tempFileInfo,
  TEMP_PREFIX,
  MAX_SMB_NAME_LENGTH,
  MAX_SMB_PATH_LENGTH,
} from './names.js';
export { toEntry, filetimeToMs } from './entries.js';
export { toSmbError } from './errors.js';
export { Semaphore } from './semaphore.js';
