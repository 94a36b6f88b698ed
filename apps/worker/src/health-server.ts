import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** `/healthz` (process alive), `/readyz` (database and queue reachable), `/metrics` (Prometheus). */
export class HealthServer {
  private server: http.Server | undefined;
  private shuttingDown = false;

  constructor(
    private readonly registry: Registry,
    private readonly checks: ReadinessCheck[],
  ) {}

  /** After SIGTERM: readiness goes false so no new traffic is routed here. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async listen(port: number, host: string): Promise<number> {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections?.();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET')
      return send(res, 405, { status: 'error', error: 'method not allowed' });
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const results: Record<string, string> = {};
      let ok = !this.shuttingDown;
      if (this.shuttingDown) results.shutdown = 'in progress';
      await Promise.all(
        this.checks.map(async (c) => {
          try {
            await withTimeout(c.check(), 3000);
            results[c.name] = 'ok';
          } catch {
            ok = false;
            results[c.name] = 'unavailable';
          }
        }),
      );
      return send(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready', checks: results });
    }
    if (path === '/metrics') {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(body);
      return;
    }
    send(res, 404, { status: 'error', error: 'not found' });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
