import { Router } from 'express';
import type { ApiModule } from '../../app.js';
import type { ConnectorServices } from './context.js';
import { mountCrud } from './crud.js';
import { mountMappings } from './mappings.js';
import { mountSharePoint } from './sharepoint.js';
import { mountSync } from './sync.js';

export type { ConnectorServices } from './context.js';

/** `/smb-connectors/**` and `/sharepoint-connectors/**`. */
export function connectorsModule(services: ConnectorServices): ApiModule {
  const router = Router();
  mountSharePoint(router, services); // before `/:connector_id` routes: /oauth/callback is literal
  for (const kind of ['smb', 'sharepoint'] as const) {
    mountCrud(router, kind, services);
    mountSync(router, kind, services);
    mountMappings(router, kind, services);
  }
  return { name: 'connectors', router };
}
