import { AppError, ErrorCode, HostGuard } from '@scaidrive/core';
import { SmbSessionPool, createSmbSource, type SmbSource } from '@scaidrive/connector-smb';
import type { SourceContext, SourceFactory } from './registry.js';

/**
 * The SMB `Source` for a connector. Registered in compose.ts: `sources.register('smb', smbSource())`.
 * - One authenticated session per connector in this process (pooled; smb-client re-establishes it
 *   after a drop), closed when the run closes its source.
 * - SOURCE_HOST_ALLOWLIST / SOURCE_HOST_DENYLIST apply at every connect, as in the API.
 * - With `sync_permissions`, identity mappings given as `DOMAIN\name` whose `resolved_sid` is still
 *   unknown are resolved through LSARPC now, so ACEs match them on SID (names may be spelled with
 *   another domain form or change case; SIDs do not).
 */
export function smbSource(options: { pool?: SmbSessionPool } = {}): SourceFactory {
  let pool = options.pool;
  return async (config, ctx) => {
    if (config.kind !== 'smb') throw new AppError(ErrorCode.INTERNAL, 'not an SMB connector');
    if (!pool) {
      // The host was checked when it was saved; it is checked again on every connect, and the
      // connection goes to the address that passed (a name may resolve elsewhere by now).
      const guard = new HostGuard({
        allow: ctx.config.SOURCE_HOST_ALLOWLIST,
        deny: ctx.config.SOURCE_HOST_DENYLIST,
      });
      pool = new SmbSessionPool({
        client: {
          requestTimeoutMs: ctx.config.SMB_REQUEST_TIMEOUT_MS,
          resolveAddresses: (host) => guard.addressesFor(host),
        },
      });
    }
    const source = await createSmbSource(config, { pool, signal: ctx.signal });
    if (ctx.connector.syncPermissions) {
      try {
        await resolveMappingSids(ctx, source);
      } catch (err) {
        // Names still match by `DOMAIN\name`; the next run tries again.
        ctx.logger.warn('could not resolve identity mappings through LSARPC', { err });
      }
    }
    return source;
  };
}

/** Stores the SID of every `DOMAIN\name` mapping of the connector that has none yet. */
export async function resolveMappingSids(ctx: SourceContext, source: SmbSource): Promise<void> {
  const { tenantId, id: connectorId } = ctx.connector;
  const rows = await ctx.prisma.identityMapping.findMany({
    where: { tenantId, connectorId, resolvedSid: null },
    select: { id: true, smbPrincipal: true },
  });
  if (rows.length === 0) return;
  const found = await source.resolvePrincipals(rows.map((r) => r.smbPrincipal.trim()));
  const missing: string[] = [];
  for (const r of rows) {
    const hit = found.get(r.smbPrincipal.trim());
    if (!hit) {
      missing.push(r.smbPrincipal);
      continue;
    }
    await ctx.prisma.identityMapping.updateMany({
      where: { id: r.id, tenantId, resolvedSid: null },
      data: { resolvedSid: hit.sid },
    });
  }
  if (missing.length > 0)
    ctx.logger.warn('identity mappings name principals the SMB server does not know', {
      count: missing.length,
      principals: missing.slice(0, 20),
    });
}
