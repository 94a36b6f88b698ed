import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SecretBox, generateSecretKeySpec, parseSecretKeys } from './secret-box.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

describe('SecretBox', () => {
  it('round-trips and never contains the plaintext', () => {
    const box = new SecretBox([k1]);
    const env = box.encrypt('hunter2-päss', 'connector:cnn_1:password');
    expect(env).not.toContain('hunter2');
    expect(env.startsWith('v1.k1.')).toBe(true);
    expect(box.decrypt(env, 'connector:cnn_1:password')).toBe('hunter2-päss');
  });

  it('uses a fresh IV each time', () => {
    const box = new SecretBox([k1]);
    expect(box.encrypt('x', 'c')).not.toBe(box.encrypt('x', 'c'));
  });

  it('rejects tampered ciphertext, tag, IV and a different context', () => {
    const box = new SecretBox([k1]);
    const env = box.encrypt('secret value', 'ctx');
    const parts = env.split('.');
    const flip = (s: string): string => {
      const b = Buffer.from(s, 'base64url');
      b[0] = b[0]! ^ 1;
      return b.toString('base64url');
    };
    for (const i of [2, 3, 4]) {
      const bad = [...parts];
      bad[i] = flip(bad[i]!);
      expect(() => box.decrypt(bad.join('.'), 'ctx')).toThrow(/failed authentication/);
    }
    expect(() => box.decrypt(env, 'other-ctx')).toThrow(/failed authentication/);
    expect(() => box.decrypt('garbage', 'ctx')).toThrow(/unrecognised/);
  });

  it('rotates: decrypts with any configured key, encrypts with the primary', () => {
    const old = new SecretBox([k1]);
    const env = old.encrypt('s', 'ctx');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.decrypt(env, 'ctx')).toBe('s');
    expect(rotated.needsRotation(env)).toBe(true);
    const again = rotated.encrypt('s', 'ctx');
    expect(again.split('.')[1]).toBe('k2');
    expect(rotated.needsRotation(again)).toBe(false);
    expect(() => new SecretBox([k2]).decrypt(env, 'ctx')).toThrow(
      /key "k1", which is not configured/,
    );
  });

  it('parses key specs and rejects bad keys', () => {
    const spec = generateSecretKeySpec('a');
    expect(parseSecretKeys(`${spec},${generateSecretKeySpec('b')}`).map((k) => k.id)).toEqual([
      'a',
      'b',
    ]);
    expect(() => parseSecretKeys('a:c2hvcnQ=')).toThrow(/32 bytes/);
    expect(() => parseSecretKeys('nokey')).toThrow(/without an id/);
    expect(() => new SecretBox([{ id: 'x', key: randomBytes(16) }])).toThrow(/32 bytes/);
  });
});
