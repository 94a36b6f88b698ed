import { MAX_PATH_LENGTH, driveNameProblem, nameKey, splitPath } from '@scaidrive/core';
import { NameInvalidError } from './errors.js';

/** Validates one name and returns it NFC-normalised. */
export function checkName(name: string): string {
  const problem = driveNameProblem(name);
  if (problem) throw new NameInvalidError(problem);
  const n = name.normalize('NFC');
  const again = driveNameProblem(n);
  if (again) throw new NameInvalidError(again);
  return n;
}

/**
 * `/a/b/c` (leading and trailing slashes and empty segments ignored) → validated NFC names.
 * The root is `[]`.
 */
export function checkPath(path: string): string[] {
  const parts = splitPath(path).map(checkName);
  const full = '/' + parts.join('/');
  if ([...full].length > MAX_PATH_LENGTH)
    throw new NameInvalidError(`path is longer than ${MAX_PATH_LENGTH} characters`);
  return parts;
}

export function keysOf(parts: readonly string[]): string[] {
  return parts.map(nameKey);
}

/** Share-relative display path: `/` + names. */
export function toSharePath(parts: readonly string[]): string {
  return '/' + parts.join('/');
}

/** Whether `path` (share-relative, `/a/b`) lies at or below `root`; returns the part below it. */
export function relativeTo(root: string, path: string): string | null {
  const r = splitPath(root);
  const p = splitPath(path);
  if (p.length < r.length) return null;
  for (let i = 0; i < r.length; i++) if (nameKey(r[i]!) !== nameKey(p[i]!)) return null;
  return p.slice(r.length).join('/');
}
