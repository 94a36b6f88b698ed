export { QuickXorHash, QuickXorHashStream, quickXorHash } from './quickxor.js';
export {
  sharePointNameProblem,
  encodeGraphPath,
  isOfficeDocument,
  MAX_SHAREPOINT_PATH,
} from './names.js';
export {
  Pacer,
  PacerRegistry,
  defaultPacers,
  parseRetryAfter,
  type PacerOptions,
  type PacerStats,
  type ThrottleEvent,
} from './pacer.js';
export { ReauthorizeError } from './errors.js';
export {
  SharePointAuth,
  encryptedTokenCacheStore,
  startAuthorization,
  buildAuthorizationUrl,
  redeemAuthorizationCode,
  memoryTokenCacheStore,
  completeAuthorization,
  hashState,
  graphScope,
  OAuthStateError,
  type SharePointAuthConfig,
  type TokenCacheStore,
  type OAuthStateRecord,
  type OAuthStateStore,
  type StartAuthorizationInput,
  type CompleteAuthorizationInput,
} from './auth.js';
export { GraphApi, type TokenSource } from './graph-client.js';
export { Transport } from './transport.js';
export {
  resolveLocation,
  LocationNotFoundError,
  type SharePointLocation,
  type LocationInput,
} from './location.js';
export { mapPermissions, rolesToPermissions, type UnmappedGrant } from './permissions.js';
export { searchUsers, searchGroups, type DirectoryUser, type DirectoryGroup } from './identity.js';
export { probeSharePoint, type ProbeResult } from './probe.js';
export {
  SharePointSource,
  createSharePointSource,
  userAgent,
  type SharePointSourceConfig,
  type SharePointSourceDeps,
  type SharePointSourceEvents,
} from './source.js';
export { SIMPLE_UPLOAD_MAX, FRAGMENT_UNIT } from './upload.js';
export { MAX_DOWNLOAD_RESUMES } from './download.js';
export { CONNECTOR_VERSION } from './version.js';
