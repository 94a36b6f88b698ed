import { describe, expect, it } from '@jest/globals';
import {
  AppError,
  AuthFailedError,
  ErrorCode,
  ItemError,
  ThrottledError,
  classifyError,
  isRetryable,
} from './errors.js';
import { newId, isId } from './ids.js';
import { compareCodePoints, driveNameProblem, nameKey, pathKey } from './names.js';

describe('error classification', () => {
  it('keeps the code and action of our errors', () => {
    expect(classifyError(new AuthFailedError('bad password'))).toMatchObject({
      code: 'CONNECTOR_AUTH_FAILED',
      action: 'fail_job',
    });
    expect(classifyError(new ThrottledError('slow down', 3000))).toMatchObject({
      action: 'retry_after',
      retryAfterMs: 3000,
    });
    expect(classifyError(new ItemError(ErrorCode.ITEM_LOCKED, 'locked')).action).toBe('skip_item');
    expect(new AppError(ErrorCode.ITEM_ACCESS_DENIED, 'x').action).toBe('skip_item');
  });

  it('treats network errors as retryable, even wrapped', () => {
    const sys = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isRetryable(sys)).toBe(true);
    expect(isRetryable(new Error('wrapped', { cause: sys }))).toBe(true);
    expect(classifyError(new Error('boom'))).toEqual({
      code: 'INTERNAL',
      action: 'fail_job',
      message: 'Internal error',
    });
  });

  it('treats an unreachable, starting or not-yet-created database as transient, bad SQL as not', () => {
    const pg = (code: string): Error => Object.assign(new Error(`pg ${code}`), { code });
    for (const code of ['08006', '57P03', '53300', '3D000']) {
      expect(classifyError(pg(code))).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        action: 'retry',
      });
    }
    expect(classifyError(pg('3D000')).message).toBe('Database does not exist (3D000)');
    // Deadlocks and serialization failures roll back the whole transaction: safe to run again.
    for (const code of ['40P01', '40001', 'P2034'])
      expect(classifyError(pg(code))).toMatchObject({ action: 'retry' });
    expect(classifyError(pg('42P01')).action).toBe('fail_job');
    expect(classifyError(pg('28P01')).action).toBe('fail_job');
  });
});

describe('ids', () => {
  it('makes prefixed ULIDs', () => {
    const id = newId('cnn');
    expect(id).toMatch(/^cnn_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isId(id, 'cnn')).toBe(true);
    expect(isId(id, 'shr')).toBe(false);
    expect(isId('cnn_../../etc', 'cnn')).toBe(false);
  });
});

describe('names', () => {
  it('compares NFC and case-insensitively', () => {
    expect(nameKey('Cafe\u0301.TXT')).toBe(nameKey('café.txt'));
    expect(pathKey('/A/B//c/')).toBe('a/b/c');
  });
  it('orders by code point like PostgreSQL "C"', () => {
    const s = ['b', 'a/b', 'a b', '\u{1F600}', '\uFF01', 'A'];
    expect([...s].sort(compareCodePoints)).toEqual(['A', 'a b', 'a/b', 'b', '\uFF01', '\u{1F600}']);
  });
  it('explains invalid drive names', () => {
    expect(driveNameProblem('ok name.txt')).toBeNull();
    expect(driveNameProblem('..')).toMatch(/not a valid name/);
    expect(driveNameProblem('a/b')).toMatch(/"\/"/);
    expect(driveNameProblem('a\u0000b')).toMatch(/control/);
    expect(driveNameProblem('x'.repeat(256))).toMatch(/longer/);
    expect(driveNameProblem('')).toMatch(/empty/);
  });
});
