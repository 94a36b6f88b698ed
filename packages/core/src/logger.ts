import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  /** Fields added to every line (service name, version, worker id). */
  defaultMeta?: Record<string, unknown>;
  /** Extra destination (tests capture lines through it). */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

/** Keys whose values are never logged, at any depth. */
const SECRET_KEY =
  /pass(word|wd|phrase)?|secret|token|authori[sz]ation|cookie|api[-_]?key|private[-_]?key|credential|assertion|code[-_]?verifier|^key$/i;
const BEARER = /\b(Bearer|Basic|NTLM|Negotiate)\s+[A-Za-z0-9._~+/=-]+/gi;
export const REDACTED = '[REDACTED]';

/** Deep copy with secret-named keys replaced; cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return value.replace(BEARER, `$1 ${REDACTED}`);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) return serializeError(value, depth, seen);
  if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEY.test(k) && v !== undefined && v !== null && v !== false
        ? REDACTED
        : redact(v, depth + 1, seen);
  }
  return out;
}

function serializeError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: err.name,
    message: redact(err.message, depth + 1, seen),
  };
  const e = err as Error & { code?: unknown; action?: unknown; cause?: unknown };
  if (e.code !== undefined) out.code = e.code;
  if (e.action !== undefined) out.action = e.action;
  if (err.stack) out.stack = redact(err.stack, depth + 1, seen);
  if (e.cause !== undefined) out.cause = redact(e.cause, depth + 1, seen);
  return out;
}

const redactFormat = winston.format((info) => {
  // winston keeps level/message and symbol-keyed internals on the same object: rewrite in place.
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    const v = info[key];
    info[key] = key !== 'message' && SECRET_KEY.test(key) && v != null ? REDACTED : redact(v);
  }
  return info;
});

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = (options.format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';
  const format = winston.format.combine(
    winston.format.errors({ stack: true }),
    redactFormat(),
    winston.format.timestamp(),
    pretty
      ? winston.format.combine(winston.format.colorize(), winston.format.simple())
      : winston.format.json(),
  );
  const transports: winston.transport[] = options.stream
    ? [new winston.transports.Stream({ stream: options.stream })]
    : [new winston.transports.Console()];
  return winston.createLogger({
    level: options.level ?? 'info',
    format,
    defaultMeta: options.defaultMeta,
    transports,
    silent: options.silent ?? false,
  });
}
