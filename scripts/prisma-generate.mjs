// `prisma generate` wants a schema-engine binary it cannot download offline, but generation does not
// use it: point PRISMA_SCHEMA_ENGINE_BINARY at any existing file (see NOTES-toolchain).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve('packages/db/package.json'));
const cli = require.resolve('prisma/build/index.js');
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
env.CHECKPOINT_DISABLE = '1';
const r = spawnSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env,
});
if (r.status !== 0) {
  process.stdout.write(r.stdout);
  process.exit(r.status ?? 1);
}
