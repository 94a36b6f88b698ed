import { ErrorCode } from '@scaidrive/core';

/** Core codes plus the two that only HTTP has. */
export const ApiErrorCode = {
  ...ErrorCode,
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
} as const;

const STATUS: Record<string, number> = {
  VALIDATION_ERROR: 400,
  AUTH_TOKEN_INVALID: 401,
  CONNECTOR_AUTH_FAILED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  CONNECTOR_SYNC_IN_PROGRESS: 409,
  CONNECTOR_REAUTHORIZE: 409,
  // share store (packages/drive)
  NAME_INVALID: 400,
  CHECKSUM_MISMATCH: 400,
  ITEM_CHANGED_DURING_READ: 400,
  ITEM_NOT_FOUND: 404,
  NAME_CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  RANGE_NOT_SATISFIABLE: 416,
  QUOTA_EXCEEDED: 507,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  CONNECTOR_UNREACHABLE: 502,
  CONNECTOR_ERROR: 502,
  CONNECTOR_THROTTLED: 503,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/** HTTP status of an error code, or undefined for codes the API does not expose (→ INTERNAL). */
export function httpStatusFor(code: string): number | undefined {
  return STATUS[code];
}
