import { Router, type ErrorRequestHandler } from 'express';
import { NotFoundError, ValidationError } from '@scaidrive/core';
import { ItemNotFoundError, NameInvalidError } from '@scaidrive/drive';
import type { Drive } from '@scaidrive/drive';
import type { ApiModule } from '../../app.js';
import { mountItems } from './items.js';
import { mountPermissions } from './permissions.js';
import { mountPrincipals } from './principals.js';
import { mountShares } from './shares.js';

/**
 * The operator API of the built-in share store: users and groups, shares and members, folders and
 * files (browse, upload, download with Range, versions, trash), ACLs and permission checks. Every
 * permission decision goes through the store's PermissionService.
 */
export function driveModule(drive: Drive): ApiModule {
  const router = Router();
  mountPrincipals(router, drive);
  mountShares(router, drive);
  mountItems(router, drive);
  mountPermissions(router, drive);
  router.use(apiErrors);
  return { name: 'drive', router };
}

/**
 * The store's item errors (made for the sync engine) in the API's vocabulary: a missing item is
 * `NOT_FOUND`, a refused name a `VALIDATION_ERROR` (routes that know the field say which).
 */
const apiErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  if (err instanceof ItemNotFoundError)
    return next(new NotFoundError(err.message.replace(/ not found$/, '')));
  if (err instanceof NameInvalidError) {
    const reason = (err.details as { reason?: string } | undefined)?.reason ?? err.message;
    return next(new ValidationError(err.message, [{ field: 'name', reason }]));
  }
  next(err);
};
