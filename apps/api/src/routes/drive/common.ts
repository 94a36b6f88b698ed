import type { Request } from 'express';
import { ValidationError } from '@scaidrive/core';
import { NameInvalidError, type Actor, type Principal } from '@scaidrive/drive';
import { canAdministerPrincipals, canManageConnectors } from '../../auth/principal.js';
import { ForbiddenError } from '@scaidrive/core';

/** The share-store view of the caller (the auth middleware ran before every drive route). */
export function principalOf(req: Request): Principal {
  const p = req.principal!;
  return {
    tenantId: p.tenantId,
    userId: p.userId,
    groupIds: p.groupIds,
    isTenantAdmin: p.isTenantAdmin,
  };
}

/** Changes are attributed to the calling user; `manual` marks them as made by a person. */
export function actorOf(req: Request): Actor {
  return { userId: req.principal!.userId, origin: 'manual' };
}

export function tenantOf(req: Request): string {
  return req.principal!.tenantId;
}

/** Creating shares: scope `tenant:admin` or the admin role (as connector management). */
export function requireTenantAdmin(req: Request): void {
  if (!canManageConnectors(req.principal!))
    throw new ForbiddenError('This needs the tenant:admin scope or the tenant admin role');
}

/** Changing users and groups: the tenant admin role and an admin-scoped token (see principal.ts). */
export function requirePrincipalAdmin(req: Request): void {
  if (!canAdministerPrincipals(req.principal!))
    throw new ForbiddenError(
      'Changing users and groups needs the tenant admin role and a token with the tenant:admin scope',
    );
}

export function page(req: Request): { limit: number; offset: number } {
  return { limit: Number(req.query.limit ?? 50), offset: Number(req.query.offset ?? 0) };
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function param(req: Request, name: string): string {
  return String(req.params[name]);
}

/**
 * Runs a share-store call whose names come from `field` and turns a refused name into a 400
 * VALIDATION_ERROR naming that field, with the reason.
 */
export async function withNameField<T>(field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NameInvalidError) {
      const reason = (err.details as { reason?: string } | undefined)?.reason ?? err.message;
      throw new ValidationError(`Invalid name: ${reason}`, [{ field, reason }]);
    }
    throw err;
  }
}

/** `"3"`, `W/"3"` or `3` → `3`. */
export function etagValue(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  return header
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}
