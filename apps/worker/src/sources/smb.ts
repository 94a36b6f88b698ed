import { AppError, ErrorCode, HostGuard } from '@scaidrive/core';
import { SmbSessionPool, createSmbSource, type SmbSource } from '@scaidrive/connector-smb';
import type { SourceContext, SourceFactory } from './registry.js';

/**
 * The SMB `Source` for a connector. Registered in compose.ts: `sources.register('smb', smbSource())`.
 * - One authenticated session per connector in this process (pooled; smb-client re-establishes it
 *   after a drop), closed when the run closes its source.
 * - SOURCE_HOST_ALLOWLIST / SOURCE_HOST_DENYLIST apply at every connect, as in the API.
 * - With `sync_permissions`, identity mappings given as `DOMAIN\name` are resolved through LSARPC
 *   at the start of every run, so ACEs match them on SID (names may be spelled with another domain
 *   form or change case; SIDs do not) — and an account recreated under the same name is followed.
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

/**
 * Stores the SID every `DOMAIN\name` mapping of the connector resolves to now (one LSARPC call
 * for all of them). A name the server does not know keeps the SID it had: a lookup that fails for
 * a while (a domain controller away) must not take permissions away; a different SID is a fact.
 */
export async function resolveMappingSids(ctx: SourceContext, source: SmbSource): Promise<void> {
  const { tenantId, id: connectorId } = ctx.connector;
  // Names are `DOMAIN\name`; SID mappings carry their SID from the start.
  const rows = (
    await ctx.prisma.identityMapping.findMany({
      where: { tenantId, connectorId },
      select: { id: true, smbPrincipal: true, resolvedSid: true, identityType: true },
    })
  ).filter((r) => r.smbPrincipal.includes('\\'));
  if (rows.length === 0) return;
  const found = await source.resolvePrincipals(
    rows.map((r) => r.smbPrincipal.trim()),
    { fresh: true },
  );
  const missing: string[] = [];
  for (const r of rows) {
    const hit = found.get(r.smbPrincipal.trim());
    if (!hit) {
      missing.push(r.smbPrincipal);
      continue;
    }
    if (hit.sid === r.resolvedSid) continue;
    if (r.resolvedSid && hit.type !== 'other' && hit.type !== r.identityType) {
      // The name now belongs to another kind of account: a user mapping must not start granting
      // to a group (or the reverse). The old SID stays; the operator decides.
      ctx.logger.warn('identity mapping name now resolves to a different kind of account; kept', {
        mapping_id: r.id,
        identity_type: r.identityType,
        resolved_type: hit.type,
      });
      continue;
    }
    if (r.resolvedSid)
      ctx.logger.warn('identity mapping now resolves to another SID (account recreated?)', {
        mapping_id: r.id,
        previous_sid: r.resolvedSid,
        sid: hit.sid,
      });
    await ctx.prisma.identityMapping.updateMany({
      where: { id: r.id, tenantId },
      data: { resolvedSid: hit.sid },
    });
  }
  if (missing.length > 0)
    ctx.logger.warn('identity mappings name principals the SMB server does not know', {
      count: missing.length,
      principals: missing.slice(0, 20),
    });
}
