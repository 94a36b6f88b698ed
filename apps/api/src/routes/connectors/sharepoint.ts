import { isoSeconds } from '@scaidrive/core';
import type { Router } from 'express';
import { BASES, actorOf, loadConnector, str, type ConnectorServices } from './context.js';

/** authorize, the OAuth callback (public) and the Entra ID directory search. */
export function mountSharePoint(router: Router, s: ConnectorServices): void {
  const base = BASES.sharepoint;
  router.get(`${base}/oauth/callback`, async (req, res) => {
    const q = {
      state: String(req.query.state),
      ...(str(req.query.code) ? { code: str(req.query.code)! } : {}),
      ...(str(req.query.error) ? { error: str(req.query.error)! } : {}),
    };
    const r = await s.sharepointAuth.callback(q);
    res.json({ connector_id: r.connectorId, authorized: true, account: r.account });
  });
  router.post(`${base}/:connector_id/authorize`, async (req, res) => {
    const c = await loadConnector(s, 'sharepoint', req);
    const r = await s.sharepointAuth.authorize(actorOf(req), c);
    res.json({ authorization_url: r.url, state: r.state, expires_at: isoSeconds(r.expiresAt) });
  });
  router.post(`${base}/:connector_id/azure/users/search`, async (req, res) => {
    const c = await loadConnector(s, 'sharepoint', req);
    const users = await s.sharepointAuth.searchUsers(c, req.body.query, req.body.limit ?? 20);
    res.json({ users });
  });
  router.post(`${base}/:connector_id/azure/groups/search`, async (req, res) => {
    const c = await loadConnector(s, 'sharepoint', req);
    const groups = await s.sharepointAuth.searchGroups(c, req.body.query, req.body.limit ?? 20);
    res.json({ groups });
  });
}
