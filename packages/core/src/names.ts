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

const STORABLE_ESCAPE = '\u0001';

/**
 * Text that PostgreSQL can store exactly. A name from a foreign system (an NTFS name holds any
 * UTF-16, Samba passes it on) may contain unpaired surrogates: `text` would store them as U+FFFD —
 * two names becoming one key — and `jsonb` refuses them. Each unpaired surrogate becomes U+0001
 * and its four hex digits, and U+0001 itself `\u00010001`, so the mapping is reversible and keeps
 * prefixes (a folder's key stays a prefix of its children's). Well-formed text without U+0001 — every
 * name the store accepts — is returned unchanged.
 */
export function toStorableText(s: string): string {
  if (s.isWellFormed() && !s.includes(STORABLE_ESCAPE)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
    }
    if ((c >= 0xd800 && c <= 0xdfff) || c === 1)
      out += STORABLE_ESCAPE + c.toString(16).padStart(4, '0');
    else out += s[i]!;
  }
  return out;
}

/** The inverse of `toStorableText`. */
export function fromStorableText(s: string): string {
  if (!s.includes(STORABLE_ESCAPE)) return s;
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u0001([0-9a-f]{4})/g, (_m, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/** How stored text is shown to people: decoded, unpaired surrogates as U+FFFD. */
export function displayText(s: string): string {
  return fromStorableText(s).toWellFormed();
}

/** `value` (JSON data) with every string, object keys included, passed through `f`. */
export function mapJsonStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapJsonStrings(v, f));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [f(k), mapJsonStrings(v, f)]));
  return value;
}
