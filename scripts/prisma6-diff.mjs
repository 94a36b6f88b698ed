// Shared by new-migration.mjs and the drift test: renders the SQL that takes one Prisma datamodel to
// another with the Prisma 6.19 CLI in "js engine" mode (wasm schema engine, no binary download).
// Prisma 7's CLI needs a native schema engine that cannot be fetched here (see NOTES-toolchain).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Strips the generator block and adds the `url` Prisma 6 requires. */
function toPrisma6(schemaText) {
  return schemaText
    .replace(/^generator\s+\w+\s*\{[\s\S]*?^\}/m, '')
    .replace(
      /(datasource\s+db\s*\{[^}]*provider\s*=\s*"postgresql")/,
      '$1\n  url = env("DATABASE_URL")',
    );
}

/** @param {string|null} fromSchemaText  null = empty database */
export function diffSql(fromSchemaText, toSchemaText) {
  const dir = mkdtempSync(path.join(tmpdir(), 'prisma-diff-'));
  try {
    symlinkSync(path.join(root, 'packages/db/node_modules'), path.join(dir, 'node_modules'));
    writeFileSync(path.join(dir, 'to.prisma'), toPrisma6(toSchemaText));
    if (fromSchemaText !== null)
      writeFileSync(path.join(dir, 'from.prisma'), toPrisma6(fromSchemaText));
    writeFileSync(
      path.join(dir, 'prisma.config.mjs'),
      `import { PrismaPg } from '@prisma/adapter-pg';
export default { experimental: { adapter: true }, engine: 'js', schema: './to.prisma',
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }) };\n`,
    );
    const cli = path.join(root, 'packages/db/node_modules/prisma6/build/index.js');
    const from =
      fromSchemaText === null ? ['--from-empty'] : ['--from-schema-datamodel', 'from.prisma'];
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'migrate',
        'diff',
        '--config',
        'prisma.config.mjs',
        ...from,
        '--to-schema-datamodel',
        'to.prisma',
        '--script',
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          // The wasm engine opens (but does not change) a database even for a datamodel-to-datamodel diff.
          DATABASE_URL:
            process.env.DIFF_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
          PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
          PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
          CHECKPOINT_DISABLE: '1',
        },
      },
    );
    if (r.status !== 0) throw new Error(`prisma migrate diff failed:\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readSchema(rel = 'prisma/schema.prisma') {
  return readFileSync(path.join(root, rel), 'utf8');
}
