import { Router } from 'express';
import { runChecks, type Lifecycle, type ReadinessCheck } from '../health/readiness.js';

export interface SystemRouterDeps {
  version: string;
  readiness: ReadinessCheck[];
  lifecycle: Lifecycle;
  readinessTimeoutMs?: number;
}

/** `GET /health` (liveness, no dependencies) and `GET /ready` (database + queue; 503 otherwise). */
export function systemRouter(deps: SystemRouterDeps): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'healthy', version: deps.version });
  });
  router.get('/ready', async (req, res) => {
    const checks: Record<string, 'ok' | 'error' | 'shutting_down'> = await runChecks(
      deps.readiness,
      deps.readinessTimeoutMs ?? 2000,
    );
    if (deps.lifecycle.shuttingDown) checks.server = 'shutting_down';
    const ready = Object.values(checks).every((v) => v === 'ok');
    if (!ready) req.log.warn('not ready', { checks });
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}
