import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const require = createRequire(path.join(root, 'package.json'));
const swc = require('@swc/core');
const entries = {
  core: 'packages/core/src/index.ts',
  db: 'packages/db/src/index.ts',
  jobs: 'packages/jobs/src/index.ts',
  sync: 'packages/sync/src/index.ts',
  drive: 'packages/drive/src/index.ts',
  testkit: 'test/support/index.ts',
};

export async function resolve(specifier, context, next) {
  const m = /^@scaidrive\/([a-z-]+)$/.exec(specifier);
  if (m && entries[m[1]]) {
    return { url: pathToFileURL(path.join(root, entries[m[1]])).href, shortCircuit: true };
  }
  if (
    (specifier.startsWith('.') || specifier.startsWith('/')) &&
    specifier.endsWith('.js') &&
    context.parentURL
  ) {
    const target = new URL(specifier, context.parentURL);
    const ts = fileURLToPath(target).replace(/\.js$/, '.ts');
    if (existsSync(ts)) return { url: pathToFileURL(ts).href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const file = fileURLToPath(url);
    const { code } = swc.transformSync(readFileSync(file, 'utf8'), {
      filename: file,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    });
    return { format: 'module', source: code, shortCircuit: true };
  }
  return next(url, context);
}
