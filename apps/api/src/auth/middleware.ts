import type { RequestHandler } from 'express';
import type { Authenticator } from './authenticator.js';

/**
 * Authenticates every request except the public operations (`security: []` in the document) and
 * stores the principal on `req.principal`.
 */
export function authenticate(auth: Authenticator, publicOps: Set<string>): RequestHandler {
  return async (req, _res, next) => {
    const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
    if (publicOps.has(`${req.method === 'HEAD' ? 'GET' : req.method} ${path}`)) return next();
    const principal = await auth.authenticate(req.get('authorization'));
    req.principal = principal;
    req.log = req.log.child({ tenant_id: principal.tenantId, user_id: principal.userId });
    next();
  };
}
