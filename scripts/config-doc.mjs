// `pnpm config:doc`: rewrites the configuration table of README.md from packages/core/src/config.ts
// (the one place that reads the environment). A test fails when the README is out of date.
import { readFileSync, writeFileSync } from 'node:fs';

const { configTableMarkdown } = await import('../packages/core/dist/config.js');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const readme = readFileSync('README.md', 'utf8');
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error('README.md has no config-table markers');
writeFileSync(
  'README.md',
  `${readme.slice(0, i + start.length)}\n${configTableMarkdown()}\n${readme.slice(j)}`,
);
console.log('README.md configuration table updated');
