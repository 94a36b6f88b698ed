import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';

/**
 * Watches every outgoing connection this process makes through global fetch (undici's diagnostics
 * channels) and `http(s).request` (Node's `http.client.request.start`), and records any whose
 * host is not a 127.0.0.0/8 address. Tests assert `violations` is empty to prove that nothing
 * leaves loopback.
 */
export interface LoopbackGuard {
  /** Every host:port connected to. */
  readonly connections: string[];
  /** Hosts outside 127.0.0.0/8. */
  readonly violations: string[];
  dispose(): void;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (net.isIPv4(h)) return h.startsWith('127.');
  return false;
}

export function installLoopbackGuard(): LoopbackGuard {
  const connections: string[] = [];
  const violations: string[] = [];
  const record = (host: string, port: unknown) => {
    const hp = `${host}:${String(port)}`;
    connections.push(hp);
    if (!isLoopback(host)) violations.push(hp);
  };
  const onConnect = (msg: unknown) => {
    const m = msg as { connectParams?: { hostname?: string; host?: string; port?: unknown } };
    const p = m.connectParams;
    if (p) record(p.hostname ?? p.host ?? '', p.port);
  };
  const onConnected = (msg: unknown) => {
    const s = (msg as { socket?: net.Socket }).socket;
    if (s?.remoteAddress && !isLoopback(s.remoteAddress))
      violations.push(`${s.remoteAddress}:${s.remotePort}`);
  };
  const onHttp = (msg: unknown) => {
    const req = (msg as { request?: { host?: string; socket?: net.Socket } }).request;
    if (req?.host) record(req.host, '');
  };
  diagnostics.subscribe('undici:client:beforeConnect', onConnect);
  diagnostics.subscribe('undici:client:connected', onConnected);
  diagnostics.subscribe('http.client.request.start', onHttp);
  return {
    connections,
    violations,
    dispose() {
      diagnostics.unsubscribe('undici:client:beforeConnect', onConnect);
      diagnostics.unsubscribe('undici:client:connected', onConnected);
      diagnostics.unsubscribe('http.client.request.start', onHttp);
    },
  };
}
