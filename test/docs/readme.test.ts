import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configTableMarkdown } from '@scaidrive/core';
import { repoRoot } from '@scaidrive/testkit';

describe('README', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

  it('documents every configuration variable as config.ts defines it (pnpm config:doc)', () => {
    expect(readme).toContain(configTableMarkdown());
  });

  it('names the run and test commands', () => {
    expect(readme).toMatch(/^pnpm start\b/m);
    expect(readme).toMatch(/^pnpm test\b/m);
  });
});
