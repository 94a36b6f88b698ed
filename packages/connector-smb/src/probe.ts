import { AppError, ErrorCode, classifyError } from '@scaidrive/core';
import {
  SmbClient,
  type SmbClientOptions,
  type SmbSession,
  type Tree,
} from '@scaidrive/smb-client';
import { clientOptionsOf, normalizeBase, type SmbSourceConfig } from './config.js';

/** `error` of a failed probe (the API's `TestErrorCode` values this connector uses). */
export type SmbProbeError =
  | 'CONNECTOR_UNREACHABLE'
  | 'CONNECTOR_AUTH_FAILED'
  | 'CONNECTOR_SHARE_NOT_FOUND'
  | 'CONNECTOR_ERROR'
  | 'TIMEOUT';

/** `POST …/test` answer (the API's `TestOutcome`). */
export interface SmbProbeOutcome {
  success: boolean;
  /** For operators: what was checked and what to fix. Never contains the password. */
  message: string;
  error: SmbProbeError | null;
  details?: Record<string, unknown>;
}

export interface SmbProbeOptions {
  /** Client options (timeouts, dialects…); reconnect attempts are always 1. */
  client?: Partial<SmbClientOptions>;
  /** Replaces `SmbClient.connect` (tests). */
  connect?: (options: SmbClientOptions) => Promise<SmbSession>;
  /** Entries of base_path counted at most (default 1000). */
  maxEntries?: number;
}

type Stage = 'connect' | 'share' | 'path';

function ntstatus(err: unknown): string | undefined {
  const d =
    err instanceof AppError ? (err.details as { ntstatus?: unknown } | undefined) : undefined;
  return typeof d?.ntstatus === 'string' ? d.ntstatus : undefined;
}

function socketCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code) && code !== 'ERR') return code;
    const reason = (e as { details?: { reason?: unknown } }).details?.reason;
    if (typeof reason === 'string') return reason;
  }
  return undefined;
}

const SOCKET_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused — nothing listens on that port',
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS)',
  ETIMEDOUT: 'no answer — a firewall may drop the traffic',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the server closed the connection',
};

const AUTH_HINTS: Record<string, string> = {
  STATUS_ACCOUNT_DISABLED: 'the account is disabled',
  STATUS_ACCOUNT_LOCKED_OUT: 'the account is locked out',
  STATUS_PASSWORD_EXPIRED: 'the password has expired',
  STATUS_PASSWORD_MUST_CHANGE: 'the password must be changed before the account can log on',
  STATUS_ACCOUNT_RESTRICTION: 'an account restriction prevents this logon',
  STATUS_INVALID_LOGON_HOURS: 'the account may not log on at this time',
  STATUS_INVALID_WORKSTATION: 'the account may not log on from this machine',
};

/** A probe failure → the outcome an operator reads. */
export function describeProbeFailure(
  err: unknown,
  config: SmbSourceConfig,
  stage: Stage,
): SmbProbeOutcome {
  const host = `${config.serverHost}:${config.serverPort ?? 445}`;
  const unc = `\\\\${config.serverHost}\\${config.shareName}`;
  const who = config.domain ? `${config.domain}\\${config.username}` : config.username;
  const base = normalizeBase(config.basePath);
  const c = classifyError(err);
  const status = ntstatus(err);
  const raw = err instanceof Error ? err.message : String(err);
  const fail = (error: SmbProbeError, message: string): SmbProbeOutcome => ({
    success: false,
    error,
    message,
    details: { stage, ...(status ? { ntstatus: status } : {}) },
  });
  if (c.code === ErrorCode.CONFIG_INVALID)
    return fail(
      'CONNECTOR_UNREACHABLE',
      `This service may not connect to ${host}: ${raw}. Check server_host, or SOURCE_HOST_ALLOWLIST / SOURCE_HOST_DENYLIST.`,
    );
  if (c.code === ErrorCode.CONNECTOR_UNREACHABLE || c.code === ErrorCode.TIMEOUT) {
    const code = socketCode(err);
    const hint = (code && SOCKET_HINTS[code]) ?? (status ? `the session ended (${status})` : raw);
    return fail(
      c.code === ErrorCode.TIMEOUT ? 'TIMEOUT' : 'CONNECTOR_UNREACHABLE',
      `Cannot reach the SMB server at ${host}: ${hint}. Check server_host and server_port (usually 445) and that this service may connect to it.`,
    );
  }
  if (c.code === ErrorCode.CONNECTOR_AUTH_FAILED) {
    if (/sign/i.test(raw))
      return fail(
        'CONNECTOR_AUTH_FAILED',
        `The server requires SMB signing, which needs an authenticated (non-guest) logon: ${raw}. Use a real account.`,
      );
    if (/logged us in as (guest|anonymous)/i.test(raw))
      return fail(
        'CONNECTOR_AUTH_FAILED',
        `The server did not accept ${who} and offered a guest logon instead, which connectors refuse (files would be read without the account's rights, unsigned). Check username and domain: the server does not know this account, or maps bad logons to guest.`,
      );
    const hint = (status && AUTH_HINTS[status]) ?? 'wrong user name, password or domain';
    return fail(
      'CONNECTOR_AUTH_FAILED',
      `The server rejected the logon of ${who}: ${hint}${status ? ` (${status})` : ''}. Check username, password and domain.`,
    );
  }
  if (c.code === ErrorCode.CONNECTOR_SHARE_NOT_FOUND)
    return fail(
      'CONNECTOR_SHARE_NOT_FOUND',
      `The share "${config.shareName}" does not exist on ${config.serverHost}. Check share_name: it is the name after the server in ${unc}, without any folder.`,
    );
  if (c.code === ErrorCode.ITEM_ACCESS_DENIED) {
    if (stage === 'share')
      return fail(
        'CONNECTOR_AUTH_FAILED',
        `${who} logged on but may not open ${unc}${status === 'STATUS_ACCESS_DENIED' ? '' : ` (${status ?? raw})`}. Grant the account access to the share (share and folder permissions), or check whether the share requires SMB 3 encryption.`,
      );
    return fail(
      'CONNECTOR_AUTH_FAILED',
      `${who} may not list the folder "${base}" in ${unc}. Grant the account read access to it.`,
    );
  }
  if (c.code === ErrorCode.ITEM_NOT_FOUND || c.code === ErrorCode.PRECONDITION_FAILED)
    return fail(
      'CONNECTOR_SHARE_NOT_FOUND',
      `The folder "${base}" does not exist in ${unc}. Check base_path (relative to the share, e.g. "Projects/2026").`,
    );
  if (c.code === ErrorCode.NAME_INVALID || c.code === ErrorCode.VALIDATION_ERROR)
    return fail(
      'CONNECTOR_SHARE_NOT_FOUND',
      `The base_path "${base}" is not a valid SMB path (${raw}).`,
    );
  if (/encrypt/i.test(raw))
    return fail(
      'CONNECTOR_ERROR',
      `${unc} requires encryption, which needs SMB 3: ${raw}. Enable SMB 3 on the server.`,
    );
  if (status === 'STATUS_NOT_SUPPORTED' || /dialect/i.test(raw))
    return fail(
      'CONNECTOR_ERROR',
      `${host} did not agree on an SMB dialect (this service speaks SMB 2.0.2 to 3.1.1; SMB1-only servers are not supported): ${raw}.`,
    );
  return fail('CONNECTOR_ERROR', `The SMB test failed while ${STAGE_TEXT[stage]}: ${raw}.`);
}

const STAGE_TEXT: Record<Stage, string> = {
  connect: 'connecting and logging on',
  share: 'opening the share',
  path: 'listing base_path',
};

/**
 * The connectivity test: negotiate + session setup (NTLMv2; signing/encryption as the server
 * requires) + tree connect + list `base_path`. Never throws; never reports the password.
 */
export async function probeSmb(
  config: SmbSourceConfig,
  signal?: AbortSignal,
  options: SmbProbeOptions = {},
): Promise<SmbProbeOutcome> {
  const connect = options.connect ?? ((o: SmbClientOptions) => SmbClient.connect(o));
  const base = normalizeBase(config.basePath);
  let session: SmbSession | undefined;
  let stage: Stage = 'connect';
  const onAbort = () => void session?.close().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    session = await connect(
      clientOptionsOf(config, {
        connectTimeoutMs: 10_000,
        requestTimeoutMs: 15_000,
        ...options.client,
        reconnect: { attempts: 1 },
      }),
    );
    if (signal?.aborted) throw new AppError(ErrorCode.TIMEOUT, 'test aborted');
    stage = 'share';
    const tree: Tree = await session.openShare(config.shareName);
    stage = 'path';
    const st = await tree.stat(base);
    if (!st.isDirectory)
      return {
        success: false,
        error: 'CONNECTOR_SHARE_NOT_FOUND',
        message: `"${base}" in \\\\${config.serverHost}\\${config.shareName} is a file, not a folder. Check base_path.`,
        details: { stage },
      };
    let entries = 0;
    const max = options.maxEntries ?? 1000;
    for await (const _ of tree.list(base)) if (++entries >= max) break;
    const info = session.info;
    const protection = [
      info?.signing ? 'signed' : 'unsigned',
      info?.encryption || tree.encrypted ? 'encrypted' : 'not encrypted',
    ].join(', ');
    const where = `\\\\${config.serverHost}\\${config.shareName}${base ? `\\${base.replaceAll('/', '\\')}` : ''}`;
    const who = config.domain ? `${config.domain}\\${config.username}` : config.username;
    return {
      success: true,
      error: null,
      message: `Connected to ${where} as ${who} (SMB ${info?.dialect ?? '?'}, ${protection}); the folder lists ${entries >= max ? `${max}+` : entries} item${entries === 1 ? '' : 's'}.`,
      details: {
        dialect: info?.dialect,
        signing: info?.signing ?? false,
        encryption: (info?.encryption ?? false) || tree.encrypted,
        entries,
      },
    };
  } catch (err) {
    return describeProbeFailure(err, config, stage);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await session?.close().catch(() => undefined);
  }
}

/** The API's `ConnectorDriver` for kind `smb` (`POST /api/v1/smb-connectors/{id}/test`). */
export interface SmbConnectorDriver {
  readonly kind: 'smb';
  test(config: SmbSourceConfig, signal: AbortSignal): Promise<SmbProbeOutcome>;
}

export function createSmbDriver(options: SmbProbeOptions = {}): SmbConnectorDriver {
  return {
    kind: 'smb',
    test: (config, signal) => probeSmb(config, signal, options),
  };
}
