/**
 * Errors carry a stable `code` (part of the public contract: API responses, file-state rows, metrics)
 * and an `action` that tells the caller what to do next. Core knows nothing about HTTP: the API maps
 * codes to statuses, the worker maps actions to retries.
 */

/** What the caller should do with a failure. */
export type ErrorAction =
  /** Transient: try the same operation again later (backoff). */
  | 'retry'
  /** Throttled: try again after `retryAfterMs`. */
  | 'retry_after'
  /** Only this item (file/folder) failed: record it on the item and carry on with the rest. */
  | 'skip_item'
  /** The whole job (or request) cannot succeed as configured: stop and report. */
  | 'fail_job';

export const ErrorCode = {
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  AUTH_TOKEN_INVALID: 'AUTH_TOKEN_INVALID',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  GONE: 'GONE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONNECTOR_UNREACHABLE: 'CONNECTOR_UNREACHABLE',
  CONNECTOR_AUTH_FAILED: 'CONNECTOR_AUTH_FAILED',
  CONNECTOR_SYNC_IN_PROGRESS: 'CONNECTOR_SYNC_IN_PROGRESS',
  CONNECTOR_THROTTLED: 'CONNECTOR_THROTTLED',
  CONNECTOR_REAUTHORIZE: 'CONNECTOR_REAUTHORIZE',
  /** The share / library named in the connector does not exist on the source. */
  CONNECTOR_SHARE_NOT_FOUND: 'CONNECTOR_SHARE_NOT_FOUND',
  /** The source answered with an error status this service has no specific code for. */
  CONNECTOR_ERROR: 'CONNECTOR_ERROR',
  NAME_CONFLICT: 'NAME_CONFLICT',
  NAME_INVALID: 'NAME_INVALID',
  CASE_COLLISION: 'CASE_COLLISION',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  ITEM_NOT_FOUND: 'ITEM_NOT_FOUND',
  ITEM_LOCKED: 'ITEM_LOCKED',
  ITEM_ACCESS_DENIED: 'ITEM_ACCESS_DENIED',
  ITEM_CHANGED_DURING_READ: 'ITEM_CHANGED_DURING_READ',
  ITEM_TOO_LARGE: 'ITEM_TOO_LARGE',
  DELETE_SAFETY: 'DELETE_SAFETY',
  LISTING_FAILED: 'LISTING_FAILED',
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AppErrorOptions {
  cause?: unknown;
  /** Safe-to-show structured details (never secrets). */
  details?: unknown;
  retryAfterMs?: number;
  action?: ErrorAction;
}

export class AppError extends Error {
  readonly code: string;
  readonly action: ErrorAction;
  readonly retryAfterMs: number | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.action = options.action ?? defaultAction(code);
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}

/** One bad field of a request or a configuration. */
export interface FieldIssue {
  field: string;
  reason: string;
}

export class ValidationError extends AppError {
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[] = [], options: AppErrorOptions = {}) {
    super(ErrorCode.VALIDATION_ERROR, message, { ...options, details: issues });
    this.issues = issues;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, options: AppErrorOptions = {}) {
    super(ErrorCode.NOT_FOUND, `${what} not found`, options);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.CONFLICT, message, options);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You do not have permission to do this', options: AppErrorOptions = {}) {
    super(ErrorCode.FORBIDDEN, message, options);
  }
}

/** The external source cannot be reached (network, DNS, refused, reset, timeout). Transient. */
export class UnreachableError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.CONNECTOR_UNREACHABLE, message, options);
  }
}

/** The external source rejected our credentials. Retrying will not help. */
export class AuthFailedError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.CONNECTOR_AUTH_FAILED, message, options);
  }
}

export class ThrottledError extends AppError {
  constructor(message: string, retryAfterMs: number, options: AppErrorOptions = {}) {
    super(ErrorCode.CONNECTOR_THROTTLED, message, {
      ...options,
      retryAfterMs,
      action: 'retry_after',
    });
  }
}

/** A failure that concerns one item only; the run goes on. */
export class ItemError extends AppError {
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(code, message, { action: 'skip_item', ...options });
  }
}

export class CancelledError extends AppError {
  constructor(message = 'Operation cancelled', options: AppErrorOptions = {}) {
    super(ErrorCode.CANCELLED, message, { action: 'fail_job', ...options });
  }
}

export class TimeoutError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.TIMEOUT, message, { action: 'retry', ...options });
  }
}

const DEFAULT_ACTIONS: Partial<Record<string, ErrorAction>> = {
  [ErrorCode.CONNECTOR_UNREACHABLE]: 'retry',
  [ErrorCode.SERVICE_UNAVAILABLE]: 'retry',
  [ErrorCode.TIMEOUT]: 'retry',
  [ErrorCode.CONNECTOR_THROTTLED]: 'retry_after',
  [ErrorCode.RATE_LIMITED]: 'retry_after',
  [ErrorCode.ITEM_LOCKED]: 'skip_item',
  [ErrorCode.ITEM_ACCESS_DENIED]: 'skip_item',
  [ErrorCode.ITEM_NOT_FOUND]: 'skip_item',
  [ErrorCode.ITEM_CHANGED_DURING_READ]: 'skip_item',
  [ErrorCode.ITEM_TOO_LARGE]: 'skip_item',
  [ErrorCode.NAME_INVALID]: 'skip_item',
  [ErrorCode.NAME_CONFLICT]: 'skip_item',
  [ErrorCode.CASE_COLLISION]: 'skip_item',
  [ErrorCode.CHECKSUM_MISMATCH]: 'skip_item',
  [ErrorCode.PRECONDITION_FAILED]: 'skip_item',
};

function defaultAction(code: string): ErrorAction {
  return DEFAULT_ACTIONS[code] ?? 'fail_job';
}

const TRANSIENT_SYSCALL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export interface Classification {
  code: string;
  action: ErrorAction;
  retryAfterMs?: number;
  message: string;
}

/** Classify anything thrown: our own errors keep their code; network errors become retryable. */
export function classifyError(err: unknown): Classification {
  if (err instanceof AppError) {
    const c: Classification = { code: err.code, action: err.action, message: err.message };
    if (err.retryAfterMs !== undefined) c.retryAfterMs = err.retryAfterMs;
    return c;
  }
  const sqlState = findSqlState(err);
  if (sqlState === '3D000') {
    // The server is up but the database is not there yet: an operator or init job creating it
    // after the server starts (and the embedded default between start and CREATE DATABASE) is a
    // provisioning race, not a bug; the caller's retry budget decides when to give up.
    return {
      code: ErrorCode.SERVICE_UNAVAILABLE,
      action: 'retry',
      message: 'Database does not exist (3D000)',
    };
  }
  if (sqlState === '40P01' || sqlState === '40001' || sqlState === 'P2034') {
    // Deadlock or serialization failure (P2034 is Prisma's name for both): PostgreSQL rolled the
    // transaction back whole, so running it again is safe and usually succeeds.
    return {
      code: ErrorCode.SERVICE_UNAVAILABLE,
      action: 'retry',
      message: `Database transaction conflict (${sqlState}); try again`,
    };
  }
  if (sqlState && /^(08|57P0[123]|53300)/.test(sqlState)) {
    // Connection exceptions, server starting/shutting down, too many connections: transient.
    return {
      code: ErrorCode.SERVICE_UNAVAILABLE,
      action: 'retry',
      message: `Database unavailable (${sqlState})`,
    };
  }
  const sys = findSyscallCode(err);
  if (sys && TRANSIENT_SYSCALL_CODES.has(sys)) {
    return {
      code: ErrorCode.CONNECTOR_UNREACHABLE,
      action: 'retry',
      message: `Network error (${sys})`,
    };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: ErrorCode.CANCELLED, action: 'fail_job', message: 'Operation cancelled' };
  }
  return { code: ErrorCode.INTERNAL, action: 'fail_job', message: 'Internal error' };
}

function findSqlState(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    // Prisma over a driver adapter (PrismaPg) keeps PostgreSQL's SQLSTATE here, under its own
    // code (P2010 for a raw query, …).
    const original = (
      cur as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } }
    ).meta?.driverAdapterError?.cause?.originalCode;
    if (typeof original === 'string' && /^[0-9A-Z]{5}$/.test(original)) return original;
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && /\d/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function findSyscallCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$|^UND_ERR/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isRetryable(err: unknown): boolean {
  const { action } = classifyError(err);
  return action === 'retry' || action === 'retry_after';
}
