import { AppError, ErrorCode, classifyError } from '@scaidrive/core';
import type { SharePointSource } from './source.js';

/** The `/test` probe: token → site/library/base path → first page of the base folder. */
export interface ProbeResult {
  success: boolean;
  message: string;
  error: string | null;
  /** Resolved ids, to store on the connector when they were not given. */
  site_id?: string;
  drive_id?: string;
}

export async function probeSharePoint(
  source: SharePointSource,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  try {
    if (source.auth) await source.auth.getAccessToken();
    const loc = await source.location(signal);
    let count = 0;
    for await (const _ of source.list('', signal)) {
      if (++count >= 1000) break;
    }
    const where = loc.basePath
      ? `folder "${loc.basePath}" of library "${loc.driveName}"`
      : `library "${loc.driveName}"`;
    return {
      success: true,
      message: `Connected to SharePoint: ${where} is readable (${count}${count >= 1000 ? '+' : ''} item${count === 1 ? '' : 's'} at the top).`,
      error: null,
      site_id: loc.siteId,
      drive_id: loc.driveId,
    };
  } catch (e) {
    const c = classifyError(e);
    const code = e instanceof AppError ? e.code : c.code;
    return {
      success: false,
      message: friendly(code, e instanceof AppError ? e.message : c.message),
      error: code,
    };
  }
}

function friendly(code: string, detail: string): string {
  switch (code) {
    case ErrorCode.CONNECTOR_AUTH_FAILED:
      return `Microsoft Entra ID or SharePoint rejected the connector's credentials. Check the tenant id, client id, client secret or certificate, and the app's Graph permissions (Sites.ReadWrite.All). ${detail}`;
    case ErrorCode.CONNECTOR_REAUTHORIZE:
      return 'The connector is not authorized (or its authorization was revoked): run "authorize" again as a SharePoint user.';
    case ErrorCode.CONNECTOR_UNREACHABLE:
      return `SharePoint could not be reached. Check the network and the configured Graph and authority hosts. ${detail}`;
    case ErrorCode.CONNECTOR_THROTTLED:
      return 'SharePoint is throttling this app right now; try again in a few minutes.';
    case 'CONNECTOR_SHARE_NOT_FOUND':
      return `${detail}. Check site_url, library_name and base_path.`;
    default:
      return `The SharePoint check failed: ${detail}`;
  }
}
