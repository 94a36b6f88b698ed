import { createHash } from 'node:crypto';
import { CancelledError } from '@scaidrive/core';
import {
  SmbClient,
  type SmbClientOptions,
  type SmbSession,
  type Tree,
} from '@scaidrive/smb-client';
import { clientOptionsOf, type SmbConnectionConfig } from './config.js';
import { toSmbError } from './errors.js';
import { Semaphore } from './semaphore.js';
import { SidResolver } from './sid-resolver.js';

export interface SessionPoolOptions {
  /** Close a session this long after its last lease was released (default 0: right away). */
  idleMs?: number;
  /** Client options for every session (timeouts, dialects, signing, I/O depth…). */
  client?: Partial<SmbClientOptions>;
  /** Directory listings in flight per session (default 8). */
  listConcurrency?: number;
  /** Replaces `SmbClient.connect` (tests). */
  connect?: (options: SmbClientOptions) => Promise<SmbSession>;
}

/** One use of a pooled session; `release()` when done (the session stays for other leases). */
export interface SmbLease {
  readonly session: SmbSession;
  /** The connector's share, tree-connected (again after a reconnect, by the client). */
  readonly tree: Tree;
  /** SID ↔ name cache of this session. */
  readonly sids: SidResolver;
  /** Bounds concurrent directory listings on this session. */
  readonly listLimit: Semaphore;
  release(): Promise<void>;
}

interface Entry {
  key: string;
  ready: Promise<{ session: SmbSession; tree: Tree }>;
  refs: number;
  timer: NodeJS.Timeout | undefined;
  sids: SidResolver | undefined;
  listLimit: Semaphore;
  closing: Promise<void> | undefined;
}

function fingerprint(c: SmbConnectionConfig, client: Partial<SmbClientOptions>): string {
  const h = createHash('sha256');
  for (const v of [
    c.serverHost,
    String(c.serverPort ?? 445),
    c.shareName.toUpperCase(),
    c.domain ?? '',
    c.username,
    c.password,
    JSON.stringify(client, (_k, v: unknown) => (typeof v === 'function' ? String(v) : v)),
  ])
    h.update(v).update('\u0000');
  return h.digest('hex').slice(0, 32);
}

/**
 * Authenticated SMB sessions shared per connector within one process: every source, probe or
 * identity lookup of a connector leases the same session (one TCP connection, one NTLM logon, one
 * tree connect), and its requests are multiplexed on it with SMB credits. The client re-establishes
 * the connection, session and tree after a drop. A changed configuration (password rotated, host
 * moved) gets a new session; the old one closes when its last lease is released.
 */
export class SmbSessionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private readonly client: Partial<SmbClientOptions>;
  private readonly listConcurrency: number;
  private readonly connectFn: (options: SmbClientOptions) => Promise<SmbSession>;

  constructor(options: SessionPoolOptions = {}) {
    this.idleMs = Math.max(0, options.idleMs ?? 0);
    this.client = options.client ?? {};
    this.listConcurrency = options.listConcurrency ?? 8;
    this.connectFn = options.connect ?? ((o) => SmbClient.connect(o));
  }

  /** Sessions currently open or opening. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A lease on the connector's session, connecting (negotiate, session setup, tree connect) when
   * there is none. Connection failures are classified (AuthFailedError, UnreachableError,
   * CONNECTOR_SHARE_NOT_FOUND).
   */
  async acquire(config: SmbConnectionConfig, signal?: AbortSignal): Promise<SmbLease> {
    if (signal?.aborted) throw new CancelledError();
    const key = `${config.id}:${fingerprint(config, this.client)}`;
    let entry = this.entries.get(key);
    if (!entry || entry.closing) {
      entry = this.open(key, config);
      this.entries.set(key, entry);
    }
    const e = entry;
    e.refs++;
    if (e.timer) {
      clearTimeout(e.timer);
      e.timer = undefined;
    }
    let opened: { session: SmbSession; tree: Tree };
    try {
      opened = await abortable(e.ready, signal);
    } catch (err) {
      await this.release(e);
      throw toSmbError(err, { op: 'connect' });
    }
    e.sids ??= new SidResolver(opened.session);
    let released = false;
    return {
      session: opened.session,
      tree: opened.tree,
      sids: e.sids,
      listLimit: e.listLimit,
      release: async () => {
        if (released) return;
        released = true;
        await this.release(e);
      },
    };
  }

  private open(key: string, config: SmbConnectionConfig): Entry {
    const ready = (async () => {
      const session = await this.connectFn(clientOptionsOf(config, this.client));
      try {
        const tree = await session.openShare(config.shareName);
        return { session, tree };
      } catch (err) {
        await session.close().catch(() => undefined);
        throw err;
      }
    })();
    // A failed connect leaves nothing behind: the next acquire tries again.
    ready.catch(() => {
      if (this.entries.get(key)?.ready === ready) this.entries.delete(key);
    });
    return {
      key,
      ready,
      refs: 0,
      timer: undefined,
      sids: undefined,
      listLimit: new Semaphore(this.listConcurrency),
      closing: undefined,
    };
  }

  private async release(e: Entry): Promise<void> {
    e.refs = Math.max(0, e.refs - 1);
    if (e.refs > 0 || e.closing) return;
    if (this.idleMs === 0) return this.close(e);
    e.timer = setTimeout(() => void this.close(e), this.idleMs);
    e.timer.unref();
  }

  private close(e: Entry): Promise<void> {
    e.closing ??= (async () => {
      if (e.timer) clearTimeout(e.timer);
      if (this.entries.get(e.key) === e) this.entries.delete(e.key);
      const opened = await e.ready.catch(() => undefined);
      await opened?.session.close().catch(() => undefined);
    })();
    return e.closing;
  }

  /** Closes every session (process shutdown). Leases still out fail on their next request. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.close(e)));
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
