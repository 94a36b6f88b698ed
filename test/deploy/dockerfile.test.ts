import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { readText, repoRoot } from './support.js';

/**
 * Lint of deploy/Dockerfile without a Docker engine: the `dockerfile-utils` validator (the one behind
 * the VS Code Docker extension: syntax, arguments, flags, JSON forms) with every optional rule as an
 * error, then hadolint-style rules of our own on the parsed instructions. If `hadolint` is on PATH
 * it runs too (it is not packaged for Debian or npm, so CI does not have it).
 */
interface Instruction {
  keyword: string;
  args: string;
  line: number;
  stage: number;
}

function parse(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let stage = -1;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const start = i;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = lines[++i]!;
      if (/^\s*#/.test(next)) continue;
      line = `${line.slice(0, -1)} ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`line ${start + 1}: cannot parse "${line}"`);
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2]!.trim(), line: start + 1, stage });
  }
  return out;
}

const text = readText('deploy/Dockerfile');
const instructions = parse(text);
const stages = instructions.filter((i) => i.keyword === 'FROM');
const finalStage = stages.length - 1;
const inFinal = (k: string) =>
  instructions.filter((i) => i.stage === finalStage && i.keyword === k);
const jsonArgs = (i: Instruction) => JSON.parse(i.args.replace(/^(--\S+\s+)*/, '')) as string[];

describe('deploy/Dockerfile', () => {
  it('passes the dockerfile-utils validator with every rule as an error', () => {
    const E = ValidationSeverity.ERROR;
    const problems = validate(text, {
      deprecatedMaintainer: E,
      directiveCasing: E,
      emptyContinuationLine: E,
      instructionCasing: E,
      instructionCmdMultiple: E,
      instructionEntrypointMultiple: E,
      instructionHealthcheckMultiple: E,
      instructionJSONInSingleQuotes: E,
      instructionWorkdirRelative: E,
    });
    expect(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });

  it('has build stages and a runtime stage from a pinned Node 24 slim image', () => {
    expect(stages.map((s) => s.args)).toEqual([
      '${NODE_IMAGE} AS deps',
      'deps AS build',
      '${NODE_IMAGE} AS runtime',
    ]);
    const arg = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))!;
    // DL3006/DL3007: an explicit, non-latest tag; Node 24 as the project requires.
    expect(arg.args).toMatch(/^NODE_IMAGE=node:24\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('builds with a frozen lockfile and ships the bundle made by deploy/docker/bundle.mjs', () => {
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('pnpm fetch'))).toBe(true);
    expect(runs.some((r) => r.includes('pnpm install --offline --frozen-lockfile'))).toBe(true);
    expect(runs.some((r) => r.includes('pnpm build'))).toBe(true);
    expect(runs.some((r) => r.includes('node deploy/docker/bundle.mjs /out/app'))).toBe(true);
    // The runtime stage gets the bundle and nothing else from the build.
    const copies = inFinal('COPY');
    expect(copies.map((c) => c.args)).toEqual(['--from=build --chown=root:root /out/app /app']);
    // Files the build needs exist where the Dockerfile expects them.
    for (const f of ['deploy/docker/bundle.mjs', 'deploy/docker/scaidrive.mjs', 'pnpm-lock.yaml'])
      expect(existsSync(path.join(repoRoot, f))).toBe(true);
  });

  it('follows hadolint rules: no ADD, apt pinned and cleaned, no sudo, exec forms, WORKDIR absolute', () => {
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]); // DL3020
    expect(instructions.filter((i) => i.keyword === 'MAINTAINER')).toEqual([]); // DL4000
    for (const r of instructions.filter((i) => i.keyword === 'RUN')) {
      expect(r.args).not.toMatch(/\bsudo\b/); // DL3004
      expect(r.args).not.toMatch(/\bapt\s/); // DL3027
      expect(r.args).not.toMatch(/(^|\s)cd\s/); // DL3003
      if (/apt-get install/.test(r.args)) {
        expect(r.args).toMatch(/apt-get install -y --no-install-recommends/); // DL3014, DL3015
        expect(r.args).toMatch(/rm -rf \/var\/lib\/apt\/lists/); // DL3009
        const pkgs = /apt-get install -y --no-install-recommends ([^&]+)/.exec(r.args)![1]!.trim();
        for (const p of pkgs.split(/\s+/)) expect(p).toMatch(/=/); // DL3008
      }
      if (/npm install -g/.test(r.args)) expect(r.args).toMatch(/pnpm@\$\{PNPM_VERSION\}/); // DL3016
    }
    for (const w of instructions.filter((i) => i.keyword === 'WORKDIR'))
      expect(w.args).toMatch(/^\//);
    for (const k of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK']) {
      const [i] = inFinal(k);
      expect(i).toBeDefined();
      expect(() =>
        k === 'HEALTHCHECK' ? JSON.parse(i!.args.replace(/^.*CMD\s+/, '')) : jsonArgs(i!),
      ).not.toThrow(); // DL3025
    }
  });

  it('runs as a non-root numeric user under tini, with a health check and OCI labels', () => {
    const users = inFinal('USER');
    expect(users).toHaveLength(1);
    expect(users[0]!.args).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric: runAsNonRoot can verify it
    const entry = jsonArgs(inFinal('ENTRYPOINT')[0]!);
    expect(entry.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(entry.slice(2)).toEqual(['node', '/app/bin/scaidrive.mjs']);
    expect(jsonArgs(inFinal('CMD')[0]!)).toEqual(['api']);
    const hc = inFinal('HEALTHCHECK')[0]!.args;
    expect(hc).toMatch(/--interval=\d+s/);
    expect(hc).toMatch(/CMD \["node", "\/app\/bin\/scaidrive\.mjs", "healthcheck"\]$/);
    const labels = inFinal('LABEL')
      .map((l) => l.args)
      .join(' ');
    for (const l of [
      'title',
      'description',
      'version',
      'revision',
      'created',
      'licenses',
      'vendor',
    ])
      expect(labels).toContain(`org.opencontainers.image.${l}=`);
    const env = inFinal('ENV')
      .map((e) => e.args)
      .join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/DATA_DIR=\/data/);
    expect(inFinal('EXPOSE')[0]!.args).toBe('8080 9090');
    // Nothing writable in the image but /data (owned by the service user); /tmp comes from tmpfs.
    const run = inFinal('RUN')
      .map((r) => r.args)
      .join(' ');
    expect(run).toMatch(/chown 10001:10001 \/data \/data\/blobs/);
    expect(run).toMatch(/rm -rf \/usr\/local\/lib\/node_modules\/npm/);
  });

  it('has a .dockerignore that keeps local state, secrets and build output out of the context', () => {
    const ignore = readText('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of [
      '**/node_modules',
      '**/dist',
      '.git',
      '.env',
      '**/.data',
      'packages/db/src/generated',
    ])
      expect(ignore).toContain(p);
    // The test workspace member's manifest stays in: `pnpm install --frozen-lockfile` needs it.
    expect(ignore.indexOf('!test/package.json')).toBeGreaterThan(ignore.indexOf('test'));
    // Everything the build uses is not ignored.
    for (const needed of [
      'prisma',
      'scripts',
      'apps',
      'packages',
      'deploy/docker',
      'pnpm-lock.yaml',
    ])
      expect(ignore).not.toContain(needed);
  });

  it('passes hadolint when it is installed', () => {
    const probe = spawnSync('hadolint', ['--version'], { encoding: 'utf8' });
    if (probe.error) return; // not installed: the rules above stand in for it (deploy/README.md)
    const r = spawnSync('hadolint', [path.join(repoRoot, 'deploy', 'Dockerfile')], {
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
