import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '@scaidrive/testkit';
import { bearer, expectError, startApi, type ApiHarness, type TenantFixture } from './harness.js';

/**
 * `pnpm token:issue`: the operator's way to mint, list and revoke service tokens, run as the real
 * CLI process against the database; the tokens it prints are checked against the real API.
 */
let h: ApiHarness;
let t: TenantFixture;

beforeAll(async () => {
  h = await startApi();
  t = await h.tenant('Cli');
});
afterAll(async () => {
  await h?.close();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        path.join(repoRoot, 'apps/api/src/cli/issue-token.ts'),
        ...args,
      ],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: h.db.url, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}

describe('token CLI', () => {
  it('issues a token that works once, lists it without the secret, and revokes it', async () => {
    const issued = await cli([
      '--tenant',
      t.tenantId,
      '--user',
      t.adminId,
      '--name',
      'ci-bot',
      '--scopes',
      'tenant:admin',
      '--expires-in',
      '2h',
    ]);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    // stdout is the token alone (scriptable); the notice goes to stderr and never holds the token.
    expect(token.split('\n')).toHaveLength(1);
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(issued.stderr).toMatch(/^issued tok_\w+ for usr_\w+ .*it is not shown again/);
    expect(issued.stderr).not.toContain(token);
    const tokenId = /issued (tok_\w+)/.exec(issued.stderr)![1]!;

    const ok = await h.http.get('/api/v1/smb-connectors').set(bearer(token));
    expect(ok.status).toBe(200);

    const listed = await cli(['--list', '--tenant', t.tenantId]);
    expect(listed.code).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(tokenId))!;
    expect(line.split('\t').slice(1, 2)).toEqual(['active']);
    expect(line).toContain('ci-bot');
    expect(line).toContain('tenant:admin');
    expect(listed.stdout).not.toContain(token);
    const expires = /expires=(\S+)/.exec(line)![1]!;
    const hours = (Date.parse(expires) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThanOrEqual(2);

    const revoked = await cli(['--revoke', tokenId, '--tenant', t.tenantId]);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${tokenId}\n` });
    expectError(
      await h.http.get('/api/v1/smb-connectors').set(bearer(token)),
      401,
      'AUTH_TOKEN_INVALID',
    );
    const again = await cli(['--revoke', tokenId, '--tenant', t.tenantId]);
    expect(again).toMatchObject({ code: 1, stdout: `no active token ${tokenId}\n` });
  }, 120_000);

  it('cannot revoke another tenant’s token', async () => {
    const other = await h.tenant('CliOther');
    const issued = await cli(['--tenant', other.tenantId, '--user', other.adminId]);
    expect(issued.code).toBe(0);
    const tokenId = /issued (tok_\w+)/.exec(issued.stderr)![1]!;
    const cross = await cli(['--revoke', tokenId, '--tenant', t.tenantId]);
    expect(cross.code).toBe(1);
    const ok = await h.http.get('/api/v1/smb-connectors').set(bearer(issued.stdout.trim()));
    expect(ok.status).toBe(200);
  }, 120_000);

  it('rejects bad input with a clear message and no stack trace', async () => {
    const stranger = (await h.tenant('CliStranger')).adminId;
    const cases: [string[], number, RegExp][] = [
      [['--tenant', t.tenantId, '--user', stranger], 1, /User usr_\w+ in tenant tnt_\w+/],
      [
        ['--tenant', t.tenantId, '--user', t.adminId, '--expires-at', '2000-01-01T00:00:00Z'],
        1,
        /expires: must be in the future/,
      ],
      [[], 2, /^Issue, list or revoke/],
      [['--tenant', t.tenantId], 1, /--user is required/],
      [
        ['--tenant', t.tenantId, '--user', t.adminId, '--expires-in', '5x'],
        1,
        /--expires-in must look like 90d/,
      ],
      [
        ['--tenant', t.tenantId, '--user', t.adminId, '--expires-at', 'soon'],
        1,
        /--expires-at is not a valid date/,
      ],
      [['--tenant', t.tenantId, '--bogus'], 1, /Unknown option '--bogus'/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(`${r.stdout}${r.stderr}`).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const noDb = await cli(['--tenant', t.tenantId, '--user', t.adminId], { DATABASE_URL: '' });
    expect(noDb.code).toBe(1);
    expect(noDb.stderr).toMatch(/DATABASE_URL/);
  }, 180_000);
});
