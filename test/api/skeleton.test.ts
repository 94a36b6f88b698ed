import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, expectError, startApi, type ApiHarness } from './harness.js';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi({ BODY_LIMIT: '2kb' });
});
afterAll(async () => {
  await h?.close();
});

describe('system endpoints', () => {
  it('health answers without a token', async () => {
    const res = await h.http.get('/api/v1/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'healthy', version: expect.any(String) });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ready checks database and queue', async () => {
    const res = await h.http.get('/api/v1/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } });
  });

  it('ready stays 503 until the queue is started, even though the database answers', async () => {
    const h2 = await startApi({}, { start: false });
    try {
      const before = await h2.http.get('/api/v1/ready');
      expect(before.status).toBe(503);
      expect(before.body).toEqual({
        status: 'not_ready',
        checks: { database: 'ok', queue: 'error' },
      });
      await h2.runtime.start();
      const after = await h2.http.get('/api/v1/ready');
      expect(after.status).toBe(200);
    } finally {
      await h2.close();
    }
  });

  it('serves the OpenAPI 3.1 document and a self-contained reference page', async () => {
    const doc = await h.http.get('/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.paths['/health']).toBeDefined();
    const page = await h.http.get('/api/v1/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('/health');
    expect(page.text).not.toMatch(/<script|https?:\/\/(?!localhost)[a-z]/i);
  });

  it('sets helmet headers', async () => {
    const res = await h.http.get('/api/v1/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('request ids', () => {
  it('echoes a well-formed incoming X-Request-Id', async () => {
    const res = await h.http.get('/api/v1/health').set('X-Request-Id', 'abc-123_XYZ.42');
    expect(res.headers['x-request-id']).toBe('abc-123_XYZ.42');
  });

  it('replaces a malformed one', async () => {
    const res = await h.http.get('/api/v1/health').set('X-Request-Id', 'bad id <script>');
    expect(res.headers['x-request-id']).not.toContain('bad');
  });

  it('puts the request id in every log line of the request', async () => {
    await h.http.get('/api/v1/health').set('X-Request-Id', 'trace-log-0001');
    const lines = h.logs.lines.filter((l) => l.includes('trace-log-0001'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l).request_id).toBe('trace-log-0001');
  });
});

describe('errors', () => {
  it('401 without a token, in the envelope', async () => {
    const res = await h.http.get('/api/v1/smb-connectors');
    expectError(res, 401, 'AUTH_TOKEN_INVALID');
  });

  it('401 for a forged service token', async () => {
    const res = await h.http.get('/api/v1/smb-connectors').set(bearer('sdt_' + 'A'.repeat(43)));
    expectError(res, 401, 'AUTH_TOKEN_INVALID');
  });

  it('404 envelope for an unknown endpoint', async () => {
    const res = await h.http.get('/api/v1/nope').set(bearer(h.t1.adminToken));
    expectError(res, 404, 'NOT_FOUND');
    const outside = await h.http.get('/elsewhere');
    expectError(outside, 404, 'NOT_FOUND');
  });

  it('400 for invalid JSON and 413 for an oversized body', async () => {
    const bad = await h.http
      .post('/api/v1/smb-connectors')
      .set(bearer(h.t1.adminToken))
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    const e = expectError(bad, 400, 'VALIDATION_ERROR');
    expect(e.details).toEqual([{ path: 'body', reason: 'is not valid JSON' }]);
    const big = await h.http
      .post('/api/v1/smb-connectors')
      .set(bearer(h.t1.adminToken))
      .send({ name: 'x'.repeat(4000) });
    expectError(big, 413, 'PAYLOAD_TOO_LARGE');
  });
});
