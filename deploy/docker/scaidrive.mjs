#!/usr/bin/env node
// The container's one command: `scaidrive <role> [args…]` (the image's ENTRYPOINT is
// `tini -- node /app/bin/scaidrive.mjs`, its CMD `api`). Every role runs from the same bundle.
//
//   api                 the HTTP API (PORT, /api/v1/health, /api/v1/ready)
//   worker              one sync worker (WORKER_PORT: /healthz, /readyz, /metrics)
//   migrate             apply pending migrations and exit (the Kubernetes migration Job)
//   wait-for-migrations exit 0 once every migration of this image is applied (init container);
//                       --timeout SECONDS (default 600), --interval SECONDS (default 5)
//   standalone          API + worker in one process (needs DATABASE_URL in a container)
//   token …             service tokens: issue / --list / --revoke (see `token --help`)
//   bootstrap           first tenant, admin user, default share and an admin token (printed once;
//                       idempotent: later runs print the ids only)
//   rotate-secrets      re-encrypt stored connector secrets with the newest SECRET_KEYS key and
//                       report any that no configured key decrypts; --dry-run only checks
//   healthcheck         the image's HEALTHCHECK: probes the role's own health endpoint
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const appRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = (name, file) => path.join(appRoot, 'node_modules', '@scaidrive', name, file);
const ROLES = {
  api: pkg('api', 'dist/main.js'),
  worker: pkg('worker', 'dist/main.js'),
  migrate: pkg('db', 'dist/cli/migrate.js'),
  standalone: path.join(appRoot, 'dist', 'main.js'),
  token: pkg('api', 'dist/cli/issue-token.js'),
};
const TOOLS = ['wait-for-migrations', 'bootstrap', 'rotate-secrets', 'healthcheck'];
const USAGE = `usage: scaidrive <${[...Object.keys(ROLES), ...TOOLS].join('|')}> [args…]\n`;

const [role, ...rest] = process.argv.slice(2);
// Relative paths (DATA_DIR, the migrations folder fallback) resolve against the bundle.
process.chdir(appRoot);

if (role === 'healthcheck') {
  process.exit(await healthcheck());
} else if (role === 'rotate-secrets') {
  process.exit(await rotateSecrets(rest));
} else if (role === 'bootstrap') {
  process.exit(await bootstrap());
} else if (role === 'wait-for-migrations') {
  process.exit(await waitForMigrations(rest));
} else if (role && Object.hasOwn(ROLES, role)) {
  // The role's module reads its arguments from process.argv like a script started directly.
  process.argv = [process.argv[0], ROLES[role], ...rest];
  await import(pathToFileURL(ROLES[role]).href);
} else {
  process.stderr.write(USAGE);
  process.exit(role === undefined || role === 'help' || role === '--help' ? 0 : 2);
}

/** Which role PID 1 (tini) runs, read from its command line; undefined outside a container. */
function containerRole() {
  try {
    const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    const i = argv.findIndex((a) => a.endsWith('scaidrive.mjs'));
    return i >= 0 ? argv[i + 1] : undefined;
  } catch {
    return undefined;
  }
}

async function healthcheck() {
  const port = (name, fallback) => Number(process.env[name] || fallback);
  const api = `http://127.0.0.1:${port('PORT', 8080)}/api/v1/health`;
  const worker = `http://127.0.0.1:${port('WORKER_PORT', 9090)}/healthz`;
  const role = containerRole();
  // A one-shot role (migrate, token) has nothing to probe: it is healthy while it runs.
  if (role && !['api', 'worker', 'standalone'].includes(role)) return 0;
  const urls =
    role === 'api' ? [api] : role === 'worker' ? [worker] : role ? [api, worker] : [api, worker];
  const results = await Promise.all(
    urls.map(async (url) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
        return res.ok;
      } catch {
        return false;
      }
    }),
  );
  // standalone serves both; without a known role, either answering is enough.
  const ok = role === 'standalone' ? results.every(Boolean) : results.some(Boolean);
  if (!ok) process.stderr.write(`healthcheck failed: ${urls.join(', ')}\n`);
  return ok ? 0 : 1;
}

async function waitForMigrations(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      timeout: { type: 'string', default: '600' },
      interval: { type: 'string', default: '5' },
    },
  });
  const deadline = Date.now() + Number(values.timeout) * 1000;
  const interval = Math.max(0.1, Number(values.interval)) * 1000;
  const db = await import(pathToFileURL(pkg('db', 'dist/index.js')).href);
  const wanted = (await db.readMigrations(db.defaultMigrationsDir())).map((m) => m.name);
  // pg is a dependency of the db package; resolve it from there.
  const pg = createRequire(realpathSync(pkg('db', 'package.json')))('pg');
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('wait-for-migrations: DATABASE_URL is required\n');
    return 1;
  }
  for (;;) {
    let last;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      const { rows } = await client.query(
        `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      );
      const applied = new Set(rows.map((r) => r.migration_name));
      const pending = wanted.filter((n) => !applied.has(n));
      last = pending.length ? `pending: ${pending.join(', ')}` : '';
    } catch (err) {
      // 42P01: no _prisma_migrations table yet (nothing migrated). Anything else: not reachable yet.
      last =
        err?.code === '42P01'
          ? `pending: ${wanted.join(', ')}`
          : `database: ${err?.code ?? err?.message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
    if (!last) {
      process.stdout.write(`migrations up to date (${wanted.length})\n`);
      return 0;
    }
    if (Date.now() >= deadline) {
      process.stderr.write(`wait-for-migrations: timed out; ${last}\n`);
      return 1;
    }
    process.stdout.write(`waiting for migrations; ${last}\n`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function bootstrap() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('bootstrap: DATABASE_URL is required\n');
    return 1;
  }
  const { createPrismaClient } = await import(pathToFileURL(pkg('db', 'dist/index.js')).href);
  const { ServiceTokenService } = await import(pathToFileURL(pkg('api', 'dist/index.js')).href);
  const standalone = await import(pathToFileURL(path.join(appRoot, 'dist', 'index.js')).href);
  const prisma = createPrismaClient({ connectionString: url, poolSize: 2 });
  try {
    const r = await standalone.bootstrap(prisma, new ServiceTokenService(prisma));
    const out = { tenant_id: r.tenantId, admin_user_id: r.adminUserId, share_id: r.shareId };
    if (r.token) out.admin_token = r.token;
    else out.note = 'already bootstrapped; issue more tokens with `scaidrive token`';
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`bootstrap failed: ${err?.message ?? err}\n`);
    return 1;
  } finally {
    await prisma.$disconnect().catch(() => undefined);
  }
}

async function rotateSecrets(argv) {
  /** Encrypted columns of `connectors` and their SecretBox context field (`connector:<id>:<field>`). */
  const SECRET_COLUMNS = {
    password: 'password_enc',
    azure_client_secret: 'azure_client_secret_enc',
    azure_certificate: 'azure_certificate_enc',
    token_cache: 'token_cache_enc',
  };
  const { values } = parseArgs({
    args: argv,
    options: { 'dry-run': { type: 'boolean', default: false } },
  });
  const url = process.env.DATABASE_URL;
  if (!url || !process.env.SECRET_KEYS) {
    process.stderr.write('rotate-secrets: DATABASE_URL and SECRET_KEYS are required\n');
    return 1;
  }
  const core = await import(pathToFileURL(pkg('core', 'dist/index.js')).href);
  const box = new core.SecretBox(core.parseSecretKeys(process.env.SECRET_KEYS));
  const db = await import(pathToFileURL(pkg('db', 'dist/index.js')).href);
  const pg = createRequire(realpathSync(pkg('db', 'package.json')))('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const report = { checked: 0, rotated: 0, pending: 0, undecryptable: [] };
  try {
    for (const [field, column] of Object.entries(SECRET_COLUMNS)) {
      const { rows } = await client.query(
        `SELECT id, ${column} AS enc FROM connectors WHERE ${column} IS NOT NULL ORDER BY id`,
      );
      for (const row of rows) {
        report.checked++;
        const context = db.secretContext(row.id, field);
        let plain;
        try {
          plain = box.decrypt(row.enc, context);
        } catch {
          // Never the value or the error text: only where the problem is.
          report.undecryptable.push({ connector_id: row.id, field });
          continue;
        }
        if (!box.needsRotation(row.enc)) continue;
        if (values['dry-run']) {
          report.pending++;
          continue;
        }
        // Optimistic: a secret changed meanwhile (new password, token refresh) is left as written.
        const r = await client.query(
          `UPDATE connectors SET ${column} = $1 WHERE id = $2 AND ${column} = $3`,
          [box.encrypt(plain, context), row.id, row.enc],
        );
        if (r.rowCount === 1) report.rotated++;
        else report.pending++;
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.undecryptable.length ? 1 : 0;
}
