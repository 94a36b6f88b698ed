import { Router } from 'express';
import type { OpenApiDocument } from './assemble.js';
import { renderDocsPage } from './docs-page.js';

/** `GET /openapi.json` and `GET /docs` (both public). */
export function openApiRouter(doc: OpenApiDocument): Router {
  const json = JSON.stringify(doc);
  const html = renderDocsPage(doc);
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });
  router.get('/docs', (_req, res) => {
    res.type('text/html').send(html);
  });
  return router;
}
