import { EventEmitter } from 'node:events';
import { Socket, connect as netConnect } from 'node:net';
import type { AppError } from '@scaidrive/core';
import type { SmbCipher } from '../crypto/cipher.js';
import type { Signer } from '../crypto/signing.js';
import { protocolError, unreachable } from '../errors.js';
import { NtStatus } from '../ntstatus.js';
import { COMMAND_NAMES, Command, HeaderFlag } from '../wire/constants.js';
import { FrameReceiver, frameHeader } from '../wire/framing.js';
import { BufferPool } from '../wire/pool.js';
import {
  HEADER_SIZE,
  readHeader,
  splitCompound,
  writeHeader,
  type Header,
} from '../wire/header.js';

/** One request to send; `body` is everything after the 64-byte header. */
export interface OutgoingRequest {
  command: number;
  body: Buffer[];
  treeId?: number;
  /** Credits this request consumes (multi-credit I/O); default 1. */
  creditCharge?: number;
  /** Part of a related compound chain (all but the first). */
  related?: boolean;
  /** Milliseconds; `null` = no timeout (long-lived CHANGE_NOTIFY). Default: the connection's. */
  timeoutMs?: number | null;
  /** Called with the AsyncId when the server answers STATUS_PENDING. */
  onInterim?: (asyncId: bigint) => void;
  /** Called with the exact plaintext bytes of this message as sent (pre-auth integrity). */
  onWire?: (raw: Buffer) => void;
}

export interface SendOptions {
  sessionId: bigint;
  /** Sign the request(s) with the session's signer. */
  sign: boolean;
  /** Encrypt with the session's cipher. */
  encrypt: boolean;
  /** Require responses to be signed (and verify them). */
  verify: boolean;
}

export interface Response {
  header: Header;
  /** The transport frame when it holds exactly this one unencrypted message (may be recycled). */
  frame?: Buffer;
  /** The whole message, header included (offsets in bodies are relative to its start). */
  message: Buffer;
  /** True when it arrived inside an encrypted transform message. */
  encrypted: boolean;
}

export interface SessionCrypto {
  signer?: Signer;
  cipher?: SmbCipher;
}

interface Pending {
  messageId: bigint;
  command: number;
  resolve: (r: Response) => void;
  reject: (e: Error) => void;
  deadline: number;
  timeoutMs: number | null;
  asyncId?: bigint;
  sessionId: bigint;
  verify: boolean;
  encrypt: boolean;
  onInterim?: (asyncId: bigint) => void;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Credits to keep asking for. */
  creditTarget?: number;
}

/**
 * One TCP connection to an SMB server: framing, message ids and the credit window, signing and
 * encryption of requests, verification and decryption of responses, STATUS_PENDING interim
 * responses, and a deadline on every request. Emits 'close' (with the error) once.
 */
export class Connection extends EventEmitter {
  private socket!: Socket;
  private readonly receiver: FrameReceiver;
  private nextMessageId = 0n;
  private credits = 1;
  private readonly pending = new Map<bigint, Pending>();
  /** Requests that hold credits but are not transmitted yet. */
  private grantedUnsent = 0;
  private readonly creditWaiters: { need: number; go: () => void; fail: (e: Error) => void }[] = [];
  private readonly sessions = new Map<bigint, SessionCrypto>();
  private sweeper: NodeJS.Timeout | undefined;
  private closedError: AppError | undefined;
  /** Large frame buffers handed back by the recycling download path. */
  readonly framePool = new BufferPool();
  /** Set after NEGOTIATE: 2.0.2 has no CreditCharge (always 0), later dialects do. */
  multiCredit = false;
  readonly creditTarget: number;

  private constructor(readonly opts: ConnectionOptions) {
    super();
    this.creditTarget = opts.creditTarget ?? 512;
    this.receiver = new FrameReceiver(
      (f) => this.onFrame(f),
      64 * 1024,
      undefined,
      (len) => this.framePool.take(len),
    );
  }

  static open(opts: ConnectionOptions): Promise<Connection> {
    const c = new Connection(opts);
    return c.start().then(() => c);
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  get availableCredits(): number {
    return this.credits;
  }

  private start(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.opts;
    return new Promise((resolve, reject) => {
      const sock = netConnect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: () => this.receiver.nextBuffer(),
          callback: (nread: number) => {
            try {
              this.receiver.onRead(nread);
            } catch (err) {
              this.fail(err as AppError);
              return false;
            }
            return true;
          },
        },
      });
      this.socket = sock;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(
          unreachable(`SMB server ${host}:${port} did not accept a connection in time`, {
            host,
            reason: 'timeout',
          }),
        );
      }, connectTimeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
        reject(
          unreachable(
            `Cannot connect to SMB server ${host}:${port} (${code})`,
            { host, reason: code },
            err,
          ),
        );
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.off('error', onError);
        sock.on('error', (err) => {
          const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
          this.fail(
            unreachable(
              `SMB connection to ${host}:${port} failed (${code})`,
              { host, reason: code },
              err,
            ),
          );
        });
        sock.on('close', () => {
          this.fail(
            unreachable(`SMB connection to ${host}:${port} closed`, { host, reason: 'closed' }),
          );
        });
        this.sweeper = setInterval(() => this.sweep(), 250);
        this.sweeper.unref();
        resolve();
      });
    });
  }

  setSessionCrypto(sessionId: bigint, c: SessionCrypto): void {
    this.sessions.set(sessionId, c);
  }

  /** Closes the socket; pending requests fail with `err` (default: closed by the client). */
  close(err?: AppError): void {
    this.fail(
      err ??
        unreachable('SMB connection closed by the client', {
          host: this.opts.host,
          reason: 'client-close',
        }),
    );
  }

  private fail(err: AppError): void {
    if (this.closedError) return;
    this.closedError = err;
    if (this.sweeper) clearInterval(this.sweeper);
    this.socket.destroy();
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
    for (const w of this.creditWaiters.splice(0)) w.fail(err);
    this.emit('close', err);
  }

  private sweep(): void {
    const now = Date.now();
    for (const p of this.pending.values()) {
      if (p.timeoutMs !== null && now > p.deadline) {
        const name = COMMAND_NAMES[p.command] ?? String(p.command);
        this.fail(
          unreachable(`SMB server did not answer ${name} within ${p.timeoutMs} ms`, {
            host: this.opts.host,
            command: name,
            reason: 'timeout',
          }),
        );
        return;
      }
    }
  }

  /**
   * Takes `need` credits, in FIFO order: a waiter's credits are reserved when it is woken, so later
   * callers never overtake it.
   */
  private acquireCredits(need: number): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.creditWaiters.length === 0 && this.credits >= need) {
      this.credits -= need;
      this.grantedUnsent++;
      return Promise.resolve();
    }
    if (this.pending.size === 0 && this.grantedUnsent === 0 && this.creditWaiters.length === 0) {
      // Nothing in flight will grant more: the server starved us.
      return Promise.reject(
        protocolError('no SMB credits available', { need, have: this.credits }),
      );
    }
    return new Promise((go, fail) => this.creditWaiters.push({ need, go, fail }));
  }

  private wakeCreditWaiters(): void {
    while (this.creditWaiters.length > 0 && this.credits >= this.creditWaiters[0]!.need) {
      const w = this.creditWaiters.shift()!;
      this.credits -= w.need;
      this.grantedUnsent++;
      w.go();
    }
  }

  private checkStarved(): void {
    if (
      this.pending.size === 0 &&
      this.grantedUnsent === 0 &&
      this.creditWaiters.length > 0 &&
      this.credits < this.creditWaiters[0]!.need
    ) {
      const err = protocolError('no SMB credits available', {
        need: this.creditWaiters[0]!.need,
        have: this.credits,
      });
      for (const w of this.creditWaiters.splice(0)) w.fail(err);
    }
  }

  /** Sends one request; resolves with its final response (whatever its status). */
  send(req: OutgoingRequest, opts: SendOptions): Promise<Response> {
    return this.sendCompound([req], opts)[0]!;
  }

  /**
   * Sends requests as one compound (related when `related` is set on the followers). Returns one
   * promise per request. Credits for the whole chain are taken at once.
   */
  sendCompound(reqs: OutgoingRequest[], opts: SendOptions): Promise<Response>[] {
    const deferred = reqs.map(() => {
      let resolve!: (r: Response) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<Response>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    });
    const charges = reqs.map((r) => (this.multiCredit ? Math.max(1, r.creditCharge ?? 1) : 1));
    const total = charges.reduce((a, b) => a + b, 0);
    this.acquireCredits(total).then(
      () => {
        try {
          this.transmit(reqs, charges, opts, deferred);
        } catch (err) {
          for (const d of deferred) d.reject(err as Error);
        } finally {
          this.grantedUnsent--;
          this.checkStarved();
        }
      },
      (err: Error) => {
        for (const d of deferred) d.reject(err);
      },
    );
    return deferred.map((d) => d.promise);
  }

  private transmit(
    reqs: OutgoingRequest[],
    charges: number[],
    opts: SendOptions,
    deferred: { resolve: (r: Response) => void; reject: (e: Error) => void }[],
  ): void {
    if (this.closedError) throw this.closedError;
    const crypto = this.sessions.get(opts.sessionId);
    if (opts.sign && !crypto?.signer)
      throw protocolError('signing requested without a signing key');
    if (opts.encrypt && !crypto?.cipher) throw protocolError('encryption requested without a key');
    const wire: Buffer[] = [];
    let total = 0;
    const now = Date.now();
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i]!;
      const charge = charges[i]!;
      const messageId = this.nextMessageId;
      this.nextMessageId += BigInt(charge);
      let bodyLen = 0;
      for (const p of req.body) bodyLen += p.length;
      const last = i === reqs.length - 1;
      const unpadded = HEADER_SIZE + bodyLen;
      const padded = last ? unpadded : (unpadded + 7) & ~7;
      const header = Buffer.allocUnsafe(HEADER_SIZE);
      // Ask for enough to refill towards the target window.
      const deficit = Math.max(0, this.creditTarget - this.credits);
      const creditRequest = Math.min(8192, charge + Math.min(deficit, 256));
      let flags = 0;
      if (req.related) flags |= HeaderFlag.RELATED_OPERATIONS;
      if (opts.sign && !opts.encrypt) flags |= HeaderFlag.SIGNED;
      writeHeader(header, {
        command: req.command,
        creditCharge: this.multiCredit ? charge : 0,
        creditRequest: req.command === Command.NEGOTIATE ? 1 : creditRequest,
        flags,
        nextCommand: last ? 0 : padded,
        messageId,
        treeId: req.treeId ?? 0,
        sessionId: opts.sessionId,
      });
      const parts = [header, ...req.body];
      if (padded > unpadded) parts.push(Buffer.alloc(padded - unpadded));
      if (opts.sign && !opts.encrypt) crypto!.signer!.sign(parts);
      if (req.onWire) req.onWire(Buffer.concat(parts));
      wire.push(...parts);
      total += padded;
      const timeoutMs = req.timeoutMs === undefined ? this.opts.requestTimeoutMs : req.timeoutMs;
      const entry: Pending = {
        messageId,
        command: req.command,
        resolve: deferred[i]!.resolve,
        reject: deferred[i]!.reject,
        deadline: now + (timeoutMs ?? 0),
        timeoutMs,
        sessionId: opts.sessionId,
        verify: opts.verify,
        encrypt: opts.encrypt,
      };
      if (req.onInterim) entry.onInterim = req.onInterim;
      this.pending.set(messageId, entry);
    }
    let out = wire;
    if (opts.encrypt) {
      out = crypto!.cipher!.encrypt(wire, opts.sessionId);
      total = out.reduce((n, p) => n + p.length, 0);
    }
    const s = this.socket;
    s.cork();
    s.write(frameHeader(total));
    for (const p of out) s.write(p);
    s.uncork();
  }

  /** CANCEL for a pending request ([MS-SMB2] 3.2.4.24); consumes no credits, no response. */
  cancel(messageId: bigint, opts: SendOptions): void {
    const p = this.pending.get(messageId);
    if (!p || this.closedError) return;
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    const body = Buffer.from([4, 0, 0, 0]);
    let flags = 0;
    if (p.asyncId !== undefined) flags |= HeaderFlag.ASYNC_COMMAND;
    if (opts.sign && !opts.encrypt) flags |= HeaderFlag.SIGNED;
    const fields = {
      command: Command.CANCEL,
      creditCharge: 0,
      creditRequest: 0,
      flags,
      // The original MessageId even for async cancels (AES-GMAC nonces must not use 0).
      messageId,
      sessionId: opts.sessionId,
    };
    writeHeader(header, p.asyncId !== undefined ? { ...fields, asyncId: p.asyncId } : fields);
    const parts: Buffer[] = [header, body];
    const crypto = this.sessions.get(opts.sessionId);
    if (opts.sign && !opts.encrypt && crypto?.signer) crypto.signer.sign(parts);
    let out = parts;
    if (opts.encrypt && crypto?.cipher) out = crypto.cipher.encrypt(parts, opts.sessionId);
    const total = out.reduce((n, b) => n + b.length, 0);
    this.socket.cork();
    this.socket.write(frameHeader(total));
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  }

  /** Stops waiting for a request (its answer, if any, is ignored); rejects it with `err`. */
  abandon(messageId: bigint, err: Error): void {
    const p = this.pending.get(messageId);
    if (!p) return;
    this.pending.delete(messageId);
    p.reject(err);
  }

  /** True while a request awaits its final answer. */
  isPending(messageId: bigint): boolean {
    return this.pending.has(messageId);
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) throw protocolError('frame too short');
    const proto = frame.readUInt32LE(0);
    let plain = frame;
    let encrypted = false;
    if (proto === 0x424d53fd) {
      if (frame.length < 52) throw protocolError('truncated transform header');
      const sid = frame.readBigUInt64LE(44);
      const cipher = this.sessions.get(sid)?.cipher;
      if (!cipher) throw protocolError('encrypted message for an unknown session');
      plain = cipher.decrypt(frame, sid).plain;
      encrypted = true;
    } else if (proto !== 0x424d53fe) {
      throw protocolError('unsupported SMB message', { protocolId: proto.toString(16) });
    }
    const messages = splitCompound(plain);
    const single = !encrypted && messages.length === 1 ? frame : undefined;
    for (const message of messages) this.onMessage(message, encrypted, single);
  }

  private onMessage(message: Buffer, encrypted: boolean, frame?: Buffer): void {
    const header = readHeader(message);
    if (!(header.flags & HeaderFlag.SERVER_TO_REDIR))
      throw protocolError('request received from server');
    if (header.messageId === 0xffffffffffffffffn) return; // oplock/lease break notification: we hold none
    const p = this.pending.get(header.messageId);
    if (header.credits > 0) {
      this.credits += header.credits;
      this.wakeCreditWaiters();
    }
    if (!p) return; // a late answer to something we gave up on
    if (p.command !== header.command) {
      this.pending.delete(header.messageId);
      p.reject(protocolError('response command does not match request'));
      return;
    }
    const isInterim =
      header.status === NtStatus.PENDING && (header.flags & HeaderFlag.ASYNC_COMMAND) !== 0;
    // Verification: encrypted sessions must answer encrypted; signed ones signed.
    if (p.encrypt && !encrypted) {
      if (isInterim) return;
      this.pending.delete(header.messageId);
      p.reject(protocolError('unencrypted response on an encrypted session'));
      return;
    }
    if (p.verify && !encrypted) {
      const signer = this.sessions.get(p.sessionId)?.signer;
      const signed = (header.flags & HeaderFlag.SIGNED) !== 0;
      if (!(isInterim && !signed)) {
        if (!signer || !signed || !signer.verify(message)) {
          this.pending.delete(header.messageId);
          p.reject(
            protocolError('response signature missing or invalid', {
              command: COMMAND_NAMES[header.command],
            }),
          );
          return;
        }
      }
    }
    if (isInterim) {
      p.asyncId = header.asyncId;
      p.deadline = Date.now() + (p.timeoutMs ?? 0) * 4;
      p.onInterim?.(header.asyncId);
      return;
    }
    this.pending.delete(header.messageId);
    const res: Response = { header, message, encrypted };
    if (frame) res.frame = frame;
    p.resolve(res);
    this.checkStarved();
  }

  /** Message ids currently awaiting an answer. */
  get inFlight(): number {
    return this.pending.size;
  }
}

export { Socket };
