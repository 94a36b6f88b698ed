/** The one error shape of the API (DESIGN.md §4). */
export interface ErrorEnvelope {
  status: 'error';
  error: { code: string; message: string; details: unknown; retry_after?: number };
  meta: { request_id: string };
}

export interface FieldErrorDetail {
  /** `body.server_port`, `query.limit`, `path.connector_id`, `body` … */
  path: string;
  reason: string;
}

export function errorEnvelope(
  code: string,
  message: string,
  requestId: string,
  details: unknown = null,
  retryAfterSeconds?: number,
): ErrorEnvelope {
  const error: ErrorEnvelope['error'] = { code, message, details: details ?? null };
  if (retryAfterSeconds !== undefined) error.retry_after = retryAfterSeconds;
  return { status: 'error', error, meta: { request_id: requestId } };
}
