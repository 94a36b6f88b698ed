import {
  AppError,
  AuthFailedError,
  CancelledError,
  ErrorCode,
  ItemError,
  UnreachableError,
  type AppErrorOptions,
} from '@scaidrive/core';
import { NtStatus, hex32, ntStatusName } from './ntstatus.js';

/** Where an error happened: safe to show (never credentials). */
export interface SmbErrorContext {
  command?: string;
  path?: string;
  share?: string;
  host?: string;
}

/** Malformed, truncated or unexpected data from the server (or a broken protocol invariant). */
export class SmbProtocolError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.PROTOCOL_ERROR, message, { action: 'retry', ...options });
  }
}

/** Shorthand used by the parsers. */
export function protocolError(
  message: string,
  details?: Record<string, unknown>,
): SmbProtocolError {
  return new SmbProtocolError(`SMB protocol error: ${message}`, details ? { details } : {});
}

/** The server answered a request with an NTSTATUS this client could not classify more precisely. */
export interface NtStatusDetails extends SmbErrorContext {
  ntstatus: string;
  ntstatusCode: string;
}

const AUTH = new Set<number>([
  NtStatus.LOGON_FAILURE,
  NtStatus.WRONG_PASSWORD,
  NtStatus.NO_SUCH_USER,
  NtStatus.ACCOUNT_DISABLED,
  NtStatus.ACCOUNT_LOCKED_OUT,
  NtStatus.ACCOUNT_RESTRICTION,
  NtStatus.PASSWORD_EXPIRED,
  NtStatus.PASSWORD_MUST_CHANGE,
  NtStatus.INVALID_LOGON_HOURS,
  NtStatus.INVALID_WORKSTATION,
]);
const LOCKED = new Set<number>([
  NtStatus.SHARING_VIOLATION,
  NtStatus.FILE_LOCK_CONFLICT,
  NtStatus.LOCK_NOT_GRANTED,
  NtStatus.DELETE_PENDING,
]);
const DENIED = new Set<number>([
  NtStatus.ACCESS_DENIED,
  NtStatus.PRIVILEGE_NOT_HELD,
  NtStatus.MEDIA_WRITE_PROTECTED,
  NtStatus.CANNOT_DELETE,
  NtStatus.NETWORK_ACCESS_DENIED,
]);
const NOT_FOUND = new Set<number>([
  NtStatus.OBJECT_NAME_NOT_FOUND,
  NtStatus.OBJECT_PATH_NOT_FOUND,
  NtStatus.NO_SUCH_FILE,
  NtStatus.NOT_FOUND,
  NtStatus.FILE_DELETED,
]);
const GONE_SESSION = new Set<number>([
  NtStatus.USER_SESSION_DELETED,
  NtStatus.NETWORK_SESSION_EXPIRED,
  NtStatus.NETWORK_NAME_DELETED,
  NtStatus.CONNECTION_DISCONNECTED,
  NtStatus.CONNECTION_RESET,
]);

/** True for statuses after which the session (or tree) must be re-established. */
export function isSessionGoneStatus(status: number): boolean {
  return GONE_SESSION.has(status >>> 0);
}

/**
 * NTSTATUS → a typed `AppError` with a stable code and the core classification. The raw status name and
 * number are kept in `details` (`ntstatus`, `ntstatusCode`).
 */
export function ntStatusError(status: number, ctx: SmbErrorContext = {}): AppError {
  const name = ntStatusName(status);
  const details: NtStatusDetails = { ...ctx, ntstatus: name, ntstatusCode: `0x${hex32(status)}` };
  const where =
    ctx.path !== undefined ? ` (${ctx.path})` : ctx.share ? ` (share ${ctx.share})` : '';
  const op = ctx.command ? `${ctx.command} failed` : 'SMB request failed';
  const msg = `${op}${where}: ${name}`;
  const s = status >>> 0;
  if (AUTH.has(s)) return new AuthFailedError(`SMB authentication failed: ${name}`, { details });
  if (LOCKED.has(s))
    return new ItemError(ErrorCode.ITEM_LOCKED, `${msg} (in use, retry later)`, { details });
  if (DENIED.has(s)) return new ItemError(ErrorCode.ITEM_ACCESS_DENIED, msg, { details });
  if (NOT_FOUND.has(s)) return new ItemError(ErrorCode.ITEM_NOT_FOUND, msg, { details });
  switch (s) {
    case NtStatus.BAD_NETWORK_NAME:
      return new AppError(
        ErrorCode.CONNECTOR_SHARE_NOT_FOUND,
        `SMB share ${ctx.share ?? ''} does not exist on the server (STATUS_BAD_NETWORK_NAME)`,
        { details, action: 'fail_job' },
      );
    case NtStatus.OBJECT_NAME_COLLISION:
      return new ItemError(ErrorCode.NAME_CONFLICT, msg, { details });
    case NtStatus.OBJECT_NAME_INVALID:
    case NtStatus.OBJECT_PATH_INVALID:
    case NtStatus.OBJECT_PATH_SYNTAX_BAD:
      return new ItemError(ErrorCode.NAME_INVALID, msg, { details });
    case NtStatus.DIRECTORY_NOT_EMPTY:
    case NtStatus.FILE_IS_A_DIRECTORY:
    case NtStatus.NOT_A_DIRECTORY:
      return new ItemError(ErrorCode.PRECONDITION_FAILED, msg, { details });
    case NtStatus.DISK_FULL:
    case NtStatus.QUOTA_EXCEEDED:
      return new AppError(ErrorCode.QUOTA_EXCEEDED, msg, { details, action: 'fail_job' });
    case NtStatus.INSUFFICIENT_RESOURCES:
    case NtStatus.INSUFF_SERVER_RESOURCES:
    case NtStatus.REQUEST_NOT_ACCEPTED:
    case NtStatus.IO_TIMEOUT:
      return new AppError(ErrorCode.SERVICE_UNAVAILABLE, msg, { details, action: 'retry' });
    case NtStatus.CANCELLED:
      return new CancelledError(msg, { details });
  }
  if (GONE_SESSION.has(s)) return new UnreachableError(msg, { details });
  return new AppError(ErrorCode.CONNECTOR_ERROR, msg, {
    details,
    action: ctx.path !== undefined ? 'skip_item' : 'fail_job',
  });
}

/** A socket-level failure (refused, reset, timeout, closed) → UnreachableError. */
export function unreachable(
  message: string,
  ctx: SmbErrorContext & { reason?: string },
  cause?: unknown,
): UnreachableError {
  const opts: AppErrorOptions = { details: ctx };
  if (cause !== undefined) opts.cause = sanitizeCause(cause);
  return new UnreachableError(message, opts);
}

function sanitizeCause(cause: unknown): unknown {
  // Socket errors carry only host/port/syscall; keep them as they are.
  return cause;
}

/** The raw NTSTATUS of an error produced by `ntStatusError`, if any. */
export function statusOf(err: unknown): number | undefined {
  if (!(err instanceof AppError)) return undefined;
  const d = err.details as Partial<NtStatusDetails> | undefined;
  if (!d || typeof d.ntstatusCode !== 'string') return undefined;
  return Number.parseInt(d.ntstatusCode.slice(2), 16) >>> 0;
}
