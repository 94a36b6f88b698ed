import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import type { Logger } from '@scaidrive/core';
import type { Authenticator } from './auth/authenticator.js';
import { authenticate } from './auth/middleware.js';
import { errorHandler, notFoundHandler } from './errors/handler.js';
import type { Lifecycle, ReadinessCheck } from './health/readiness.js';
import type { InFlightRequests } from './http/in-flight.js';
import { RateLimiter } from './http/rate-limit.js';
import { textGuard } from './http/text-guard.js';
import { requestContext } from './http/request-context.js';
import { publicOperations, type OpenApiDocument } from './openapi/assemble.js';
import { openApiRouter } from './openapi/router.js';
import { openApiValidator } from './openapi/validator.js';
import { systemRouter } from './routes/system.js';

export const API_BASE = '/api/v1';

/** A feature's routes, mounted under /api/v1 after auth, rate limiting and request validation. */
export interface ApiModule {
  name: string;
  router: Router;
}

export interface AppDeps {
  logger: Logger;
  authenticator: Authenticator;
  openapi: OpenApiDocument;
  modules: ApiModule[];
  readiness: ReadinessCheck[];
  lifecycle?: Lifecycle;
  /** e.g. `1mb` (BODY_LIMIT). */
  bodyLimit: string;
  /** Per token per minute; 0 disables (RATE_LIMIT_PER_MINUTE). */
  rateLimitPerMinute: number;
  /** Validate every response against the document (tests). */
  validateResponses?: boolean;
  version?: string;
  /** Counts unfinished requests so a graceful stop can wait for them. */
  inFlight?: InFlightRequests;
}

/** The Express application; no I/O happens here (the composition root builds the dependencies). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  if (deps.inFlight) app.use(deps.inFlight.middleware());
  app.use(requestContext(deps.logger));
  app.use(helmet());
  app.use(
    express.json({
      limit: deps.bodyLimit,
      strict: true,
      type: ['application/json', 'application/*+json'],
    }),
  );
  app.use(express.text({ limit: deps.bodyLimit, type: 'text/csv' }));
  app.use(textGuard());

  const api = express.Router();
  api.use(authenticate(deps.authenticator, publicOperations(deps.openapi, '')));
  api.use(new RateLimiter({ limit: deps.rateLimitPerMinute }).middleware());
  app.use(API_BASE, api);
  app.use(openApiValidator(deps.openapi, deps.validateResponses ?? false));

  const routes = express.Router();
  routes.use(
    systemRouter({
      version: deps.version ?? '0.0.0',
      readiness: deps.readiness,
      lifecycle: deps.lifecycle ?? { shuttingDown: false },
    }),
  );
  routes.use(openApiRouter(deps.openapi));
  for (const m of deps.modules) routes.use(m.router);
  app.use(API_BASE, routes);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
