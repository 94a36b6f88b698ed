import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, redact, REDACTED } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ format: 'json', level: 'debug', stream }), lines };
}

describe('logger redaction', () => {
  it('redacts secret-named keys at any depth and bearer tokens in strings', async () => {
    const { logger, lines } = capture();
    logger.info('connecting', {
      password: 'p@ss1',
      connector: { smb: { password: 'p@ss2', username: 'svc' }, azure_client_secret: 'cs3' },
      headers: { Authorization: 'Bearer abc.def.ghi' },
      list: [{ token: 'tok4' }, { refresh_token: 'rt5' }],
      note: 'sent Authorization: Bearer eyJhbGciOi.xyz',
      clientSecret: 'cs6',
    });
    logger.child({ request_id: 'req1' }).warn('child', { access_token: 'at7' });
    await new Promise((r) => setImmediate(r));
    const text = lines.join('');
    for (const s of [
      'p@ss1',
      'p@ss2',
      'cs3',
      'abc.def.ghi',
      'tok4',
      'rt5',
      'eyJhbGciOi',
      'cs6',
      'at7',
    ]) {
      expect(text).not.toContain(s);
    }
    const first = JSON.parse(lines[0]!);
    expect(first.connector.smb.username).toBe('svc');
    expect(first.connector.smb.password).toBe(REDACTED);
    expect(first.headers.Authorization).toBe(REDACTED);
    expect(JSON.parse(lines[1]!).request_id).toBe('req1');
  });

  it('serialises errors with their code and cause, redacted', () => {
    const err = Object.assign(new Error('login failed with Bearer sekrit'), {
      code: 'X',
      cause: { password: 'pw' },
    });
    const out = redact({ err }) as {
      err: { message: string; code: string; cause: { password: string } };
    };
    expect(out.err.message).not.toContain('sekrit');
    expect(out.err.code).toBe('X');
    expect(out.err.cause.password).toBe(REDACTED);
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(redact(a)).toEqual({ name: 'a', self: '[Circular]' });
  });
});
