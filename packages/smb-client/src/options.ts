import { ValidationError } from '@scaidrive/core';
import type { AuthMechanism, PasswordCredentials } from './auth/mechanism.js';
import { ALL_DIALECTS } from './messages/negotiate.js';

export interface ReconnectOptions {
  /** Attempts per re-establishment before giving up (default 4). */
  attempts?: number;
  /** First backoff delay (default 250 ms), doubled each attempt up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface SmbClientOptions {
  /** Server name: used for the SPN, the UNC paths and (unless `resolveAddresses`) to connect. */
  host: string;
  /**
   * The addresses to open the TCP connection to for `host`, tried in order, asked on every
   * (re)connect — e.g. after an SSRF check of what the name resolves to now. Its errors end that
   * attempt (a `fail_job` error ends the connect).
   */
  resolveAddresses?: (host: string) => Promise<string[]>;
  /** TCP port (default 445). */
  port?: number;
  domain?: string;
  username: string;
  password: string;
  /** NetBIOS name of this machine (default SCAIDRIVE). */
  workstation?: string;
  /** Accept a guest or anonymous session (default false: refused with AuthFailedError). */
  allowGuest?: boolean;
  /** Sign every request even when the server does not require it. */
  requireSigning?: boolean;
  /** Encrypt every request (needs SMB 3.x); servers/shares that require it are honoured anyway. */
  requireEncryption?: boolean;
  /** Dialects to offer (default 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1). */
  dialects?: number[];
  /** Per-request deadline (default 30 s). The connection is dropped when it passes. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  /** Upper bound for one READ/WRITE (default 1 MiB; the server's maximum applies too). */
  maxIoSize?: number;
  /** Requests in flight per stream (default 8). */
  ioDepth?: number;
  /** Cipher ids to offer for 3.1.1, in order of preference. */
  ciphers?: number[];
  /** Signing algorithm ids to offer for 3.1.1, in order of preference. */
  signingAlgorithms?: number[];
  /** Replace NTLM with another mechanism (e.g. Kerberos); gets the credentials. */
  authMechanism?: (creds: PasswordCredentials) => AuthMechanism;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  creds: PasswordCredentials;
  allowGuest: boolean;
  requireSigning: boolean;
  requireEncryption: boolean;
  dialects: number[];
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  reconnect: Required<ReconnectOptions>;
  maxIoSize: number;
  ioDepth: number;
  ciphers?: number[];
  signingAlgorithms?: number[];
  authMechanism?: (creds: PasswordCredentials) => AuthMechanism;
  resolveAddresses?: (host: string) => Promise<string[]>;
}

export function resolveOptions(o: SmbClientOptions): ResolvedOptions {
  const issues: { field: string; reason: string }[] = [];
  if (!o.host) issues.push({ field: 'host', reason: 'required' });
  const port = o.port ?? 445;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    issues.push({ field: 'port', reason: 'must be 1-65535' });
  if (typeof o.username !== 'string') issues.push({ field: 'username', reason: 'required' });
  if (typeof o.password !== 'string') issues.push({ field: 'password', reason: 'required' });
  const dialects = o.dialects ?? ALL_DIALECTS;
  if (!dialects.length || dialects.some((d) => !ALL_DIALECTS.includes(d as never)))
    issues.push({ field: 'dialects', reason: 'unknown dialect' });
  if (issues.length) throw new ValidationError('Invalid SMB client options', issues);
  const r: ResolvedOptions = {
    host: o.host,
    port,
    creds: {
      domain: o.domain ?? '',
      username: o.username,
      password: o.password,
      workstation: (o.workstation ?? 'SCAIDRIVE').toUpperCase(),
    },
    allowGuest: o.allowGuest ?? false,
    requireSigning: o.requireSigning ?? false,
    requireEncryption: o.requireEncryption ?? false,
    dialects: [...dialects].sort((a, b) => a - b),
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    reconnect: {
      attempts: o.reconnect?.attempts ?? 4,
      baseDelayMs: o.reconnect?.baseDelayMs ?? 250,
      maxDelayMs: o.reconnect?.maxDelayMs ?? 5_000,
    },
    maxIoSize: Math.max(65536, o.maxIoSize ?? 1024 * 1024),
    ioDepth: Math.max(1, o.ioDepth ?? 8),
  };
  if (o.ciphers) r.ciphers = o.ciphers;
  if (o.signingAlgorithms) r.signingAlgorithms = o.signingAlgorithms;
  if (o.authMechanism) r.authMechanism = o.authMechanism;
  if (o.resolveAddresses) r.resolveAddresses = o.resolveAddresses;
  return r;
}
