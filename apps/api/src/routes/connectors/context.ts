import type { Request } from 'express';
import type { ConnectorKind } from '../../drivers/types.js';
import type { Actor } from '../../services/actor.js';
import type { ConnectorAccess } from '../../services/access.js';
import type { ConnectorTestService } from '../../services/connector-tests.js';
import type { ConnectorService } from '../../services/connectors.js';
import type { FileStateService } from '../../services/file-states.js';
import type { IdentityMappingService } from '../../services/identity-mappings.js';
import type { SyncJobQueries } from '../../services/jobs.js';
import type { SharePointAuthService } from '../../services/sharepoint-auth.js';
import type { SyncRequestService } from '../../services/sync-requests.js';

/** Everything the connector routes call. Routes hold no logic of their own. */
export interface ConnectorServices {
  access: ConnectorAccess;
  connectors: ConnectorService;
  syncRequests: SyncRequestService;
  jobs: SyncJobQueries;
  fileStates: FileStateService;
  mappings: IdentityMappingService;
  tests: ConnectorTestService;
  sharepointAuth: SharePointAuthService;
}

export const BASES: Record<ConnectorKind, string> = {
  smb: '/smb-connectors',
  sharepoint: '/sharepoint-connectors',
};

export function actorOf(req: Request): Actor {
  // The auth middleware runs before every connector route.
  return { principal: req.principal!, requestId: req.requestId };
}

export function page(req: Request): { limit: number; offset: number } {
  const limit = Number(req.query.limit ?? 50);
  const offset = Number(req.query.offset ?? 0);
  return { limit, offset };
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function bool(v: unknown): boolean {
  return v === true || v === 'true';
}

/** The connector named in the path, after tenant, kind and permission checks. */
export function loadConnector(s: ConnectorServices, kind: ConnectorKind, req: Request) {
  return s.access.connector(req.principal!, kind, String(req.params.connector_id));
}
