import type { Router } from 'express';
import type { ConnectorKind } from '../../drivers/types.js';
import { identityMapping } from '../../serializers/index.js';
import { BASES, actorOf, loadConnector, page, type ConnectorServices } from './context.js';

export function mountMappings(router: Router, kind: ConnectorKind, s: ConnectorServices): void {
  const base = `${BASES[kind]}/:connector_id/identity-mappings`;
  router.get(base, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    const { rows, total } = await s.mappings.list(c, page(req));
    res.json({ identity_mappings: rows.map(identityMapping), total });
  });
  router.post(base, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    res.status(201).json(identityMapping(await s.mappings.create(actorOf(req), c, req.body)));
  });
  router.post(`${base}/import`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    const r = await s.mappings.importCsv(actorOf(req), c, String(req.body ?? ''));
    res.status(201).json({
      created: r.created.length,
      unchanged: r.unchanged,
      identity_mappings: r.created.map(identityMapping),
    });
  });
  router.delete(`${base}/:mapping_id`, async (req, res) => {
    const c = await loadConnector(s, kind, req);
    await s.mappings.delete(actorOf(req), c, String(req.params.mapping_id));
    res.status(204).end();
  });
}
