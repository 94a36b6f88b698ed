import { createRequire } from 'node:module';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiDocument } from './assemble.js';

/**
 * Request validation always (unknown body fields and query parameters rejected, every error
 * reported); response validation when asked (tests), where a response that breaks the document
 * becomes a 500 and is logged with the offending path.
 *
 * express-openapi-validator finds a request's operation by compiling every path template of the
 * document with path-to-regexp, in order, until one matches — on every request. With ~60 paths that
 * was most of its cost (~0.3 ms of CPU per request here). So there is one validator per path of the
 * document, each given a document with only that path (and the components it references), and a
 * dispatcher that matches the request against templates compiled once, with the same
 * path-to-regexp, options and order the validator uses. Per request the validator then matches a
 * single template; what it checks and how it answers (400/404/405/415…) is unchanged.
 */
export function openApiValidator(doc: OpenApiDocument, validateResponses: boolean): RequestHandler {
  const options = {
    validateRequests: { allErrors: true, allowUnknownQueryParameters: false },
    validateResponses: validateResponses ? { allErrors: true } : false,
    validateSecurity: false,
    validateFormats: true,
    ignoreUndocumented: false,
    // No operation takes multipart bodies; skips a multer pass per request.
    fileUploader: false,
  } as const;
  const basePaths = serverBasePaths(doc);
  const chains = new Map<string, RequestHandler[]>();
  for (const p of Object.keys(doc.paths))
    chains.set(
      p,
      OpenApiValidator.middleware({
        ...options,
        apiSpec: pathDocument(doc, p) as never,
      }) as unknown as RequestHandler[],
    );
  const routes = routeTable(doc, basePaths).map((r) => ({ ...r, chain: chains.get(r.path)! }));

  return (req, res, next) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const route = routes.find((r) => r.regexp.test(path));
    if (route) return runChain(route.chain, req, res, next);
    // As the single validator did: an undocumented path under the base path is a 404, anything
    // else is not the document's business.
    if (basePaths.some((bp) => req.path.startsWith(bp)))
      return next(new OpenApiValidator.error.NotFound({ path: req.path, message: 'not found' }));
    next();
  };
}

function runChain(chain: RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let i = 0;
  const step = (err?: unknown): void => {
    if (err !== undefined && err !== null) return done(err);
    const mw = chain[i++];
    if (!mw) return done();
    // The validator's middlewares catch their own errors and pass them to `step`; a synchronous
    // throw of the first one reaches Express's own handling of this middleware.
    mw(req, res, step);
  };
  step();
}

interface RouteEntry {
  /** The document's path template (`/smb-connectors/{connector_id}`). */
  path: string;
  expressRoute: string;
  regexp: RegExp;
}

type PathToRegexp = (
  path: string,
  options: { sensitive: boolean; strict: boolean },
) => { regexp: RegExp; keys: { name: string }[] };

/** The path-to-regexp the validator itself uses (so both agree on what a template matches). */
function validatorPathToRegexp(): PathToRegexp {
  const require = createRequire(import.meta.url);
  const fromValidator = createRequire(require.resolve('express-openapi-validator'));
  return (fromValidator('path-to-regexp') as { pathToRegexp: PathToRegexp }).pathToRegexp;
}

/** `/api/v1` from `servers: [{url: /api/v1}]` (as the validator derives its base paths). */
function serverBasePaths(doc: OpenApiDocument): string[] {
  const servers = (doc.servers as { url: string }[] | undefined) ?? [];
  const out = servers.map((s) => {
    const url = s.url.replace(/\{[^}]+\}/g, '');
    const pathPart = /^[a-z]+:\/\//i.test(url) ? new URL(url).pathname : url;
    return pathPart.replace(/\/$/, '');
  });
  return out.length > 0 ? out : [''];
}

/**
 * Every path of the document as the validator sees it: `{x}` → `:x` under each base path, sorted most
 * specific first (the validator's own order: a static segment before a parameter), compiled
 * case-insensitively and without strict trailing-slash matching (Express defaults).
 */
function routeTable(doc: OpenApiDocument, basePaths: string[]): RouteEntry[] {
  const pathToRegexp = validatorPathToRegexp();
  const routes: RouteEntry[] = [];
  for (const bp of basePaths)
    for (const p of Object.keys(doc.paths)) {
      const expressRoute = `${bp}${p}`.split(':').map(toExpressParams).join('\\:');
      routes.push({
        path: p,
        expressRoute,
        regexp: pathToRegexp(expressRoute, { sensitive: false, strict: false }).regexp,
      });
    }
  // The validator's sortRoutes.
  routes.sort((r1, r2) => {
    const e1 = r1.expressRoute.replace(/\/:/g, '/~');
    const e2 = r2.expressRoute.replace(/\/:/g, '/~');
    if (e1.startsWith(e2)) return -1;
    if (e2.startsWith(e1)) return 1;
    return e1 > e2 ? 1 : -1;
  });
  return routes;
}

function toExpressParams(part: string): string {
  if (part.includes('*')) {
    const pass1 = part.replace(/\/{([^}]+)}\({0,1}(\*)\){0,1}/g, '/$2$1');
    return pass1.replace(/\{([^/}]+)}/g, ':$1');
  }
  const pass1 = part.replace(/\/{([^}]+)}\({0,1}(\*)\){0,1}/g, '/:$1$2');
  return pass1.replace(/\{([^}]+)}/g, ':$1');
}

/**
 * The document reduced to one path: the same root (info, servers, security…), that path, and only
 * the components it references (transitively), so each validator compiles a small document.
 */
export function pathDocument(doc: OpenApiDocument, path: string): OpenApiDocument {
  const components: Record<string, Record<string, unknown>> = {};
  const pending: unknown[] = [doc.paths[path]];
  const seen = new Set<string>();
  // Security schemes are looked up by name, not by $ref.
  if (doc.components.securitySchemes)
    components.securitySchemes = { ...doc.components.securitySchemes };
  while (pending.length > 0) {
    const v = pending.pop();
    if (Array.isArray(v)) {
      pending.push(...v);
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      if (k === '$ref' && typeof child === 'string') {
        // `#/components/<section>/<name>` (or a pointer into one: the whole component is kept).
        const m = /^#\/components\/([^/]+)\/([^/]+)/.exec(child);
        if (!m) throw new Error(`OpenAPI: $ref ${child} must point into #/components`);
        if (seen.has(m[0])) continue;
        seen.add(m[0]);
        const [, section, rawName] = m as unknown as [string, string, string];
        const name = rawName.replace(/~1/g, '/').replace(/~0/g, '~');
        const target = doc.components[section]?.[name];
        if (target === undefined) continue;
        (components[section] ??= {})[name] = target;
        pending.push(target);
      } else pending.push(child);
    }
  }
  const { paths: _paths, components: _components, tags: _tags, ...root } = doc;
  return structuredClone({ ...root, paths: { [path]: doc.paths[path]! }, components });
}
