import { AppError, ErrorCode, classifyError } from '@scaidrive/core';
import type { PacerRegistry } from '@scaidrive/connector-sharepoint';
import {
  GraphApi,
  SharePointAuth,
  Transport,
  buildAuthorizationUrl,
  createSharePointSource,
  defaultPacers,
  memoryTokenCacheStore,
  probeSharePoint,
  redeemAuthorizationCode,
  searchGroups,
  searchUsers,
  userAgent,
  type SharePointAuthConfig,
} from '@scaidrive/connector-sharepoint';
import type {
  AzureGroup,
  AzureUser,
  ConnectorDriver,
  SharePointAuthDriver,
  SharePointConnectorConfig,
  TestErrorCode,
  TestOutcome,
} from './types.js';

/**
 * The SharePoint drivers of the API: `POST …/test` (token → site → library → base path →
 * first page), the user_auth authorize URL and code redemption, and Azure directory search.
 * Register with `drivers: createSharePointDrivers({ graphBaseUrl: config.GRAPH_BASE_URL,
 * authorityHost: config.AZURE_AUTHORITY_HOST })`.
 */
export interface SharePointDriverOptions {
  graphBaseUrl: string;
  authorityHost: string;
  /** Shared pacers (default: the process-wide registry). */
  pacers?: PacerRegistry;
}

const TEST_CODES = new Set<TestErrorCode>([
  'CONNECTOR_UNREACHABLE',
  'CONNECTOR_AUTH_FAILED',
  'CONNECTOR_SHARE_NOT_FOUND',
  'CONNECTOR_REAUTHORIZE',
  'CONNECTOR_THROTTLED',
  'TIMEOUT',
]);

function authConfig(
  opts: SharePointDriverOptions,
  c: SharePointConnectorConfig,
): SharePointAuthConfig {
  return {
    authType: c.authType,
    azureTenantId: c.azureTenantId,
    azureClientId: c.azureClientId,
    clientSecret: c.azureClientSecret ?? undefined,
    certificatePem: c.azureCertificate ?? undefined,
    authorityHost: opts.authorityHost,
    graphBaseUrl: opts.graphBaseUrl,
    // The API never persists a refreshed cache: a probe works on a copy.
    tokenCache: memoryTokenCacheStore(c.tokenCache),
    accountId: c.authorizedAccountId,
  };
}

function graphApi(opts: SharePointDriverOptions, c: SharePointConnectorConfig): GraphApi {
  const pacers = opts.pacers ?? defaultPacers;
  const pacer = pacers.get(`${opts.authorityHost}|${c.azureTenantId}|${c.azureClientId}`);
  return new GraphApi(
    opts.graphBaseUrl,
    new SharePointAuth(authConfig(opts, c)),
    new Transport(pacer, userAgent()),
  );
}

function abortable<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted)
    return Promise.reject(new AppError(ErrorCode.TIMEOUT, 'Timed out', { action: 'retry' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new AppError(ErrorCode.TIMEOUT, 'SharePoint did not answer in time', { action: 'retry' }),
      );
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function createSharePointDrivers(opts: SharePointDriverOptions): {
  sharepoint: ConnectorDriver<SharePointConnectorConfig>;
  sharepointAuth: SharePointAuthDriver;
} {
  const sharepoint: ConnectorDriver<SharePointConnectorConfig> = {
    kind: 'sharepoint',
    async test(config, signal): Promise<TestOutcome> {
      const source = createSharePointSource(
        {
          siteUrl: config.siteUrl || null,
          siteId: config.siteId,
          driveId: config.driveId,
          libraryName: config.libraryName,
          basePath: config.basePath,
          graphBaseUrl: opts.graphBaseUrl,
          auth: authConfig(opts, config),
        },
        { pacers: opts.pacers },
      );
      try {
        const r = await abortable(signal, probeSharePoint(source, signal));
        const error =
          r.error === null
            ? null
            : TEST_CODES.has(r.error as TestErrorCode)
              ? (r.error as TestErrorCode)
              : 'CONNECTOR_ERROR';
        const details: Record<string, unknown> = {};
        if (r.site_id) details.site_id = r.site_id;
        if (r.drive_id) details.drive_id = r.drive_id;
        return { success: r.success, message: r.message, error, ...(r.success ? { details } : {}) };
      } catch (e) {
        const c = classifyError(e);
        return {
          success: false,
          message: c.message,
          error: c.code === 'TIMEOUT' ? 'TIMEOUT' : 'CONNECTOR_ERROR',
        };
      } finally {
        await source.close();
      }
    },
  };

  const sharepointAuth: SharePointAuthDriver = {
    authorizationUrl(config, request, signal) {
      return abortable(signal, buildAuthorizationUrl(authConfig(opts, config), request));
    },
    async redeemCode(config, request, signal) {
      const r = await abortable(signal, redeemAuthorizationCode(authConfig(opts, config), request));
      return { tokenCache: r.tokenCache, accountId: r.homeAccountId, username: r.username || null };
    },
    async searchUsers(config, query, limit, signal): Promise<AzureUser[]> {
      return abortable(signal, searchUsers(graphApi(opts, config), query, limit));
    },
    async searchGroups(config, query, limit, signal): Promise<AzureGroup[]> {
      return abortable(signal, searchGroups(graphApi(opts, config), query, limit));
    },
  };
  return { sharepoint, sharepointAuth };
}
