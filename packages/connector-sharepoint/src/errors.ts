import {
  AppError,
  AuthFailedError,
  ErrorCode,
  ItemError,
  ThrottledError,
  UnreachableError,
} from '@scaidrive/core';
import { CursorExpiredError } from '@scaidrive/sync';

/** The user_auth grant is gone (revoked, expired, never given): an admin must authorize again. */
export class ReauthorizeError extends AppError {
  constructor(
    message = 'SharePoint authorization expired or was revoked: re-authorize the connector',
    options: { cause?: unknown } = {},
  ) {
    super(ErrorCode.CONNECTOR_REAUTHORIZE, message, { ...options, action: 'fail_job' });
  }
}

/** A Graph error answer, already read. */
export interface GraphFailure {
  status: number;
  code?: string;
  innerCode?: string;
  message?: string;
  retryAfterMs?: number;
  /** Where a 410 says to restart. */
  location?: string;
}

export async function readGraphFailure(res: Response): Promise<GraphFailure> {
  let code: string | undefined;
  let innerCode: string | undefined;
  let message: string | undefined;
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; innerError?: { code?: string } };
    };
    code = body.error?.code;
    message = body.error?.message;
    innerCode = body.error?.innerError?.code;
  } catch {
    // not JSON
  }
  return {
    status: res.status,
    code,
    innerCode,
    message,
    location: res.headers.get('location') ?? undefined,
  };
}

/**
 * Maps a Graph error to our error classes. `what` names the item for item-level errors. Messages
 * never include tokens or URLs with `tempauth`.
 */
export function graphError(f: GraphFailure, what = 'item'): Error {
  const detail = f.code ? ` (${f.code}${f.message ? `: ${f.message}` : ''})` : '';
  switch (f.status) {
    case 401:
      return new AuthFailedError(`SharePoint rejected the credentials${detail}`);
    case 403:
      if (
        f.code === 'Authorization_RequestDenied' ||
        (f.code === 'accessDenied' && what === 'drive')
      )
        return new AuthFailedError(`The app lacks the permission for this${detail}`);
      return new ItemError(ErrorCode.ITEM_ACCESS_DENIED, `Access denied to ${what}${detail}`);
    case 404:
      return new ItemError(ErrorCode.ITEM_NOT_FOUND, `${what} not found${detail}`);
    case 409:
      return new ItemError(
        ErrorCode.NAME_CONFLICT,
        `${what} conflicts with an existing item${detail}`,
      );
    case 410:
      return new CursorExpiredError(`Delta token expired${detail}`);
    case 412:
      return new ItemError(
        ErrorCode.PRECONDITION_FAILED,
        `${what} changed on SharePoint since it was read${detail}`,
      );
    case 413:
      return new ItemError(ErrorCode.ITEM_TOO_LARGE, `${what} is too large${detail}`);
    case 423:
      return new ItemError(ErrorCode.ITEM_LOCKED, `${what} is locked on SharePoint${detail}`);
    case 400:
      if (/name|character|reserved|path/i.test(f.message ?? ''))
        return new ItemError(
          ErrorCode.NAME_INVALID,
          `SharePoint refused the name of ${what}${detail}`,
        );
      return new AppError(
        ErrorCode.PROTOCOL_ERROR,
        `SharePoint refused the request for ${what}${detail}`,
        { action: 'skip_item' },
      );
    case 429:
    case 503:
      return new ThrottledError(
        `SharePoint is throttling requests${detail}`,
        f.retryAfterMs ?? 60_000,
      );
    case 507:
      return new ItemError(
        ErrorCode.QUOTA_EXCEEDED,
        `The SharePoint library is out of storage${detail}`,
      );
    default:
      if (f.status >= 500) return new UnreachableError(`SharePoint answered ${f.status}${detail}`);
      return new AppError(
        ErrorCode.PROTOCOL_ERROR,
        `Unexpected SharePoint answer ${f.status}${detail}`,
      );
  }
}
