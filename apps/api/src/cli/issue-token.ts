import { parseArgs } from 'node:util';
import { AppError, ConfigError, loadConfig } from '@scaidrive/core';
import { createPrismaClient } from '@scaidrive/db';
import { ServiceTokenService } from '../auth/service-tokens.js';

const USAGE = `Issue, list or revoke opaque service tokens (stored as SHA-256 hashes).

  pnpm token:issue --tenant tnt_… --user usr_… [--name NAME] [--scopes tenant:admin,…]
                   [--expires-in 90d|12h|30m | --expires-at 2027-01-01T00:00:00Z]
  pnpm token:issue --list --tenant tnt_…
  pnpm token:issue --revoke tok_… --tenant tnt_…

The token is printed once on stdout; only its hash is kept. Needs DATABASE_URL.`;

export function parseDuration(s: string): number {
  const m = /^(\d+)([smhd])$/.exec(s);
  if (!m) throw new Error(`--expires-in must look like 90d, 12h, 30m or 45s (got "${s}")`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string', default: 'cli' },
      scopes: { type: 'string' },
      'expires-in': { type: 'string' },
      'expires-at': { type: 'string' },
      list: { type: 'boolean', default: false },
      revoke: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || !values.tenant) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required');
  const prisma = createPrismaClient({ connectionString: config.DATABASE_URL, poolSize: 1 });
  try {
    const tokens = new ServiceTokenService(prisma);
    if (values.list) {
      for (const t of await tokens.list(values.tenant)) {
        const state = t.revokedAt
          ? 'revoked'
          : t.expiresAt && t.expiresAt < new Date()
            ? 'expired'
            : 'active';
        process.stdout.write(
          `${t.id}\t${state}\t${t.tokenHint}…\t${t.userId}\t${t.scopes.join(' ')}\t${t.name}\texpires=${t.expiresAt?.toISOString() ?? 'never'}\n`,
        );
      }
      return 0;
    }
    if (values.revoke) {
      const ok = await tokens.revoke(values.tenant, values.revoke);
      process.stdout.write(
        ok ? `revoked ${values.revoke}\n` : `no active token ${values.revoke}\n`,
      );
      return ok ? 0 : 1;
    }
    if (!values.user) throw new Error('--user is required to issue a token');
    let expiresAt: Date | null = null;
    if (values['expires-in'])
      expiresAt = new Date(Date.now() + parseDuration(values['expires-in']));
    if (values['expires-at']) {
      expiresAt = new Date(values['expires-at']);
      if (Number.isNaN(expiresAt.getTime())) throw new Error('--expires-at is not a valid date');
    }
    const issued = await tokens.issue({
      tenantId: values.tenant,
      userId: values.user,
      name: values.name ?? 'cli',
      scopes: values.scopes ? values.scopes.split(/[,\s]+/).filter(Boolean) : [],
      expiresAt,
    });
    process.stderr.write(
      `issued ${issued.id} for ${issued.userId} (scopes: ${issued.scopes.join(' ')}; expires: ${issued.expiresAt?.toISOString() ?? 'never'}). Store it now; it is not shown again:\n`,
    );
    process.stdout.write(`${issued.token}\n`);
    return 0;
  } finally {
    await prisma.$disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg =
      err instanceof ConfigError || err instanceof AppError || err instanceof Error
        ? err.message
        : String(err);
    const details = err instanceof AppError && Array.isArray(err.details) ? err.details : [];
    process.stderr.write(
      `error: ${msg}${details.map((d: { field: string; reason: string }) => `\n  - ${d.field}: ${d.reason}`).join('')}\n`,
    );
    process.exit(1);
  },
);
