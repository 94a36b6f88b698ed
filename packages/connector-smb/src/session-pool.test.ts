import { describe, expect, it } from '@jest/globals';
import { AuthFailedError } from '@scaidrive/core';
import type { SmbClientOptions, SmbSession } from '@scaidrive/smb-client';
import { SmbSessionPool } from './session-pool.js';
import { Semaphore } from './semaphore.js';

function fakeConnect(opts: { failFor?: string } = {}) {
  const sessions: { options: SmbClientOptions; closed: boolean }[] = [];
  const connect = async (options: SmbClientOptions): Promise<SmbSession> => {
    await new Promise((r) => setTimeout(r, 5));
    if (options.password === opts.failFor) throw new AuthFailedError('SMB authentication failed');
    const rec = { options, closed: false };
    sessions.push(rec);
    return {
      openShare: async (name: string) => ({ share: name, encrypted: false }),
      close: async () => void (rec.closed = true),
      lookupSids: async () => new Map(),
      lookupNames: async () => new Map(),
    } as unknown as SmbSession;
  };
  return { connect, sessions };
}

const cfg = (over = {}) => ({
  id: 'cnn_1',
  serverHost: 'fs.example.test',
  shareName: 'Data',
  username: 'svc',
  password: 'pw',
  ...over,
});

describe('SmbSessionPool', () => {
  it('shares one session per connector and closes it with the last lease', async () => {
    const f = fakeConnect();
    const pool = new SmbSessionPool({ connect: f.connect });
    const [a, b] = await Promise.all([pool.acquire(cfg()), pool.acquire(cfg())]);
    expect(f.sessions).toHaveLength(1);
    expect(a.session).toBe(b.session);
    expect(a.sids).toBe(b.sids);
    const other = await pool.acquire(cfg({ id: 'cnn_2' }));
    expect(f.sessions).toHaveLength(2);
    expect(f.sessions[0]!.options).toMatchObject({
      host: 'fs.example.test',
      port: 445,
      domain: '',
    });
    await a.release();
    await a.release(); // idempotent
    expect(f.sessions[0]!.closed).toBe(false);
    await b.release();
    expect(f.sessions[0]!.closed).toBe(true);
    expect(pool.size).toBe(1);
    await other.release();
    expect(pool.size).toBe(0);
  });

  it('opens a new session when the configuration changed (password rotated)', async () => {
    const f = fakeConnect();
    const pool = new SmbSessionPool({ connect: f.connect });
    const a = await pool.acquire(cfg());
    const b = await pool.acquire(cfg({ password: 'rotated' }));
    expect(a.session).not.toBe(b.session);
    await Promise.all([a.release(), b.release()]);
    expect(f.sessions.every((s) => s.closed)).toBe(true);
  });

  it('keeps an idle session for idleMs, reuses it, and forgets failed connects', async () => {
    const f = fakeConnect({ failFor: 'bad' });
    const pool = new SmbSessionPool({ connect: f.connect, idleMs: 50 });
    const a = await pool.acquire(cfg());
    await a.release();
    const b = await pool.acquire(cfg());
    expect(b.session).toBe(a.session);
    await b.release();
    await new Promise((r) => setTimeout(r, 120));
    expect(f.sessions[0]!.closed).toBe(true);
    expect(pool.size).toBe(0);
    await expect(pool.acquire(cfg({ password: 'bad' }))).rejects.toBeInstanceOf(AuthFailedError);
    expect(pool.size).toBe(0);
    const c = await pool.acquire(cfg());
    await pool.closeAll();
    expect(f.sessions.at(-1)!.closed).toBe(true);
    await c.release();
  });
});

describe('Semaphore', () => {
  it('bounds concurrency in FIFO order', async () => {
    const s = new Semaphore(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        s.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          order.push(i);
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    await expect(s.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await s.run(async () => 7)).toBe(7);
  });
});
