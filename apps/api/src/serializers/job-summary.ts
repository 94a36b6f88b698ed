import type { components } from '../generated/openapi.js';

type Summary = components['schemas']['SyncJobSummary'];

/**
 * The API form of the `summary` a worker stored on a job (the engine's camelCase summary plus the
 * worker's additions). Reads field by field and drops what does not fit: rows written by older
 * workers, or a shape that changed since, must still serialise to a valid response.
 */
export function jobSummary(raw: unknown): Summary | null {
  const o = record(raw);
  if (!o) return null;
  const grants = record(o.unmappedGrants);
  const principals = list(o.unmappedPrincipals)
    .map(record)
    .filter((p) => p && oneOf(p.kind, ['sid', 'entra', 'everyone']) && typeof p.id === 'string')
    .map((p) => ({
      kind: p!.kind as Summary['unmapped_principals'][number]['kind'],
      id: p!.id as string,
      name: text(p!.name),
      type: oneOf(p!.type, ['user', 'group']) ? (p!.type as 'user' | 'group') : null,
    }));
  const safety = record(o.deleteSafety);
  const error = record(o.error);
  return {
    mode: oneOf(o.mode, ['full', 'incremental']) ? (o.mode as 'full' | 'incremental') : null,
    mode_reason: text(o.modeReason),
    feeds_used: list(o.feedsUsed).filter((f): f is 'source' | 'target' =>
      oneOf(f, ['source', 'target']),
    ),
    duration_ms: count(o.durationMs) ?? null,
    plan: Object.fromEntries(
      Object.entries(record(o.plan) ?? {}).flatMap(([k, v]) => {
        const n = count(v);
        return n === undefined ? [] : [[k, n]];
      }),
    ),
    errors: list(o.errors)
      .map(record)
      .filter((e) => e && typeof e.path === 'string' && typeof e.code === 'string')
      .map((e) => ({
        path: e!.path as string,
        code: e!.code as string,
        message: text(e!.message) ?? '',
      })),
    warnings: list(o.warnings).filter((w): w is string => typeof w === 'string'),
    unmapped_principals: principals,
    unmapped_principal_count: Math.max(count(o.unmappedPrincipalCount) ?? 0, principals.length),
    unmapped_grants: {
      count: count(grants?.count) ?? 0,
      samples: list(grants?.samples)
        .map(record)
        .filter(
          (g) =>
            g &&
            typeof g.path === 'string' &&
            oneOf(g.reason, ['sharing_link', 'sharepoint_principal']),
        )
        .map((g) => ({
          path: g!.path as string,
          reason: g!.reason as 'sharing_link' | 'sharepoint_principal',
          detail: text(g!.detail) ?? '',
        })),
    },
    throttle_wait_ms: Math.round(num(o.throttleWaitMs) ?? 0),
    delete_safety:
      safety &&
      count(safety.wouldDelete) !== undefined &&
      count(safety.managedFiles) !== undefined &&
      count(safety.limit) !== undefined
        ? {
            would_delete: count(safety.wouldDelete)!,
            managed_files: count(safety.managedFiles)!,
            limit: count(safety.limit)!,
          }
        : null,
    error:
      error && typeof error.code === 'string'
        ? { code: error.code, message: text(error.message) ?? '' }
        : null,
  };
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function count(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

function oneOf(v: unknown, values: readonly string[]): boolean {
  return typeof v === 'string' && values.includes(v);
}
