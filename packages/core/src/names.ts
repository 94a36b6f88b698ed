/**
 * Names and paths as every part of the system compares them: NFC-normalised, matched
 * case-insensitively, `/`-separated, relative paths without leading or trailing slashes.
 */

export function nfc(s: string): string {
  return s.normalize('NFC');
}

/** The comparison key of one name: NFC + Unicode default lower-casing. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** The comparison key of a relative path. */
export function pathKey(path: string): string {
  return splitPath(path).map(nameKey).join('/');
}

/** `"/a//b/"` → `["a","b"]`. Does not interpret `.` or `..` (callers validate names). */
export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p.length > 0);
}

export function joinPath(...parts: string[]): string {
  return parts.flatMap(splitPath).join('/');
}

export function parentPath(path: string): string {
  const parts = splitPath(path);
  parts.pop();
  return parts.join('/');
}

export function baseName(path: string): string {
  const parts = splitPath(path);
  return parts[parts.length - 1] ?? '';
}

/** Code-point order (the order of UTF-8 bytes and of PostgreSQL's "C" collation). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}

export const MAX_NAME_LENGTH = 255;
export const MAX_PATH_LENGTH = 4096;

/**
 * Why a name cannot exist in a ScaiDrive share, or null when it can. The store accepts everything
 * a POSIX or SMB server can hold except `/`, NUL, control characters, `.` and `..`.
 */
export function driveNameProblem(name: string): string | null {
  if (name.length === 0) return 'name is empty';
  if (name === '.' || name === '..') return `"${name}" is not a valid name`;
  if (name.includes('/')) return 'name contains "/"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'name contains a control character';
  if ([...name].length > MAX_NAME_LENGTH)
    return `name is longer than ${MAX_NAME_LENGTH} characters`;
  if (name !== name.normalize('NFC') && name.normalize('NFC').length === 0)
    return 'name is not valid Unicode';
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)) {
    return 'name contains an unpaired surrogate';
  }
  return null;
}
