import type { Entry, EntryKind, FileStateRecord, SideState } from './ports.js';

export type SideName = 'source' | 'target';

export function otherSide(side: SideName): SideName {
  return side === 'source' ? 'target' : 'source';
}

/**
 * What one side looks like for the base. Folders keep only their id: a folder's size, time and
 * change token move whenever its children change, which is not a change of the folder.
 */
export function sideStateOf(e: Entry, hash?: string): SideState {
  if (e.kind === 'folder') {
    const s: SideState = { size: 0, mtimeMs: 0 };
    if (e.id !== undefined) s.id = e.id;
    return s;
  }
  const s: SideState = { size: e.size, mtimeMs: e.mtimeMs };
  if (e.id !== undefined) s.id = e.id;
  if (e.version !== undefined) s.version = e.version;
  const h = e.hash ?? hash;
  if (h !== undefined) s.hash = h;
  return s;
}

export function hashAlgorithm(hash: string | undefined | null): string | null {
  if (!hash) return null;
  const i = hash.indexOf(':');
  return i > 0 ? hash.slice(0, i) : null;
}

/** true/false when both hashes are of one algorithm, undefined when they cannot be compared. */
export function hashesEqual(
  a: string | undefined | null,
  b: string | undefined | null,
): boolean | undefined {
  if (!a || !b) return undefined;
  const alg = hashAlgorithm(a);
  if (!alg || alg !== hashAlgorithm(b)) return undefined;
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * A file is unchanged against its base fingerprint when size and modification time are equal and
 * neither the change token nor a comparable content hash says otherwise. A different change token
 * alone counts as a change (conservative: at worst the content is compared or copied again).
 */
export function sameFile(e: Entry, b: SideState): boolean {
  if (e.size !== b.size || e.mtimeMs !== b.mtimeMs) return false;
  if (e.version !== undefined && b.version !== undefined && e.version !== b.version) return false;
  if (hashesEqual(e.hash, b.hash) === false) return false;
  return true;
}

/** How one side compares with the base. */
export type SideChange = 'absent' | 'deleted' | 'new' | 'same' | 'changed';

export function sideChange(
  e: Entry | null,
  b: SideState | null,
  baseKind: EntryKind | null,
): SideChange {
  if (!e) return b ? 'deleted' : 'absent';
  if (!b || !baseKind) return 'new';
  if (e.kind !== baseKind) return 'changed';
  if (e.kind === 'folder') return 'same';
  return sameFile(e, b) ? 'same' : 'changed';
}

/** Sizes differ or comparable hashes differ: surely different content. */
export function surelyDifferent(a: Entry, b: Entry): boolean {
  return a.size !== b.size || hashesEqual(a.hash, b.hash) === false;
}

function sameSide(a: SideState | null, b: SideState | null): boolean {
  if (!a || !b) return !a && !b;
  return (
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    (a.id ?? null) === (b.id ?? null) &&
    (a.version ?? null) === (b.version ?? null) &&
    (a.hash ?? null) === (b.hash ?? null)
  );
}

function canon(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(canon);
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = canon((v as Record<string, unknown>)[k]);
      if (x !== null) o[k] = x;
    }
    return o;
  }
  return v;
}

/** Structural equality that ignores key order (jsonb reorders keys) and null vs missing. */
function sameJson(a: unknown, b: unknown): boolean {
  if ((a ?? null) === null || (b ?? null) === null) return (a ?? null) === (b ?? null);
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** Equal for the store (ignores `lastSyncedAtMs`; null and missing are the same). */
export function recordsEqual(a: FileStateRecord | null, b: FileStateRecord | null): boolean {
  if (!a || !b) return a === b;
  const n = (v: string | null | undefined): string | null => v ?? null;
  return (
    a.pathKey === b.pathKey &&
    a.path === b.path &&
    a.parentKey === b.parentKey &&
    a.kind === b.kind &&
    a.status === b.status &&
    n(a.aclHash) === n(b.aclHash) &&
    n(a.metadataHash) === n(b.metadataHash) &&
    n(a.lastError) === n(b.lastError) &&
    n(a.lastErrorCode) === n(b.lastErrorCode) &&
    sameSide(a.source, b.source) &&
    sameSide(a.target, b.target) &&
    sameJson(a.conflict, b.conflict)
  );
}
