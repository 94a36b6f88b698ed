import { EventEmitter } from 'node:events';
import { AppError, ErrorCode } from '@scaidrive/core';
import { isSessionGoneStatus, ntStatusError } from './errors.js';
import { NtlmMechanism } from './ntlm/mechanism.js';
import { resolveOptions, type ResolvedOptions, type SmbClientOptions } from './options.js';
import { Connection, type OutgoingRequest, type Response } from './session/connection.js';
import {
  authenticate,
  negotiate,
  sendOptions,
  treeConnect,
  validateNegotiate,
  type Negotiated,
  type SessionState,
  type TreeState,
} from './session/establish.js';
import { encodeEmpty } from './messages/session.js';
import { Command, Dialect } from './wire/constants.js';
import { Tree } from './tree/tree.js';
import { LsaClient, type LookupNamesResult, type ResolvedSid } from './rpc/lsa.js';

/** A live connection + authenticated session; replaced as a whole on reconnect. */
export interface Link {
  conn: Connection;
  neg: Negotiated;
  session: SessionState;
  generation: number;
}

export interface ConnectionInfo {
  dialect: string;
  signing: boolean;
  encryption: boolean;
  cipher: number;
  signingAlgorithm: number;
  maxReadSize: number;
  maxWriteSize: number;
  maxTransactSize: number;
}

const DIALECT_NAMES: Record<number, string> = {
  [Dialect.SMB202]: '2.0.2',
  [Dialect.SMB210]: '2.1',
  [Dialect.SMB300]: '3.0',
  [Dialect.SMB302]: '3.0.2',
  [Dialect.SMB311]: '3.1.1',
};

/**
 * An authenticated SMB session to one server. Events (never with credentials):
 * `connect` (ConnectionInfo), `disconnect` ({ code, message }), `reconnect` ({ attempt }).
 */
export class SmbSession extends EventEmitter {
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private generation = 0;
  private closedByUser = false;
  private lsa: LsaClient | undefined;

  /** @internal use SmbClient.connect */
  constructor(readonly options: ResolvedOptions) {
    super();
  }

  /** Negotiated parameters of the current connection. */
  get info(): ConnectionInfo | undefined {
    const l = this.link;
    if (!l) return undefined;
    return {
      dialect: DIALECT_NAMES[l.neg.dialect] ?? l.neg.dialect.toString(16),
      signing: l.session.signing,
      encryption: l.session.encryptData,
      cipher: l.neg.cipherId,
      signingAlgorithm: l.neg.signingAlgorithm,
      maxReadSize: l.neg.maxReadSize,
      maxWriteSize: l.neg.maxWriteSize,
      maxTransactSize: l.neg.maxTransactSize,
    };
  }

  /** The live link; re-establishes the connection (with backoff) when it dropped. */
  async getLink(): Promise<Link> {
    if (this.closedByUser)
      throw new AppError(ErrorCode.CANCELLED, 'SMB session was closed', { action: 'fail_job' });
    if (this.link && !this.link.conn.closed) return this.link;
    if (!this.connecting) {
      const first = this.generation === 0;
      this.connecting = this.establishWithRetry(first).finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  /** Drops the current connection (if any) and establishes a new one. */
  async reconnect(): Promise<void> {
    this.link?.conn.close();
    this.link = undefined;
    await this.getLink();
  }

  private async establishWithRetry(first: boolean): Promise<Link> {
    const { attempts, baseDelayMs, maxDelayMs } = this.options.reconnect;
    let lastErr: unknown;
    const tries = first ? 1 : attempts;
    for (let attempt = 1; attempt <= tries; attempt++) {
      if (!first) this.emit('reconnect', { attempt });
      try {
        return await this.establish();
      } catch (err) {
        lastErr = err;
        // Credentials or configuration will not get better by retrying.
        if (err instanceof AppError && err.action === 'fail_job') throw err;
        if (attempt < tries) {
          const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
        }
      }
    }
    throw lastErr;
  }

  /** TCP to the server: to `host`, or to each address `resolveAddresses` gives until one answers. */
  private async openConnection(): Promise<Connection> {
    const o = this.options;
    const addresses = o.resolveAddresses ? await o.resolveAddresses(o.host) : [o.host];
    let lastErr: unknown;
    for (const address of addresses) {
      try {
        return await Connection.open({
          host: address,
          port: o.port,
          connectTimeoutMs: o.connectTimeoutMs,
          requestTimeoutMs: o.requestTimeoutMs,
        });
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private async establish(): Promise<Link> {
    const o = this.options;
    const conn = await this.openConnection();
    try {
      const negOpts = {
        dialects: o.dialects,
        requireSigning: o.requireSigning,
        serverName: o.host,
        ...(o.ciphers ? { ciphers: o.ciphers } : {}),
        ...(o.signingAlgorithms ? { signingAlgorithms: o.signingAlgorithms } : {}),
      };
      const neg = await negotiate(conn, negOpts);
      const mech = o.authMechanism
        ? o.authMechanism(o.creds)
        : new NtlmMechanism(o.creds, { targetSpn: `cifs/${o.host}` });
      const session = await authenticate(conn, neg, mech, {
        requireSigning: o.requireSigning,
        requireEncryption: o.requireEncryption,
        allowGuest: o.allowGuest,
      });
      const link: Link = { conn, neg, session, generation: ++this.generation };
      conn.once('close', (err: AppError) => {
        if (this.link === link) this.link = undefined;
        if (!this.closedByUser) this.emit('disconnect', { code: err.code, message: err.message });
      });
      this.link = link;
      this.emit('connect', this.info);
      return link;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Sends requests (a compound when more than one) on the given link with the session's protection. */
  exec(link: Link, reqs: OutgoingRequest[], treeEncrypt = false): Promise<Response>[] {
    const opts = sendOptions(link.session, treeEncrypt);
    return reqs.length === 1
      ? [link.conn.send(reqs[0]!, opts)]
      : link.conn.sendCompound(reqs, opts);
  }

  /** Handles statuses meaning "session gone": drop the link so the next call re-establishes. */
  noteStatus(link: Link, status: number): void {
    if (isSessionGoneStatus(status) && this.link === link) {
      link.conn.close();
    }
  }

  /** @internal tree connect on the current link. */
  async connectTree(link: Link, share: string): Promise<TreeState> {
    const t = await treeConnect(
      link.conn,
      link.neg,
      link.session,
      `\\\\${this.options.host}\\${share}`,
      share,
    );
    if (share.toUpperCase() !== 'IPC$')
      await validateNegotiate(link.conn, link.neg, link.session, t);
    return t;
  }

  /** Opens a share; the tree connect happens now (so a bad share name fails here) and after reconnects. */
  async openShare(name: string): Promise<Tree> {
    const tree = new Tree(this, name);
    await tree.connect();
    return tree;
  }

  /** ECHO round trip. */
  async echo(): Promise<void> {
    const link = await this.getLink();
    const [p] = this.exec(link, [{ command: Command.ECHO, body: encodeEmpty() }]);
    const res = await p!;
    if (res.header.status !== 0) throw ntStatusError(res.header.status, { command: 'ECHO' });
  }

  private lsaClient(): LsaClient {
    this.lsa ??= new LsaClient(this);
    return this.lsa;
  }

  /** SIDs → names via LSARPC (cached; well-known SIDs resolved locally). */
  lookupSids(sids: string[]): Promise<Map<string, ResolvedSid>> {
    return this.lsaClient().lookupSids(sids);
  }

  /** `DOMAIN\name` or `name` → SIDs via LSARPC. */
  lookupNames(
    names: string[],
    o: { fresh?: boolean } = {},
  ): Promise<Map<string, LookupNamesResult>> {
    return this.lsaClient().lookupNames(names, o);
  }

  /** Logs off and closes the connection. */
  async close(): Promise<void> {
    if (this.closedByUser) return;
    if (this.link && !this.link.conn.closed) await this.lsa?.close().catch(() => undefined);
    this.closedByUser = true;
    const link = this.link;
    this.link = undefined;
    if (!link || link.conn.closed) return;
    try {
      const [p] = link.conn.sendCompound(
        [{ command: Command.LOGOFF, body: encodeEmpty(), timeoutMs: 2000 }],
        sendOptions(link.session),
      );
      await p!.catch(() => undefined);
    } finally {
      link.conn.close();
    }
  }
}

export class SmbClient {
  /** Connects, negotiates and authenticates. Errors: AuthFailedError, UnreachableError, ValidationError. */
  static async connect(options: SmbClientOptions): Promise<SmbSession> {
    const session = new SmbSession(resolveOptions(options));
    await session.getLink();
    return session;
  }
}
