import { ValidationError } from '@scaidrive/core';

// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const BAD = /[\x00-\x1f"*:<>?|]/;

/**
 * Normalises a share-relative path given with `/` or `\` into the wire form (`a\b`, no leading
 * separator; the root is ''). Rejects `..` and characters SMB cannot hold.
 */
export function toSmbPath(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  for (const p of parts) {
    if (p === '..')
      throw new ValidationError(`Path must not contain "..": ${path}`, [
        { field: 'path', reason: 'dot-dot' },
      ]);
    if (BAD.test(p))
      throw new ValidationError(`Invalid character in SMB path: ${path}`, [
        { field: 'path', reason: 'invalid character' },
      ]);
  }
  return parts.join('\\');
}

/** Wire path → display path with `/`. */
export function toDisplayPath(smbPath: string): string {
  return smbPath.split('\\').join('/');
}

export function joinSmb(dir: string, name: string): string {
  return dir ? `${dir}\\${name}` : name;
}

export function parentOf(smbPath: string): string {
  const i = smbPath.lastIndexOf('\\');
  return i < 0 ? '' : smbPath.slice(0, i);
}
