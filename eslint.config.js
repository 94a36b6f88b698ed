import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sdkImports = [
  '@prisma/*',
  '@scaidrive/db',
  'pg',
  'pg-boss',
  'express',
  '@azure/*',
  '@microsoft/*',
  '@scaidrive/smb-client',
  '@scaidrive/drive',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'packages/db/src/generated/**',
      '.data/**',
      '.tmp/**',
      'coverage/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  // Dependency direction: packages never import apps.
  {
    files: ['packages/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@scaidrive/api', '@scaidrive/worker', '@scaidrive/standalone', '**/apps/**'],
              message: 'packages must not import apps',
            },
          ],
        },
      ],
    },
  },
  // The engine talks to ports only: no Prisma, Express, SDKs or concrete connectors.
  {
    files: ['packages/sync/**/*.ts'],
    ignores: ['packages/sync/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...sdkImports,
                '@scaidrive/api',
                '@scaidrive/worker',
                '@scaidrive/connector-*',
              ],
              message: 'packages/sync talks to ports only',
            },
          ],
        },
      ],
    },
  },
  // core imports nothing of ours.
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@scaidrive/*'], message: 'core imports nothing of ours' }] },
      ],
    },
  },
  {
    files: ['test/**/*.{ts,mjs}', 'bench/**/*.{ts,mjs}', 'scripts/**/*.mjs', '**/*.test.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
