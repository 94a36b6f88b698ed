import type { Router } from 'express';
import type { ConnectorKind } from '../../drivers/types.js';
import { connector as serialize } from '../../serializers/index.js';
import { BASES, actorOf, page, str, type ConnectorServices } from './context.js';

export function mountCrud(router: Router, kind: ConnectorKind, s: ConnectorServices): void {
  const base = BASES[kind];
  router.get(base, async (req, res) => {
    const status = str(req.query.status);
    const { rows, total } = await s.connectors.list(actorOf(req), kind, {
      ...page(req),
      ...(status ? { status } : {}),
    });
    res.json({ connectors: rows.map(serialize), total });
  });
  router.post(base, async (req, res) => {
    const row = await s.connectors.create(actorOf(req), kind, req.body);
    res.status(201).location(`/api/v1${base}/${row.id}`).json(serialize(row));
  });
  router.get(`${base}/:connector_id`, async (req, res) => {
    res.json(
      serialize(await s.connectors.get(actorOf(req), kind, String(req.params.connector_id))),
    );
  });
  router.patch(`${base}/:connector_id`, async (req, res) => {
    const row = await s.connectors.update(
      actorOf(req),
      kind,
      String(req.params.connector_id),
      req.body,
    );
    res.json(serialize(row));
  });
  router.delete(`${base}/:connector_id`, async (req, res) => {
    await s.connectors.delete(actorOf(req), kind, String(req.params.connector_id));
    res.status(204).end();
  });
}
