import { describe, it, expect } from '@jest/globals';
import { Pacer, PacerRegistry, parseRetryAfter } from './pacer.js';
import { Transport } from './transport.js';

describe('pacer', () => {
  it('parses Retry-After in seconds and as an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('reports a throttling wait to the transport that waited, not to every user of the pacer', async () => {
    const p = new Pacer();
    const aWaits: number[] = [];
    const bWaits: number[] = [];
    const a = new Transport(p, 'test', (ms) => aWaits.push(ms));
    new Transport(p, 'test', (ms) => bWaits.push(ms));
    p.throttled({ status: 429, retryAfterMs: 60, kind: 'graph' });
    const res = await a.attempts('graph', undefined, () => Promise.resolve(new Response('ok')));
    expect(res.status).toBe(200);
    expect(aWaits).toHaveLength(1);
    expect(aWaits[0]).toBeGreaterThan(30);
    expect(bWaits).toEqual([]);
    // A turn that only waited for spacing is not a throttling wait.
    expect(await p.turn()).toBe(0);
  });

  it('makes every caller wait out a Retry-After and counts the wait', async () => {
    const p = new Pacer();
    const waits: number[] = [];
    p.on('wait', (ms) => waits.push(ms));
    p.throttled({ status: 429, retryAfterMs: 80, kind: 'graph' });
    const t0 = Date.now();
    await Promise.all([p.turn(), p.turn(), p.turn()]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    expect(waits).toHaveLength(3);
    expect(p.stats.waitMs).toBeGreaterThanOrEqual(200);
    expect(p.stats.throttled).toBe(1);
  });

  it('backs off on failures and decays on success', () => {
    const p = new Pacer({ minSleepMs: 10, maxSleepMs: 100 });
    expect(p.failed()).toBe(20);
    expect(p.failed()).toBe(40);
    expect(p.failed()).toBe(80);
    expect(p.failed()).toBe(100);
    p.success();
    p.success();
    p.success();
    p.success();
    p.success();
    expect(p.failed()).toBeLessThan(100);
  });

  it('shares one pacer per key', () => {
    const r = new PacerRegistry();
    expect(r.get('a')).toBe(r.get('a'));
    expect(r.get('a')).not.toBe(r.get('b'));
  });
});
