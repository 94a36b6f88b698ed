import type { Entry } from '@scaidrive/sync';

/** The parts of a Graph driveItem the connector reads. */
export interface DriveItem {
  id: string;
  name?: string;
  eTag?: string;
  cTag?: string;
  size?: number;
  lastModifiedDateTime?: string;
  fileSystemInfo?: { lastModifiedDateTime?: string; createdDateTime?: string };
  parentReference?: { id?: string; path?: string; driveId?: string };
  file?: { mimeType?: string; hashes?: { quickXorHash?: string } };
  folder?: { childCount?: number };
  root?: Record<string, unknown>;
  deleted?: { state?: string };
  '@microsoft.graph.downloadUrl'?: string;
}

export interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

export function isFolder(item: DriveItem): boolean {
  return !!item.folder || !!item.root;
}

/** Graph item → sync `Entry` (version = eTag, hash = quickXorHash, mtime = fileSystemInfo). */
export function toEntry(item: DriveItem, path: string): Entry {
  const folder = isFolder(item);
  const mtime = item.fileSystemInfo?.lastModifiedDateTime ?? item.lastModifiedDateTime;
  const e: Entry = {
    name: path === '' ? '' : (item.name ?? ''),
    path,
    kind: folder ? 'folder' : 'file',
    size: folder ? 0 : (item.size ?? 0),
    mtimeMs: mtime ? Math.floor(Date.parse(mtime)) : 0,
    id: item.id,
  };
  if (item.eTag) e.version = item.eTag;
  const h = item.file?.hashes?.quickXorHash;
  if (!folder && h) e.hash = `quickxor:${h}`;
  return e;
}

/** Drive-relative path from `parentReference.path` (`/drives/{id}/root:/a/b`) + name. */
export function drivePathOf(item: DriveItem): string | null {
  if (item.root) return '';
  const p = item.parentReference?.path;
  if (p === undefined || item.name === undefined) return null;
  const idx = p.indexOf('root:');
  if (idx < 0) return null;
  const parent = decodeURIComponent(p.slice(idx + 5)).replace(/^\/+/, '');
  return parent ? `${parent}/${item.name}` : item.name;
}
