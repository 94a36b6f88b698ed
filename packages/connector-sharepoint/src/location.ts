import { AppError, splitPath } from '@scaidrive/core';
import type { GraphApi } from './graph-client.js';
import type { DriveItem, Page } from './items.js';
import { encodeGraphPath } from './names.js';

/** Where the connector root is: site → drive (library) → base folder. */
export interface SharePointLocation {
  siteId: string;
  driveId: string;
  driveName: string;
  /** Id of the drive's root folder. */
  rootItemId: string;
  /** Id of the folder that is the connector root (`base_path`, or the drive root). */
  baseItemId: string;
  /** `base_path` normalised (no leading/trailing slash; '' = library root). */
  basePath: string;
  siteWebUrl?: string;
}

export interface LocationInput {
  siteUrl?: string | null;
  siteId?: string | null;
  driveId?: string | null;
  libraryName?: string | null;
  basePath?: string | null;
}

export class LocationNotFoundError extends AppError {
  constructor(message: string) {
    super('CONNECTOR_SHARE_NOT_FOUND', message, { action: 'fail_job' });
  }
}

interface Site {
  id: string;
  webUrl?: string;
}
interface Drive {
  id: string;
  name: string;
  webUrl?: string;
}

/** Resolves site_url → site id, library_name → drive id, base_path → folder id. */
export async function resolveLocation(
  api: GraphApi,
  input: LocationInput,
  signal?: AbortSignal,
): Promise<SharePointLocation> {
  const notFound = (what: string) => (e: unknown) => {
    if ((e as AppError).code === 'ITEM_NOT_FOUND') throw new LocationNotFoundError(what);
    throw e;
  };
  let siteId = input.siteId ?? undefined;
  let siteWebUrl: string | undefined;
  if (!siteId) {
    if (!input.siteUrl) throw new LocationNotFoundError('Neither site_url nor site_id is set');
    const u = new URL(input.siteUrl);
    const path = u.pathname.replace(/\/+$/, '');
    const addr = path ? `/sites/${u.hostname}:${encodeURI(path)}` : `/sites/${u.hostname}`;
    const site = await api
      .get<Site>(addr, { signal, what: 'site' })
      .catch(notFound(`SharePoint site ${input.siteUrl} was not found`));
    siteId = site.id;
    siteWebUrl = site.webUrl;
  }
  let drive: Drive;
  if (input.driveId) {
    drive = await api
      .get<Drive>(`/drives/${encodeURIComponent(input.driveId)}`, { signal, what: 'drive' })
      .catch(notFound(`Document library ${input.driveId} was not found`));
  } else if (input.libraryName) {
    const drives = await api
      .get<Page<Drive>>(`/sites/${encodeURIComponent(siteId)}/drives`, { signal, what: 'site' })
      .catch(notFound('SharePoint site was not found'));
    const want = input.libraryName.toLowerCase();
    const found = drives.value.find(
      (d) =>
        d.name.toLowerCase() === want ||
        decodeURIComponent(d.webUrl?.split('/').pop() ?? '').toLowerCase() === want,
    );
    if (!found)
      throw new LocationNotFoundError(
        `Document library "${input.libraryName}" was not found (libraries: ${drives.value.map((d) => d.name).join(', ')})`,
      );
    drive = found;
  } else {
    drive = await api
      .get<Drive>(`/sites/${encodeURIComponent(siteId)}/drive`, { signal, what: 'site' })
      .catch(notFound('SharePoint site has no default document library'));
  }
  const dq = `/drives/${encodeURIComponent(drive.id)}`;
  const root = await api.get<DriveItem>(`${dq}/root?$select=id`, { signal, what: 'library root' });
  const basePath = splitPath(input.basePath ?? '').join('/');
  let baseItemId = root.id;
  if (basePath) {
    const base = await api
      .get<DriveItem>(`${dq}/root:/${encodeGraphPath(basePath)}:?$select=id,folder,name`, {
        signal,
        what: 'base path',
      })
      .catch(notFound(`Folder "${basePath}" was not found in library "${drive.name}"`));
    if (!base.folder) throw new LocationNotFoundError(`"${basePath}" is a file, not a folder`);
    baseItemId = base.id;
  }
  return {
    siteId,
    driveId: drive.id,
    driveName: drive.name,
    rootItemId: root.id,
    baseItemId,
    basePath,
    siteWebUrl,
  };
}
