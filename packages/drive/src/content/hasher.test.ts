import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ContentHasher, digestShared, sharedBuffer, stopHashThreads } from './hasher.js';

const sha = (...parts: Buffer[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function filled(size: number): Buffer {
  const b = sharedBuffer(size);
  randomBytes(size).copy(b);
  return b;
}

describe('hash threads', () => {
  it('answer each chunk digest and the whole-content digest in feed order', async () => {
    const parts = [filled(1024 * 1024), filled(3), filled(512 * 1024)];
    const hasher = new ContentHasher();
    const digests = await Promise.all(parts.map((p) => hasher.chunk(p)));
    expect(digests).toEqual(parts.map((p) => sha(p)));
    expect(await hasher.digest()).toBe(sha(...parts));
    // Order matters: the same chunks in another order are another content.
    expect(sha(...parts)).not.toBe(sha(parts[1]!, parts[0]!, parts[2]!));
  });

  it('fail an upload whose hash thread died midway, instead of hashing part of its content', async () => {
    const a = filled(64 * 1024);
    const hasher = new ContentHasher();
    await hasher.chunk(a);
    await stopHashThreads();
    await expect(hasher.chunk(a)).rejects.toThrow(/restarted during an upload/);
    await expect(hasher.digest()).rejects.toThrow(/restarted during an upload/);
    // A new upload gets a fresh thread and a correct digest.
    const fresh = new ContentHasher();
    await fresh.chunk(a);
    expect(await fresh.digest()).toBe(sha(a));
  });

  it('hash a view into a larger shared buffer (offset and length respected)', async () => {
    const big = filled(4096);
    const view = big.subarray(100, 1100);
    expect(await digestShared(view)).toBe(sha(Buffer.from(view)));
  });

  it('refuse buffers that are not shared (the threads would hash a copy of nothing)', () => {
    expect(() => digestShared(Buffer.alloc(10))).toThrow(/SharedArrayBuffer/);
  });

  it('keep the process alive while a digest is awaited, and not after', () => {
    // A process whose only pending work is a digest must get it (not exit early, losing the
    // write), and must exit by itself once the hash threads are idle.
    const hasherUrl = new URL('./hasher.ts', import.meta.url).href;
    const code = `
      const { ContentHasher, sharedBuffer } = await import(${JSON.stringify(hasherUrl)});
      const b = sharedBuffer(8 * 1024 * 1024); b.fill(7);
      const h = new ContentHasher();
      await h.chunk(b); await h.chunk(b);
      console.log(await h.digest());`;
    const res = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      {
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    const eight = Buffer.alloc(8 * 1024 * 1024, 7);
    expect({
      status: res.status,
      signal: res.signal,
      out: res.stdout.trim(),
      err: res.stderr,
    }).toEqual({
      err: '',
      status: 0,
      signal: null,
      out: sha(eight, eight),
    });
  });
});
