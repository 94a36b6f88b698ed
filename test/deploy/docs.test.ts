import { describe, it, expect } from '@jest/globals';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { QUEUE_CONNECTOR_SYNC_DLQ, QUEUE_DEPTH_SQL } from '@scaidrive/jobs';
import { readText, repoRoot } from './support.js';

/** The deployment guide and the runbook stay in step with the code they describe. */
const runbook = readText('docs/operations.md');
const guide = readText('deploy/README.md');

describe('deployment docs', () => {
  it('the runbook lists every worker metric', () => {
    const names = [...readText('apps/worker/src/metrics.ts').matchAll(/name: '([a-z_]+)'/g)].map(
      (m) => m[1]!,
    );
    expect(names.length).toBeGreaterThan(5);
    for (const n of names) expect([n, runbook.includes(`\`${n}\``)]).toEqual([n, true]);
    // Default process metrics carry the registry prefix.
    expect(readText('apps/worker/src/metrics.ts')).toContain("prefix: 'scaidrive_worker_'");
    expect(runbook).toContain('`scaidrive_worker_*`');
  });

  it('names the dead-letter queue and the autoscaling query as the code defines them', () => {
    expect(runbook).toContain(`'${QUEUE_CONNECTOR_SYNC_DLQ}'`);
    expect(guide).toContain(QUEUE_DEPTH_SQL);
  });

  it('links resolve and the README points at both guides', () => {
    const readme = readText('README.md');
    const section = readme.slice(readme.indexOf('## Deploying'));
    expect(section).toContain('](deploy/README.md)');
    expect(section).toContain('](docs/operations.md)');
    for (const [file, text] of [
      ['deploy/README.md', guide],
      ['docs/operations.md', runbook],
    ] as const)
      for (const m of text.matchAll(/\]\((?!https?:)([^)#]+)\)/g))
        expect([file, m[1], existsSync(path.resolve(repoRoot, path.dirname(file), m[1]!))]).toEqual(
          [file, m[1], true],
        );
  });
});
