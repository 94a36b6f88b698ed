import { FileAttribute } from '../wire/constants.js';
import { filetimeToDate } from '../messages/common.js';
import type { FileTimes } from '../messages/file.js';

/** What `stat`, `list` and writes report about a file or directory. */
export interface FileInfo {
  /** Base name. */
  name: string;
  /** Share-relative path with `/` separators (no leading slash). */
  path: string;
  isDirectory: boolean;
  /** End of file in bytes. */
  size: number;
  allocationSize: number;
  /** Raw FILE_ATTRIBUTE_* bits. */
  attributes: number;
  hidden: boolean;
  system: boolean;
  readOnly: boolean;
  archive: boolean;
  /** Server file id (IndexNumber), stable for the file's lifetime; 0n when unknown. */
  fileId: bigint;
  birthtime: Date | null;
  atime: Date | null;
  mtime: Date | null;
  /** Change time (metadata or data). */
  ctime: Date | null;
  /** Raw FILETIMEs (100 ns since 1601), exact. */
  times: FileTimes;
}

export function makeFileInfo(
  name: string,
  path: string,
  attributes: number,
  size: number,
  allocationSize: number,
  fileId: bigint,
  times: FileTimes,
): FileInfo {
  return {
    name,
    path,
    isDirectory: (attributes & FileAttribute.DIRECTORY) !== 0,
    size,
    allocationSize,
    attributes,
    hidden: (attributes & FileAttribute.HIDDEN) !== 0,
    system: (attributes & FileAttribute.SYSTEM) !== 0,
    readOnly: (attributes & FileAttribute.READONLY) !== 0,
    archive: (attributes & FileAttribute.ARCHIVE) !== 0,
    fileId,
    birthtime: filetimeToDate(times.creationTime),
    atime: filetimeToDate(times.lastAccessTime),
    mtime: filetimeToDate(times.lastWriteTime),
    ctime: filetimeToDate(times.changeTime),
    times: {
      creationTime: times.creationTime,
      lastAccessTime: times.lastAccessTime,
      lastWriteTime: times.lastWriteTime,
      changeTime: times.changeTime,
    },
  };
}

export interface SetTimesOptions {
  mtime?: Date;
  atime?: Date;
  birthtime?: Date;
  ctime?: Date;
}

export interface SetAttributesOptions {
  hidden?: boolean;
  system?: boolean;
  readOnly?: boolean;
  archive?: boolean;
}

export type ChangeAction =
  'added' | 'removed' | 'modified' | 'renamed-from' | 'renamed-to' | 'overflow' | 'unknown';

export interface ChangeEvent {
  action: ChangeAction;
  /** Path relative to the watched directory, `/` separators ('' for overflow). */
  path: string;
}
