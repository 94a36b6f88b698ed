import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, ValidationError, type Logger } from '@scaidrive/core';
import { ApiErrorCode, httpStatusFor } from './codes.js';
import { errorEnvelope, type FieldErrorDetail } from './envelope.js';

interface Mapped {
  status: number;
  code: string;
  message: string;
  details: unknown;
  retryAfterSeconds?: number;
  /** Log at error level (5xx and anything unexpected). */
  severe: boolean;
}

/** `/body/server_port` → `body.server_port`; `.query.limit` → `query.limit`. */
export function fieldPath(raw: string): string {
  return raw
    .replace(/^[./]+/, '')
    .split(/[./]/)
    .filter(Boolean)
    .join('.');
}

function validatorErrors(err: { errors?: unknown }): FieldErrorDetail[] {
  const list = Array.isArray(err.errors) ? err.errors : [];
  return list.map(
    (e: {
      path?: string;
      message?: string;
      errorCode?: string;
      params?: Record<string, unknown>;
    }) => {
      let path = fieldPath(e.path ?? 'request');
      const extra = e.params?.additionalProperty;
      if (typeof extra === 'string' && !path.endsWith(`.${extra}`)) path = `${path}.${extra}`;
      let reason = e.message ?? 'is invalid';
      if (typeof extra === 'string') reason = 'is not a known field';
      // `not: {}` marks fields that exist but must not be sent (e.g. target_share_id in PATCH).
      if (e.errorCode?.startsWith('not.')) reason = 'cannot be changed';
      const allowed = e.params?.allowedValues;
      if (Array.isArray(allowed)) reason = `must be one of: ${allowed.join(', ')}`;
      return { path, reason };
    },
  );
}

/** Maps anything thrown to the envelope's status/code/message, revealing nothing internal. */
export function mapError(err: unknown): Mapped {
  if (err instanceof AppError) {
    const status = httpStatusFor(err.code);
    if (status === undefined || status === 500)
      return {
        status: 500,
        code: ApiErrorCode.INTERNAL,
        message: 'Internal error',
        details: null,
        severe: true,
      };
    let details: unknown = err.details ?? null;
    if (err instanceof ValidationError)
      details = err.issues.map((i) => ({ path: i.field, reason: i.reason }));
    const mapped: Mapped = {
      status,
      code: err.code,
      message: err.message,
      details,
      severe: status >= 500,
    };
    if (err.retryAfterMs !== undefined)
      mapped.retryAfterSeconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    return mapped;
  }
  const e = (err ?? {}) as {
    status?: unknown;
    statusCode?: unknown;
    type?: unknown;
    errors?: unknown;
  };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  // body-parser
  if (e.type === 'entity.parse.failed')
    return {
      status: 400,
      code: ApiErrorCode.VALIDATION_ERROR,
      message: 'Request body is not valid JSON',
      details: [{ path: 'body', reason: 'is not valid JSON' }],
      severe: false,
    };
  if (e.type === 'entity.too.large')
    return {
      status: 413,
      code: ApiErrorCode.PAYLOAD_TOO_LARGE,
      message: 'Request body is too large',
      details: null,
      severe: false,
    };
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return {
      status: 415,
      code: ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
      message: 'Unsupported body encoding or charset',
      details: null,
      severe: false,
    };
  // express-openapi-validator (HttpError with `errors`)
  if (typeof status === 'number' && Array.isArray(e.errors)) {
    switch (status) {
      case 400:
        return {
          status,
          code: ApiErrorCode.VALIDATION_ERROR,
          message: 'Request validation failed',
          details: validatorErrors(e),
          severe: false,
        };
      case 404:
        return {
          status,
          code: ApiErrorCode.NOT_FOUND,
          message: 'No such endpoint',
          details: null,
          severe: false,
        };
      case 405:
        return {
          status,
          code: ApiErrorCode.METHOD_NOT_ALLOWED,
          message: 'Method not allowed on this endpoint',
          details: null,
          severe: false,
        };
      case 413:
        return {
          status,
          code: ApiErrorCode.PAYLOAD_TOO_LARGE,
          message: 'Request body is too large',
          details: null,
          severe: false,
        };
      case 415:
        return {
          status,
          code: ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
          message: 'Unsupported content type',
          details: null,
          severe: false,
        };
      default:
        break;
    }
  }
  return {
    status: 500,
    code: ApiErrorCode.INTERNAL,
    message: 'Internal error',
    details: null,
    severe: true,
  };
}

export function errorHandler(fallbackLogger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const log = req.log ?? fallbackLogger;
    if (res.headersSent) {
      // Too late for an error envelope (e.g. a download failed midway): cut the response so the
      // client sees a truncated transfer, never a complete-looking one.
      log.warn('response aborted after its headers were sent', { code: mapError(err).code });
      res.destroy();
      return;
    }
    const m = mapError(err);
    if (m.severe) {
      const validatorDetails = (err as { errors?: unknown })?.errors;
      log.error('request failed', {
        err,
        ...(validatorDetails ? { validation: validatorDetails } : {}),
      });
    } else log.info('request rejected', { code: m.code, status: m.status });
    if (m.retryAfterSeconds !== undefined)
      res.setHeader('Retry-After', String(m.retryAfterSeconds));
    res
      .status(m.status)
      .json(
        errorEnvelope(
          m.code,
          m.message,
          req.requestId ?? 'unknown',
          m.details,
          m.retryAfterSeconds,
        ),
      );
  };
}

/** Anything no router answered. */
export const notFoundHandler: RequestHandler = (req, res) => {
  res
    .status(404)
    .json(errorEnvelope(ApiErrorCode.NOT_FOUND, 'No such endpoint', req.requestId ?? 'unknown'));
};
