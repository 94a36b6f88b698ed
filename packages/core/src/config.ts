import { z } from 'zod';
import { AppError, ErrorCode, type FieldIssue } from './errors.js';
import { parseSecretKeys, type SecretKey } from './secret-box.js';

/**
 * The one place that reads the environment. Every variable is declared once, with its meaning, so the
 * README's configuration table is generated from this list (`pnpm config:doc`) and cannot drift.
 */
interface VarSpec<T extends z.ZodType> {
  schema: T;
  description: string;
  /** Never printed, even in config dumps. */
  secret?: boolean;
  /** Which processes read it. */
  used_by: ('api' | 'worker' | 'all')[];
}

function v<T extends z.ZodType>(spec: VarSpec<T>): VarSpec<T> {
  return spec;
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((s) => s === 'true' || s === '1' || s === 'yes');
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
const url = z.string().url();

export const CONFIG_VARS = {
  NODE_ENV: v({
    schema: z.enum(['development', 'production', 'test']).default('development'),
    description: 'Runtime mode. `production` requires explicit `DATABASE_URL` and `SECRET_KEYS`.',
    used_by: ['all'],
  }),
  DATABASE_URL: v({
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    description:
      'PostgreSQL connection string. Unset: `pnpm start` runs an embedded PostgreSQL under `DATA_DIR`.',
    secret: true,
    used_by: ['all'],
  }),
  DATABASE_POOL_SIZE: v({
    schema: int(1, 200).default(10),
    description:
      'Connections per pool: the API has two (queries, pg-boss), a worker three (queries, pg-boss, file states and share-store writes).',
    used_by: ['all'],
  }),
  DATA_DIR: v({
    schema: z.string().default('./.data'),
    description: 'Where the embedded default keeps its database, blobs and generated secret key.',
    used_by: ['all'],
  }),
  SECRET_KEYS: v({
    schema: z.string().optional(),
    description:
      'Keys for secrets at rest: `id:base64(32 bytes)[,id:key…]`, newest first. Unset in development: generated under `DATA_DIR`.',
    secret: true,
    used_by: ['all'],
  }),
  LOG_LEVEL: v({
    schema: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
    description: 'winston log level.',
    used_by: ['all'],
  }),
  LOG_FORMAT: v({
    schema: z.enum(['json', 'pretty']).optional(),
    description: 'Log format; default JSON unless stdout is a terminal.',
    used_by: ['all'],
  }),
  HOST: v({
    schema: z.string().default('0.0.0.0'),
    description: 'Address the API (and worker health server) listen on.',
    used_by: ['all'],
  }),
  PORT: v({ schema: int(0, 65535).default(8080), description: 'API port.', used_by: ['api'] }),
  PUBLIC_BASE_URL: v({
    schema: url.optional(),
    description:
      'External URL of the API (OAuth redirect URIs are built from it). Default `http://localhost:PORT`.',
    used_by: ['api'],
  }),
  WORKER_PORT: v({
    schema: int(0, 65535).default(9090),
    description: 'Worker health and metrics port (`/healthz`, `/readyz`, `/metrics`).',
    used_by: ['worker'],
  }),
  JWT_JWKS_URL: v({
    schema: url.optional(),
    description: 'JWKS of the platform identity provider. Unset: only service tokens are accepted.',
    used_by: ['api'],
  }),
  JWT_ISSUER: v({
    schema: z.string().optional(),
    description: 'Required `iss` of JWTs.',
    used_by: ['api'],
  }),
  JWT_AUDIENCE: v({
    schema: z.string().optional(),
    description: 'Required `aud` of JWTs (optional).',
    used_by: ['api'],
  }),
  BODY_LIMIT: v({
    schema: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i)
      .default('1mb'),
    description: 'Largest JSON request body.',
    used_by: ['api'],
  }),
  RATE_LIMIT_PER_MINUTE: v({
    schema: int(0, 1_000_000).default(1000),
    description: 'Requests per minute per token (0 disables).',
    used_by: ['api'],
  }),
  CONNECTOR_TEST_TIMEOUT_MS: v({
    schema: int(1000, 120_000).default(15_000),
    description: 'Upper bound for `POST …/test`.',
    used_by: ['api'],
  }),
  SOURCE_HOST_ALLOWLIST: v({
    schema: list.optional(),
    description:
      'Comma list of hosts / CIDRs connectors may reach (SMB `server_host`). Unset: any host not denied.',
    used_by: ['api', 'worker'],
  }),
  SOURCE_HOST_DENYLIST: v({
    schema: list.default(['169.254.0.0/16', 'fe80::/10']),
    description:
      'Comma list of hosts / CIDRs connectors must never reach (SSRF guard). Both lists are checked when a host is saved and again on every connect (`/test`, syncs, reconnects); the connection goes to the address that passed.',
    used_by: ['api', 'worker'],
  }),
  WORKER_CONCURRENCY: v({
    schema: int(1, 64).default(2),
    description: 'Sync jobs one worker process runs at once.',
    used_by: ['worker'],
  }),
  TRANSFER_CONCURRENCY: v({
    schema: int(1, 64).default(4),
    description: 'File transfers one job runs at once.',
    used_by: ['worker'],
  }),
  STARTUP_TIMEOUT_SECONDS: v({
    schema: int(1, 3600).default(120),
    description:
      'How long a process keeps retrying (with backoff) to reach the database at start-up (refused, starting up, or not created yet) before it exits with an error; `/ready` answers 503 meanwhile.',
    used_by: ['all'],
  }),
  SHUTDOWN_TIMEOUT_SECONDS: v({
    schema: int(1, 3600).default(25),
    description: 'SIGTERM budget; keep it below the pod `terminationGracePeriodSeconds`.',
    used_by: ['all'],
  }),
  JOB_MAX_RUNTIME_SECONDS: v({
    schema: int(60, 79_200).default(6 * 3600),
    description:
      'A sync run checkpoints and continues in a follow-up job after this long. At most 22 h: the queue expires a job after 23 h, and the checkpoint must finish before that.',
    used_by: ['worker'],
  }),
  JOB_RETRY_LIMIT: v({
    schema: int(0, 50).default(5),
    description: 'Retries of a failed sync job (exponential backoff) before the dead-letter queue.',
    used_by: ['api', 'worker'],
  }),
  JOB_RETRY_DELAY_SECONDS: v({
    schema: int(1, 3600).default(30),
    description:
      'Delay before the first retry of a failed sync job (doubles on each further retry, capped at 30 min).',
    used_by: ['worker'],
  }),
  JOB_HEARTBEAT_SECONDS: v({
    schema: int(10, 3600).default(30),
    description:
      'Heartbeat of a running sync job; a killed worker’s job is released to another worker after about this long.',
    used_by: ['worker'],
  }),
  SCHEDULER_TICK_SECONDS: v({
    schema: int(1, 3600).default(60),
    description:
      'How often due connectors are enqueued. 60 uses a fleet-wide pg-boss cron; shorter runs an extra local timer on every worker (safe: enqueueing is race-free).',
    used_by: ['worker'],
  }),
  ENABLE_LOCAL_CONNECTORS: v({
    schema: bool.default(false),
    description:
      'Allow connectors of kind `local` (a directory on the worker) — for tests and mounted paths; never reachable through the API.',
    used_by: ['worker'],
  }),
  SCHEDULER_ENABLED: v({
    schema: bool.default(true),
    description: 'Whether this worker takes part in enqueueing due scheduled syncs.',
    used_by: ['worker'],
  }),
  BLOB_DRIVER: v({
    schema: z.enum(['local', 's3']).default('local'),
    description: 'Where file content chunks live.',
    used_by: ['all'],
  }),
  BLOB_DIR: v({
    schema: z.string().optional(),
    description: 'Local chunk volume (default `DATA_DIR/blobs`).',
    used_by: ['all'],
  }),
  S3_ENDPOINT: v({
    schema: url.optional(),
    description: 'S3-compatible endpoint.',
    used_by: ['all'],
  }),
  S3_REGION: v({
    schema: z.string().default('us-east-1'),
    description: 'S3 region.',
    used_by: ['all'],
  }),
  S3_BUCKET: v({
    schema: z.string().optional(),
    description: 'S3 bucket for chunks.',
    used_by: ['all'],
  }),
  S3_ACCESS_KEY_ID: v({
    schema: z.string().optional(),
    description: 'S3 access key.',
    secret: true,
    used_by: ['all'],
  }),
  S3_SECRET_ACCESS_KEY: v({
    schema: z.string().optional(),
    description: 'S3 secret key.',
    secret: true,
    used_by: ['all'],
  }),
  S3_FORCE_PATH_STYLE: v({
    schema: bool.default(false),
    description: 'Path-style S3 URLs.',
    used_by: ['all'],
  }),
  CHUNK_SIZE_BYTES: v({
    schema: int(64 * 1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
    description: 'Content chunk size for new versions.',
    used_by: ['all'],
  }),
  CHUNK_GC_GRACE_SECONDS: v({
    schema: int(60, 30 * 24 * 3600).default(3600),
    description:
      'Age before an unreferenced content chunk is deleted by garbage collection; uploads in progress re-touch theirs every quarter of it. Same value for API and workers.',
    used_by: ['all'],
  }),
  TRASH_RETENTION_DAYS: v({
    schema: int(0, 36_500).default(30),
    description:
      "Days an item stays in a share's trash before the workers' maintenance job deletes it permanently (its versions and usage are released); `0` keeps the trash forever. The ScaiDrive tenant default is 30.",
    used_by: ['worker'],
  }),
  VERSION_RETENTION: v({
    schema: int(1, 100_000).default(50),
    description: 'File versions kept per file (older ones are pruned, their chunks freed).',
    used_by: ['all'],
  }),
  GRAPH_BASE_URL: v({
    schema: url.default('https://graph.microsoft.com'),
    description:
      'Microsoft Graph root (sovereign clouds: `https://graph.microsoft.us`, `https://microsoftgraph.chinacloudapi.cn`).',
    used_by: ['all'],
  }),
  AZURE_AUTHORITY_HOST: v({
    schema: url.default('https://login.microsoftonline.com'),
    description:
      'Entra ID authority host (`https://login.microsoftonline.us`, `https://login.chinacloudapi.cn`).',
    used_by: ['all'],
  }),
  SMB_REQUEST_TIMEOUT_MS: v({
    schema: int(1000, 600_000).default(30_000),
    description: 'Timeout of one SMB request.',
    used_by: ['all'],
  }),
} as const;

type Vars = typeof CONFIG_VARS;
export type Config = { [K in keyof Vars]: z.output<Vars[K]['schema']> } & {
  secretKeys: SecretKey[] | undefined;
};

export class ConfigError extends AppError {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    super(
      ErrorCode.CONFIG_INVALID,
      `Invalid configuration:\n${issues.map((i) => `  - ${i.field}: ${i.reason}`).join('\n')}`,
      { details: issues },
    );
    this.issues = issues;
  }
}

/** Validates every variable at once and reports every problem in one error. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const issues: FieldIssue[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_VARS)) {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? undefined : raw;
    const parsed = (spec.schema as z.ZodType).safeParse(value);
    if (parsed.success) out[name] = parsed.data;
    else
      issues.push({
        field: name,
        reason: parsed.error.issues.map((i) => describeIssue(i, value)).join('; '),
      });
  }
  let secretKeys: SecretKey[] | undefined;
  if (typeof out.SECRET_KEYS === 'string') {
    try {
      secretKeys = parseSecretKeys(out.SECRET_KEYS);
      if (secretKeys.length === 0) issues.push({ field: 'SECRET_KEYS', reason: 'no key given' });
    } catch (e) {
      issues.push({ field: 'SECRET_KEYS', reason: (e as Error).message });
    }
  }
  if (out.NODE_ENV === 'production') {
    if (!out.DATABASE_URL)
      issues.push({ field: 'DATABASE_URL', reason: 'required when NODE_ENV=production' });
    if (!out.SECRET_KEYS)
      issues.push({ field: 'SECRET_KEYS', reason: 'required when NODE_ENV=production' });
  }
  if (out.BLOB_DRIVER === 's3' && !out.S3_BUCKET) {
    issues.push({ field: 'S3_BUCKET', reason: 'required when BLOB_DRIVER=s3' });
  }
  if (out.JWT_JWKS_URL && !out.JWT_ISSUER) {
    issues.push({ field: 'JWT_ISSUER', reason: 'required when JWT_JWKS_URL is set' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { ...(out as Omit<Config, 'secretKeys'>), secretKeys } as Config;
}

function describeIssue(issue: z.core.$ZodIssue, value: string | undefined): string {
  if (value === undefined) return 'is required';
  // Never echo the value: it may be a secret.
  return issue.message;
}

/** Markdown table of every variable, for the README. */
export function configTableMarkdown(): string {
  const rows = Object.entries(CONFIG_VARS).map(([name, spec]) => {
    const def = (spec.schema as z.ZodType).safeParse(undefined);
    const shown = def.success && def.data !== undefined ? `\`${JSON.stringify(def.data)}\`` : '—';
    return `| \`${name}\` | ${spec.used_by.join(', ')} | ${shown} | ${spec.description} |`;
  });
  return ['| variable | read by | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
