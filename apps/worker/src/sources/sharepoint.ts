import { AppError, ErrorCode } from '@scaidrive/core';
import { secretContext } from '@scaidrive/db';
import {
  createSharePointSource,
  memoryTokenCacheStore,
  type PacerRegistry,
} from '@scaidrive/connector-sharepoint';
import type { SourceFactory } from './registry.js';

/**
 * The SharePoint `Source` for a connector. Register in compose.ts:
 *   sources.register('sharepoint', sharePointSource());
 * - the MSAL token cache (user_auth) is written back encrypted to the connector row whenever MSAL
 *   refreshes it (unless the connector was reconfigured or re-authorized meanwhile);
 * - site_id / drive_id resolved from site_url / library_name are stored on the connector;
 * - throttling waits of the shared per-tenant+app pacer go to `ctx.onThrottle` (job metrics);
 * - permissions no mapping can express (sharing links, SharePoint groups) go to
 *   `ctx.onUnmappedGrant` (job summary);
 * - when the runner passes the connector's file-state store as `ctx.state`, delta paths are
 *   rebuilt from it (otherwise each unknown parent costs one Graph request).
 */
export function sharePointSource(options: { pacers?: PacerRegistry } = {}): SourceFactory {
  return async (config, ctx) => {
    if (config.kind !== 'sharepoint')
      throw new AppError(ErrorCode.INTERNAL, 'not a SharePoint connector');
    const c = ctx.connector;
    // Written back only while the connector is configured as when this run started: a change
    // (another site, app or account; a new authorization) bumps configRevision and clears or
    // replaces the cache, which a refresh by a run of the old configuration must not undo.
    const where = { id: c.id, tenantId: c.tenantId, configRevision: c.configRevision };
    const tokenCache = memoryTokenCacheStore(config.tokenCache, async (s) => {
      await ctx.prisma.connector.updateMany({
        where,
        data: { tokenCacheEnc: ctx.secrets.encrypt(s, secretContext(c.id, 'token_cache')) },
      });
    });
    const source = createSharePointSource(
      {
        siteUrl: config.siteUrl || null,
        siteId: config.siteId,
        driveId: config.driveId,
        libraryName: config.libraryName,
        basePath: config.basePath,
        graphBaseUrl: ctx.config.GRAPH_BASE_URL,
        syncVersions: c.syncVersions ?? false,
        syncMetadata: c.syncMetadata ?? false,
        auth: {
          authType: config.authType,
          azureTenantId: config.azureTenantId,
          azureClientId: config.azureClientId,
          clientSecret: config.azureClientSecret ?? undefined,
          certificatePem: config.azureCertificate ?? undefined,
          authorityHost: ctx.config.AZURE_AUTHORITY_HOST,
          tokenCache,
          accountId: config.authorizedAccountId,
        },
      },
      { stateStore: ctx.state, pacers: options.pacers },
    );
    source.on('wait', (ms) => ctx.onThrottle?.(ms));
    source.on('unmappedGrant', (g) =>
      ctx.onUnmappedGrant?.({ path: g.path, reason: g.reason, detail: g.detail }),
    );
    const loc = await source.location(ctx.signal);
    if (c.siteId !== loc.siteId || c.driveId !== loc.driveId) {
      await ctx.prisma.connector.updateMany({
        where,
        data: { siteId: loc.siteId, driveId: loc.driveId },
      });
    }
    return source;
  };
}
