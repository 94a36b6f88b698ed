import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '@scaidrive/core';

const WELL_FORMED = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Gives every request an id (a well-formed incoming `X-Request-Id` is kept, anything else replaced),
 * echoes it on the response, and attaches a child logger; logs one line per finished request.
 * Never logs headers, bodies or query strings (they may carry secrets).
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const id = incoming && WELL_FORMED.test(incoming) ? incoming : randomUUID();
    req.requestId = id;
    res.setHeader('X-Request-Id', id);
    req.log = logger.child({ request_id: id });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const fields: Record<string, unknown> = {
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        duration_ms: Math.round(ms * 10) / 10,
      };
      if (req.principal) {
        fields.tenant_id = req.principal.tenantId;
        fields.user_id = req.principal.userId;
      }
      req.log.log(res.statusCode >= 500 ? 'error' : 'info', 'request', fields);
    });
    next();
  };
}
