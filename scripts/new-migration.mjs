// `pnpm db:migration <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL
// that takes prisma/schema.migrated.prisma (what the existing migrations produce) to
// prisma/schema.prisma, then updates the snapshot. Review the SQL before committing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffSql, readSchema } from './prisma6-diff.mjs';

const name = (process.argv[2] ?? '').replace(/[^a-z0-9_]/gi, '_').toLowerCase();
if (!name) {
  console.error('usage: pnpm db:migration <name>');
  process.exit(2);
}
const snapshotPath = 'prisma/schema.migrated.prisma';
const from = existsSync(snapshotPath) ? readFileSync(snapshotPath, 'utf8') : null;
const to = readSchema();
const sql = diffSql(from, to);
if (!/^(CREATE|ALTER|DROP)/m.test(sql)) {
  console.log('schema.prisma matches the migrations: nothing to write');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = path.join('prisma/migrations', `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'migration.sql'), sql);
writeFileSync(snapshotPath, to);
if (!existsSync('prisma/migrations/migration_lock.toml')) {
  writeFileSync(
    'prisma/migrations/migration_lock.toml',
    '# Prisma Migrate lock file\nprovider = "postgresql"\n',
  );
}
console.log(`wrote ${dir}/migration.sql`);
