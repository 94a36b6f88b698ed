// jest 30 on TypeScript ESM: swc transforms (no type-check; `pnpm typecheck` covers tests),
// workspace packages resolve to their sources so tests need no build.
const packages = {
  core: 'packages/core',
  db: 'packages/db',
  jobs: 'packages/jobs',
  sync: 'packages/sync',
  drive: 'packages/drive',
  'smb-client': 'packages/smb-client',
  'connector-smb': 'packages/connector-smb',
  'connector-sharepoint': 'packages/connector-sharepoint',
  api: 'apps/api',
  worker: 'apps/worker',
  standalone: 'apps/standalone',
};
const extra = {
  '^@scaidrive/testkit$': '<rootDir>/test/support/index.ts',
};

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    ...Object.fromEntries(
      Object.entries(packages).map(([name, dir]) => [
        `^@scaidrive/${name}$`,
        `<rootDir>/${dir}/src/index.ts`,
      ]),
    ),
    ...extra,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,packages}/*/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 60_000,
  maxWorkers: process.env.JEST_MAX_WORKERS ?? 2,
  // Safety net for CI only: a leaked handle must not hang the run (locally, leaks stay visible).
  forceExit: process.env.CI === 'true',
};
