import { AppError, ErrorCode, ItemError, UnreachableError, ValidationError } from '@scaidrive/core';

/**
 * smb-client failures in the core classification the sync engine acts on:
 *
 * | smb-client / NTSTATUS                                   | here                                  |
 * |---------------------------------------------------------|---------------------------------------|
 * | SHARING_VIOLATION, FILE_LOCK_CONFLICT, LOCK_NOT_GRANTED | ItemError ITEM_LOCKED (per file)      |
 * | ACCESS_DENIED, CANNOT_DELETE, …                         | ItemError ITEM_ACCESS_DENIED          |
 * | OBJECT_NAME_NOT_FOUND, OBJECT_PATH_NOT_FOUND            | ItemError ITEM_NOT_FOUND              |
 * | OBJECT_NAME_INVALID, a name the client refuses to send  | ItemError NAME_INVALID                |
 * | LOGON_FAILURE, ACCOUNT_DISABLED, …                      | AuthFailedError (fails the job)       |
 * | refused/reset/timeout, session or tree gone             | UnreachableError (retried)            |
 * | BAD_NETWORK_NAME                                        | CONNECTOR_SHARE_NOT_FOUND (fails job) |
 *
 * smb-client already returns these classes; this adds the connector-relative path and covers what
 * arrives unclassified (socket errors, validation of names).
 */
export function toSmbError(
  err: unknown,
  ctx: { op: string; path?: string } = { op: 'SMB' },
): unknown {
  const where = ctx.path === undefined ? '' : ` ${ctx.path === '' ? '(root)' : ctx.path}`;
  if (err instanceof ValidationError) {
    return new ItemError(ErrorCode.NAME_INVALID, `${ctx.op}${where}: ${err.message}`, {
      cause: err,
      details: err.details,
    });
  }
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) {
    return new UnreachableError(`SMB server unreachable during ${ctx.op}${where} (${code})`, {
      cause: err,
    });
  }
  return err;
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Runs `fn` and rethrows its failure classified (see `toSmbError`). */
export async function classified<T>(
  op: string,
  path: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toSmbError(err, path === undefined ? { op } : { op, path });
  }
}

export function isCode(err: unknown, code: string): boolean {
  return err instanceof AppError && err.code === code;
}

export function isNotFound(err: unknown): boolean {
  return isCode(err, ErrorCode.ITEM_NOT_FOUND);
}
