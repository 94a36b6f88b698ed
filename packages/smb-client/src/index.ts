/**
 * @scaidrive/smb-client — an SMB 2/3 client written from [MS-SMB2], [MS-NLMP], [MS-SPNG],
 * [MS-DTYP], [MS-LSAT] and [MS-RPCE]. See README.md for the API.
 */
export { SmbClient, SmbSession, type ConnectionInfo } from './client.js';
export type { SmbClientOptions, ReconnectOptions } from './options.js';
export {
  Tree,
  FileHandle,
  Watcher,
  type OpenOptions,
  type WriteFileOptions,
  type ListOptions,
  type WatchOptions,
} from './tree/tree.js';
export {
  SmbReadStream,
  SmbWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './tree/streams.js';
export type { PositionalRead, UploadOptions } from './tree/upload.js';
export type {
  FileInfo,
  SetTimesOptions,
  SetAttributesOptions,
  ChangeEvent,
  ChangeAction,
} from './tree/types.js';
export { toSmbPath } from './tree/paths.js';
export {
  parseSecurityDescriptor,
  AceType,
  AceFlag,
  SdControl,
  type Ace,
  type SecurityDescriptor,
} from './dtyp/security-descriptor.js';
export { parseSid, encodeSid, isSid } from './dtyp/sid.js';
export { wellKnownSid } from './dtyp/well-known.js';
export type { SidType } from './dtyp/types.js';
export type { ResolvedSid, LookupNamesResult } from './rpc/lsa.js';
export type { AuthMechanism, PasswordCredentials } from './auth/mechanism.js';
export { NtlmMechanism } from './ntlm/mechanism.js';
export {
  SmbProtocolError,
  ntStatusError,
  statusOf,
  type NtStatusDetails,
  type SmbErrorContext,
} from './errors.js';
export { NtStatus, ntStatusName } from './ntstatus.js';
export { Access, FileAttribute, CompletionFilter, Dialect } from './wire/constants.js';
export { CipherId } from './crypto/cipher.js';
export { SigningAlgorithm } from './crypto/signing.js';
