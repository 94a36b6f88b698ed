import { FileAttribute, type FileInfo } from '@scaidrive/smb-client';
import type { Entry } from '@scaidrive/sync';

const EPOCH_FILETIME = 116_444_736_000_000_000n;

/** FILETIME (100 ns since 1601) → integer milliseconds since 1970, floored. */
export function filetimeToMs(ft: bigint): number {
  const d = ft - EPOCH_FILETIME;
  const q = d / 10_000n;
  return Number(d < 0n && d % 10_000n !== 0n ? q - 1n : q);
}

/** Directories that are reparse points (junctions, symlinks, mount points) are not walked. */
export function isReparseDirectory(info: FileInfo): boolean {
  return info.isDirectory && (info.attributes & FileAttribute.REPARSE_POINT) !== 0;
}

/**
 * smb-client's FileInfo as a sync `Entry` at `relPath` (relative to the connector root).
 *
 * - `mtimeMs`: LastWriteTime floored to the millisecond (writes set it to exactly that value).
 * - `id`: the server's file id (NTFS file reference / Samba inode), when it reports one.
 * - `version`: `<file id>:<ChangeTime>:<LastWriteTime>` as FILETIMEs — it moves on every content
 *   write, in place or by rename-over (a new file id), and on attribute or security changes (which
 *   at worst makes the engine compare content). Samba reports the write time as ChangeTime.
 */
export function toEntry(info: FileInfo, relPath: string, fileId: bigint = info.fileId): Entry {
  const folder = info.isDirectory;
  const e: Entry = {
    name: info.name,
    path: relPath,
    kind: folder ? 'folder' : 'file',
    size: folder ? 0 : info.size,
    mtimeMs: filetimeToMs(info.times.lastWriteTime),
  };
  if (fileId !== 0n) e.id = fileId.toString();
  if (!folder)
    e.version = `${fileId.toString(16)}:${info.times.changeTime}:${info.times.lastWriteTime}`;
  if (info.hidden) e.hidden = true;
  if (info.system) e.system = true;
  if (info.readOnly) e.readOnly = true;
  return e;
}
