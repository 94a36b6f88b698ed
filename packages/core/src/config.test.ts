import { describe, expect, it } from '@jest/globals';
import { ConfigError, configTableMarkdown, loadConfig } from './config.js';
import { generateSecretKeySpec } from './secret-box.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8080);
    expect(c.WORKER_CONCURRENCY).toBe(2);
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.SOURCE_HOST_DENYLIST).toContain('169.254.0.0/16');
    expect(c.CHUNK_GC_GRACE_SECONDS).toBe(3600);
  });

  it('names every bad variable in one error, without echoing values', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        WORKER_CONCURRENCY: '0',
        DATABASE_URL: 'mysql://root:topsecret@x/y',
        SECRET_KEYS: 'k1:dG9vc2hvcnQ=',
        LOG_LEVEL: 'loud',
        // Below the floor: uploads re-touch chunks every quarter of the grace.
        CHUNK_GC_GRACE_SECONDS: '10',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.issues.map((i) => i.field).sort()).toEqual(
      [
        'CHUNK_GC_GRACE_SECONDS',
        'DATABASE_URL',
        'LOG_LEVEL',
        'PORT',
        'SECRET_KEYS',
        'WORKER_CONCURRENCY',
      ].sort(),
    );
    expect(ce.message).not.toContain('topsecret');
    expect(ce.message).toMatch(/PORT: must be an integer/);
  });

  it('requires database and keys in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /DATABASE_URL: required[\s\S]*SECRET_KEYS: required/,
    );
    const c = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://u@h/db',
      SECRET_KEYS: generateSecretKeySpec('k9'),
    });
    expect(c.secretKeys?.[0]?.id).toBe('k9');
  });

  it('keeps the run budget below the queue expiry (23 h), so the checkpoint finishes in time', () => {
    expect(loadConfig({ JOB_MAX_RUNTIME_SECONDS: '79200' }).JOB_MAX_RUNTIME_SECONDS).toBe(79_200);
    expect(() => loadConfig({ JOB_MAX_RUNTIME_SECONDS: '82800' })).toThrow(
      /JOB_MAX_RUNTIME_SECONDS/,
    );
  });

  it('renders a documentation table with every variable', () => {
    const md = configTableMarkdown();
    expect(md).toContain('| `DATABASE_URL` |');
    expect(md).toContain('| `TRANSFER_CONCURRENCY` | worker | `4` |');
  });
});
