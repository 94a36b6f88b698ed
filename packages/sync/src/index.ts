export * from './ports.js';
export { runSync, resolveConflict, summaryError, progressMessage } from './engine.js';
export type { RunSyncParams, ConflictResolution, ResolveConflictResult } from './engine.js';
export type {
  SyncOptions,
  SyncDirection,
  ConflictStrategy,
  AclMapper,
  MappedAcl,
} from './options.js';
export type {
  SyncEvent,
  SyncPhase,
  SyncProgress,
  SyncSummary,
  PlanAction,
  ItemErrorSample,
} from './plan.js';
export { createPathFilter } from './filters.js';
export type { FilterSet, FilterOptions, PathFilter } from './filters.js';
export { conflictName, isConflictName } from './conflict-names.js';
export { createLocalTree, posixNameProblem } from './local-tree.js';
export type { LocalTree, LocalTreeOptions } from './local-tree.js';
export { createMemoryStateStore } from './memory-state.js';
export type { MemoryStateStore, StateStoreStats } from './memory-state.js';
