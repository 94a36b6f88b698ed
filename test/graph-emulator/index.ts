import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EntraHost, type EntraOptions } from './entra.js';
import {
  FaultInjector,
  type FaultRule,
  type HostName,
  type RequestLogEntry,
  type RouteClass,
} from './faults.js';
import { GraphHost, type GraphHostOptions } from './graph.js';
import { HttpError, newRequestId, sendGraphError, sendJson } from './http.js';
import { EmuModel, type ModelOptions } from './model.js';
import { SharePointHost } from './sharepoint.js';
import { generateTestPki, trustTestCa } from './tls.js';

export * from './model.js';
export * from './faults.js';
export { emulatorQuickXor } from './quickxor.js';
export { generateClientCertificate, trustTestCa } from './tls.js';
export { installLoopbackGuard, type LoopbackGuard } from './guard.js';
export { SIMPLE_UPLOAD_LIMIT } from './graph.js';
export { FRAGMENT_MULTIPLE } from './sharepoint.js';

/**
 * Microsoft Entra ID + Graph + SharePoint emulator: three real HTTPS servers on loopback with a
 * test CA generated at start-up.
 *   login      https://127.0.0.1:<p1>   (authority host: /{tenant}/oauth2/v2.0/…)
 *   graph      https://127.0.0.1:<p2>   (/v1.0/…)
 *   sharepoint https://127.0.0.2:<p3>   (download + upload-session URLs; a different host name, so
 *                                        a client that scopes its bearer token by host never sends it)
 */
export interface GraphEmulatorOptions extends ModelOptions, EntraOptions, GraphHostOptions {
  /** Trust the test CA in this process (default true). */
  trust?: boolean;
  /** PRNG seed for probabilistic faults. */
  seed?: number;
  /** Address of the SharePoint host (default 127.0.0.2). */
  sharePointAddress?: string;
}

export interface GraphEmulator {
  model: EmuModel;
  entra: EntraHost;
  graph: GraphHost;
  faults: FaultInjector;
  /** Every request received, in order. */
  requests: RequestLogEntry[];
  /** Authority host for MSAL, e.g. `https://127.0.0.1:41234`. */
  authorityHost: string;
  /** Graph root (without `/v1.0`). */
  graphBaseUrl: string;
  sharePointOrigin: string;
  caPem: string;
  /**
   * Requests to the Graph host; with `since`, those after the first `since` of them (take it from
   * `graphRequests().length` — not from `requests.length`, which counts every host).
   */
  graphRequests(since?: number): RequestLogEntry[];
  addFault(rule: FaultRule): () => void;
  clearLog(): void;
  close(): Promise<void>;
}

export async function startGraphEmulator(
  options: GraphEmulatorOptions = {},
): Promise<GraphEmulator> {
  const spAddress = options.sharePointAddress ?? '127.0.0.2';
  const pki = generateTestPki(['127.0.0.1', spAddress]);
  if (options.trust !== false) trustTestCa(pki.caPem);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const model = new EmuModel(options);
  const faults = new FaultInjector(options.seed);
  const requests: RequestLogEntry[] = [];
  const origins = { login: '', graph: '', sharepoint: '' };
  const entra = new EntraHost(
    model,
    privateKey,
    publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
    () => origins.login,
    () => origins.graph,
    options,
  );
  const graph = new GraphHost(
    model,
    publicKey,
    () => origins.graph,
    () => origins.sharepoint,
    () => origins.login,
    options,
  );
  const sp = new SharePointHost(model, graph);

  const handler =
    (
      host: HostName,
      classify: (m: string, u: URL) => RouteClass,
      serve: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>,
    ) =>
    async (req: IncomingMessage, res: ServerResponse) => {
      const started = Date.now();
      const url = new URL(req.url ?? '/', 'https://emulator.invalid');
      const method = req.method ?? 'GET';
      const route =
        host === 'login'
          ? url.pathname.endsWith('/token')
            ? 'token'
            : url.pathname.endsWith('/authorize')
              ? 'authorize'
              : 'metadata'
          : classify(method, url);
      const entry: RequestLogEntry = {
        seq: requests.length,
        at: started,
        host,
        method,
        url: req.url ?? '/',
        route,
        status: 0,
        remoteAddress: req.socket.remoteAddress ?? '',
        localAddress: req.socket.localAddress ?? '',
        bearer: /^Bearer /i.test(req.headers.authorization ?? ''),
        userAgent: String(req.headers['user-agent'] ?? ''),
        durationMs: 0,
      };
      if (typeof req.headers.range === 'string') entry.range = req.headers.range;
      requests.push(entry);
      res.on('close', () => {
        entry.status = res.headersSent ? res.statusCode : 0;
        entry.durationMs = Date.now() - started;
      });
      const requestId = newRequestId();
      try {
        const fault = faults.match(route, method);
        if (fault?.delayMs) {
          entry.fault = 'delay';
          await new Promise((r) => setTimeout(r, fault.delayMs));
        }
        if (fault?.drop) {
          entry.fault = 'drop';
          req.socket.destroy();
          return;
        }
        if (fault?.status) {
          entry.fault = `status:${fault.status}`;
          req.resume();
          const headers: Record<string, string> = {};
          if (fault.retryAfterSec !== undefined)
            headers['retry-after'] = String(fault.retryAfterSec);
          const code =
            fault.status === 429
              ? host === 'graph'
                ? 'TooManyRequests'
                : 'activityLimitReached'
              : fault.status === 503
                ? 'serviceNotAvailable'
                : 'generalException';
          const msg =
            fault.status === 429
              ? 'Too many requests'
              : fault.status === 503
                ? 'Service unavailable'
                : 'An unspecified error has occurred.';
          if (host === 'login')
            return sendJson(
              res,
              fault.status,
              { error: 'temporarily_unavailable', error_description: `AADSTS50196: ${msg}` },
              headers,
            );
          return sendGraphError(res, new HttpError(fault.status, code, msg, headers), requestId);
        }
        if (fault?.dropResponse) {
          entry.fault = 'dropResponse';
          const kill = () => {
            req.socket.destroy();
            return res;
          };
          res.writeHead = kill as typeof res.writeHead;
          res.end = kill as typeof res.end;
        }
        if (fault?.cutAfterBytes !== undefined) {
          entry.fault = `cut:${fault.cutAfterBytes}`;
          cutBodyAfter(req, res, fault.cutAfterBytes);
        }
        await serve(req, res, url);
      } catch (e) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (e instanceof HttpError) return sendGraphError(res, e, requestId);
        sendGraphError(
          res,
          new HttpError(500, 'generalException', `Emulator failure: ${(e as Error).message}`),
          requestId,
        );
      }
    };

  const mk = (h: ReturnType<typeof handler>) =>
    https.createServer({ key: pki.keyPem, cert: pki.certPem }, h);
  const loginServer = mk(
    handler(
      'login',
      () => 'metadata',
      (q, s, u) => entra.handle(q, s, u),
    ),
  );
  const graphServer = mk(
    handler(
      'graph',
      (m, u) => graph.classify(m, u),
      (q, s, u) => graph.handle(q, s, u),
    ),
  );
  const spServer = mk(
    handler(
      'sharepoint',
      (m, u) => sp.classify(m, u),
      (q, s, u) => sp.handle(q, s, u),
    ),
  );
  const listen = (srv: https.Server, addr: string) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, addr, () => resolve((srv.address() as AddressInfo).port));
    });
  origins.login = `https://127.0.0.1:${await listen(loginServer, '127.0.0.1')}`;
  origins.graph = `https://127.0.0.1:${await listen(graphServer, '127.0.0.1')}`;
  origins.sharepoint = `https://${spAddress}:${await listen(spServer, spAddress)}`;

  return {
    model,
    entra,
    graph,
    faults,
    requests,
    authorityHost: origins.login,
    graphBaseUrl: origins.graph,
    sharePointOrigin: origins.sharepoint,
    caPem: pki.caPem,
    graphRequests: (since = 0) => requests.filter((r) => r.host === 'graph').slice(since),
    addFault: (rule) => faults.add(rule),
    clearLog: () => {
      requests.length = 0;
    },
    async close() {
      for (const s of [loginServer, graphServer, spServer]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

/** Lets the first `limit` body bytes of the answer through, then destroys the socket. */
function cutBodyAfter(req: IncomingMessage, res: ServerResponse, limit: number): void {
  let left = limit;
  const write = res.write.bind(res) as (chunk: Buffer) => boolean;
  const pass = (chunk: unknown): Buffer | null => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return null;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    const part = buf.subarray(0, Math.max(0, left));
    left -= part.length;
    return part;
  };
  const cut = (): void => {
    res.flushHeaders();
    setTimeout(() => req.socket.destroy(), 50);
  };
  res.write = ((chunk: unknown) => {
    const part = pass(chunk);
    if (part?.length) write(part);
    if (left <= 0) cut();
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    const part = pass(chunk);
    if (part?.length) write(part);
    cut();
    return res;
  }) as typeof res.end;
}
