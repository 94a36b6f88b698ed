import { compareCodePoints } from '@scaidrive/core';
import type { EntryKind, FileStateRecord, FileStateStatus, StateStore } from './ports.js';

/** Counts of what a store was asked to do (tests and benchmarks assert on them). */
export interface StateStoreStats {
  upsertCalls: number;
  upsertedRows: number;
  removeCalls: number;
  removedRows: number;
}

export interface MemoryStateStore extends StateStore {
  readonly stats: StateStoreStats;
  /** Every row, ordered by pathKey (a copy). */
  all(): FileStateRecord[];
  /** Fails the next `n` writes (upsert/remove) with `error` — for kill-and-resume tests. */
  failNextWrites(n: number, error?: Error): void;
}

/** An in-memory `StateStore` for engine unit tests. Rows are copied in and out. */
export function createMemoryStateStore(initial: FileStateRecord[] = []): MemoryStateStore {
  const rows = new Map<string, FileStateRecord>();
  const byParent = new Map<string, Set<string>>();
  const stats: StateStoreStats = {
    upsertCalls: 0,
    upsertedRows: 0,
    removeCalls: 0,
    removedRows: 0,
  };
  let failures = 0;
  let failure: Error = new Error('injected state store failure');

  const put = (r: FileStateRecord): void => {
    const prev = rows.get(r.pathKey);
    if (prev && prev.parentKey !== r.parentKey) byParent.get(prev.parentKey)?.delete(r.pathKey);
    rows.set(r.pathKey, structuredClone(r));
    let set = byParent.get(r.parentKey);
    if (!set) byParent.set(r.parentKey, (set = new Set()));
    set.add(r.pathKey);
  };
  const del = (key: string): boolean => {
    const prev = rows.get(key);
    if (!prev) return false;
    rows.delete(key);
    byParent.get(prev.parentKey)?.delete(key);
    return true;
  };
  const sorted = (list: FileStateRecord[]): FileStateRecord[] =>
    list.sort((a, b) => compareCodePoints(a.pathKey, b.pathKey)).map((r) => structuredClone(r));
  const checkFailure = (): void => {
    if (failures > 0) {
      failures--;
      throw failure;
    }
  };
  async function* batches(
    list: FileStateRecord[],
    batchSize: number,
  ): AsyncIterable<FileStateRecord[]> {
    const all = sorted(list);
    for (let i = 0; i < all.length; i += batchSize) yield all.slice(i, i + batchSize);
  }

  for (const r of initial) put(r);

  return {
    stats,
    all: () => sorted([...rows.values()]),
    failNextWrites(n, error) {
      failures = n;
      if (error) failure = error;
    },
    async children(parentKey) {
      const keys = byParent.get(parentKey);
      if (!keys) return [];
      return sorted([...keys].map((k) => rows.get(k)!));
    },
    async get(pathKey) {
      const r = rows.get(pathKey);
      return r ? structuredClone(r) : null;
    },
    async getBySourceId(id) {
      for (const r of rows.values()) if (r.source?.id === id) return structuredClone(r);
      return null;
    },
    async getByTargetId(id) {
      for (const r of rows.values()) if (r.target?.id === id) return structuredClone(r);
      return null;
    },
    async upsert(records) {
      if (records.length === 0) return;
      checkFailure();
      stats.upsertCalls++;
      stats.upsertedRows += records.length;
      for (const r of records) put(r);
    },
    async remove(pathKeys) {
      if (pathKeys.length === 0) return;
      checkFailure();
      stats.removeCalls++;
      for (const k of pathKeys) if (del(k)) stats.removedRows++;
    },
    descendants(prefixKey, batchSize) {
      const p = prefixKey === '' ? '' : `${prefixKey}/`;
      return batches(
        [...rows.values()].filter((r) => r.pathKey.startsWith(p) && r.pathKey !== prefixKey),
        batchSize,
      );
    },
    listByStatus(statuses, batchSize) {
      return batches(
        [...rows.values()].filter((r) => statuses.includes(r.status)),
        batchSize,
      );
    },
    async count(statuses?: FileStateStatus[], kind?: EntryKind) {
      let n = 0;
      for (const r of rows.values()) {
        if (statuses && !statuses.includes(r.status)) continue;
        if (kind && r.kind !== kind) continue;
        n++;
      }
      return n;
    },
  };
}
