/**
 * What an SMB server (Windows/NTFS rules; Samba is more lenient) can hold as a file or folder
 * name, and the temporary names this connector uses for atomic writes.
 */

/** Longest name in UTF-16 code units (NTFS, ReFS). */
export const MAX_SMB_NAME_LENGTH = 255;
/** Longest share-relative path in UTF-16 code units (the SMB2 CREATE name length is 16-bit bytes). */
export const MAX_SMB_PATH_LENGTH = 32_767;

// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const CONTROL = /[\u0000-\u001f]/;
const FORBIDDEN = /[\\/:*?"<>|]/;
/** DOS device names, also with an extension (`CON.txt`) — Windows refuses to create them. */
const RESERVED = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])$/i;

/** Temporary names of atomic writes: `~sdsync-<base36 ms>-<hex>.tmp`. Never listed. */
export const TEMP_PREFIX = '~sdsync-';
const TEMP_RE = /^~sdsync-([0-9a-z]+)-[0-9a-f]+\.tmp$/;

/**
 * Why an SMB server cannot hold `name` (in a folder at `parentPath`, share-relative path length
 * `basePathLength` + …), or null when it can.
 */
export function smbNameProblem(name: string, parentPath = '', basePathLength = 0): string | null {
  if (name.length === 0) return 'name is empty';
  if (name === '.' || name === '..') return `"${name}" is not a valid name`;
  if (CONTROL.test(name)) return 'name contains a control character';
  const bad = FORBIDDEN.exec(name);
  if (bad) return `name contains "${bad[0]}", which SMB does not allow (\\ / : * ? " < > |)`;
  if (/[. ]$/.test(name)) return 'name ends with a dot or a space, which Windows does not keep';
  const stem = name.split('.')[0]!.trimEnd();
  if (RESERVED.test(stem)) return `"${stem}" is a reserved device name on Windows`;
  if (name.length > MAX_SMB_NAME_LENGTH)
    return `name is longer than ${MAX_SMB_NAME_LENGTH} characters`;
  if (name.startsWith(TEMP_PREFIX))
    return `names starting with "${TEMP_PREFIX}" are reserved for the connector's temporary files`;
  const parts = [basePathLength, parentPath.length, name.length].filter((n) => n > 0);
  const pathLength = parts.reduce((a, b) => a + b, 0) + parts.length - 1;
  if (pathLength > MAX_SMB_PATH_LENGTH)
    return `path is longer than ${MAX_SMB_PATH_LENGTH} characters`;
  return null;
}

/** A fresh temporary name for a write in the same folder. */
export function tempName(now = Date.now(), random = Math.random): string {
  const hex = Math.floor(random() * 0xffffffffffff)
    .toString(16)
    .padStart(12, '0');
  return `${TEMP_PREFIX}${now.toString(36)}-${hex}.tmp`;
}

/** Whether `name` is one of our temporary files; `stale` when it was started more than `maxAgeMs` ago. */
export function tempFileInfo(
  name: string,
  now = Date.now(),
  maxAgeMs = 24 * 3600_000,
): { temp: false } | { temp: true; stale: boolean } {
  const m = TEMP_RE.exec(name);
  if (!m) return { temp: false };
  const started = Number.parseInt(m[1]!, 36);
  return { temp: true, stale: !Number.isFinite(started) || now - started > maxAgeMs };
}
