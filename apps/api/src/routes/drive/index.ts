import { Router } from 'express';
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
  return { name: 'drive', router };
}
