import { baseName, nameKey, splitPath } from '@scaidrive/core';
import { globToRegExp } from './glob.js';
import type { Entry, EntryKind, RelPath } from './ports.js';

/** `include_patterns` / `exclude_patterns` of a connector. */
export interface FilterSet {
  /** File extensions without the dot, case-insensitive (`pdf`, `tar.gz`). */
  extensions?: string[];
  /** Globs against the path relative to the connector root; without `/` they match the name. */
  patterns?: string[];
}

export interface FilterOptions {
  include?: FilterSet;
  exclude?: FilterSet;
  /** Sync items whose entry is `hidden` on either side. Default true. */
  syncHidden?: boolean;
  /** Sync items whose entry is `system` on either side. Default false. */
  syncSystem?: boolean;
}

export interface PathFilter {
  /**
   * Why the item at `path` is not synced, or null when it is. `entries` are the item's entries on
   * the sides where it exists (their `hidden`/`system` attributes count on either side).
   */
  excluded(path: RelPath, kind: EntryKind, entries: readonly (Entry | null)[]): string | null;
}

interface CompiledPattern {
  raw: string;
  re: RegExp;
  /** No `/` in the pattern: matches the base name at any depth. */
  nameOnly: boolean;
  /** Trailing `/`: matches folders only. */
  foldersOnly: boolean;
}

function compile(patterns: string[] | undefined): CompiledPattern[] {
  const out: CompiledPattern[] = [];
  for (const raw of patterns ?? []) {
    let p = raw.trim();
    if (!p) continue;
    const foldersOnly = p.endsWith('/');
    if (foldersOnly) p = p.replace(/\/+$/, '');
    const anchored = p.startsWith('/');
    if (anchored) p = p.replace(/^\/+/, '');
    if (!p) continue;
    out.push({ raw, re: globToRegExp(p), nameOnly: !anchored && !p.includes('/'), foldersOnly });
  }
  return out;
}

function normaliseExtensions(exts: string[] | undefined): string[] {
  return (exts ?? []).map((e) => nameKey(e.trim().replace(/^\.+/, ''))).filter((e) => e.length > 0);
}

function matchPattern(p: CompiledPattern, path: string, kind: EntryKind): boolean {
  if (p.foldersOnly && kind !== 'folder') return false;
  return p.re.test(p.nameOnly ? baseName(path) : path);
}

function matchExtension(exts: string[], path: string): string | null {
  if (exts.length === 0) return null;
  const name = nameKey(baseName(path));
  for (const e of exts) if (name.endsWith(`.${e}`) && name.length > e.length + 1) return e;
  return null;
}

/**
 * The connector's include/exclude rules plus the hidden/system switches.
 *
 * - A file is synced when it matches the include set (empty include = everything) — itself or one
 *   of its folders matching an include pattern — and nothing in the exclude set.
 * - Folders are never excluded by extension and never by the include set (they are walked so that
 *   included files inside them are found); exclude patterns do exclude a folder and everything in it.
 */
export function createPathFilter(options: FilterOptions = {}): PathFilter {
  const incExt = normaliseExtensions(options.include?.extensions);
  const incPat = compile(options.include?.patterns);
  const excExt = normaliseExtensions(options.exclude?.extensions);
  const excPat = compile(options.exclude?.patterns);
  const includeAll = incExt.length === 0 && incPat.length === 0;
  const syncHidden = options.syncHidden ?? true;
  const syncSystem = options.syncSystem ?? false;

  return {
    excluded(path, kind, entries) {
      if (!syncHidden || !syncSystem)
        for (const e of entries) {
          if (!syncHidden && e?.hidden) return 'hidden item';
          if (!syncSystem && e?.system) return 'system item';
        }
      for (const p of excPat)
        if (matchPattern(p, path, kind)) return `excluded by pattern "${p.raw}"`;
      if (kind === 'folder') return null;
      const ext = matchExtension(excExt, path);
      if (ext) return `excluded by extension "${ext}"`;
      if (includeAll) return null;
      if (matchExtension(incExt, path)) return null;
      const parts = splitPath(path);
      for (const p of incPat) {
        if (matchPattern(p, path, 'file')) return null;
        for (let i = 1; i < parts.length; i++)
          if (matchPattern(p, parts.slice(0, i).join('/'), 'folder')) return null;
      }
      return 'not matched by the include patterns';
    },
  };
}
