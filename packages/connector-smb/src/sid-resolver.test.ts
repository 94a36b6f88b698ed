import { describe, expect, it } from '@jest/globals';
import type { LookupNamesResult, ResolvedSid } from '@scaidrive/smb-client';
import { SidResolver, type LsaLookup } from './sid-resolver.js';

const ALICE = 'S-1-5-21-1-2-3-1001';
const FIN = 'S-1-5-21-1-2-3-2001';

function fakeLsa(): LsaLookup & { sidCalls: string[][]; fail: boolean } {
  const known: Record<string, ResolvedSid> = {
    [ALICE]: { sid: ALICE, domain: 'CORP', name: 'alice', fullName: 'CORP\\alice', type: 'user' },
    [FIN]: { sid: FIN, domain: 'CORP', name: 'Finance', fullName: 'CORP\\Finance', type: 'alias' },
  };
  const lsa = {
    sidCalls: [] as string[][],
    fail: false,
    async lookupSids(sids: string[]) {
      lsa.sidCalls.push(sids);
      await new Promise((r) => setTimeout(r, 5));
      if (lsa.fail) throw new Error('pipe not available');
      return new Map(sids.filter((s) => known[s]).map((s) => [s, known[s]!]));
    },
    async lookupNames(names: string[]) {
      const out = new Map<string, LookupNamesResult>();
      for (const n of names) {
        const hit = Object.values(known).find(
          (k) => k.fullName.toLowerCase() === n.toLowerCase() || k.name === n,
        );
        if (hit) out.set(n, { name: n, sid: hit.sid, type: hit.type, domain: hit.domain });
      }
      return out;
    },
  };
  return lsa;
}

describe('SidResolver', () => {
  it('names SIDs once (cached, concurrent requests share a call, unknown ones too)', async () => {
    const lsa = fakeLsa();
    const r = new SidResolver(lsa);
    const [a, b] = await Promise.all([r.names([ALICE, 'S-1-5-21-9-9-9-9']), r.names([ALICE, FIN])]);
    expect(a.get(ALICE)).toEqual({ name: 'CORP\\alice', type: 'user' });
    expect(a.has('S-1-5-21-9-9-9-9')).toBe(false);
    expect(b.get(FIN)).toEqual({ name: 'CORP\\Finance', type: 'group' });
    await r.names([ALICE, FIN, 'S-1-5-21-9-9-9-9', 'not-a-sid']);
    expect(lsa.sidCalls.flat().sort()).toEqual([ALICE, FIN, 'S-1-5-21-9-9-9-9'].sort());
  });

  it('degrades to bare SIDs when LSARPC fails and retries after the back-off', async () => {
    const lsa = fakeLsa();
    lsa.fail = true;
    let now = 0;
    const r = new SidResolver(lsa, { backoffMs: 1000, now: () => now });
    expect((await r.names([ALICE])).size).toBe(0);
    expect(r.lastError).toBeInstanceOf(Error);
    lsa.fail = false;
    expect((await r.names([ALICE])).size).toBe(0); // within the back-off: no call
    expect(lsa.sidCalls).toHaveLength(1);
    now = 1000;
    expect((await r.names([ALICE])).get(ALICE)?.name).toBe('CORP\\alice');
  });

  it('resolves DOMAIN\\name and SIDs to SIDs and names', async () => {
    const r = new SidResolver(fakeLsa());
    const res = await r.resolveNames(['CORP\\alice', ` ${FIN.toLowerCase()} `, 'CORP\\nobody', '']);
    expect(res.get('CORP\\alice')).toEqual({
      name: 'CORP\\alice',
      sid: ALICE,
      fullName: 'CORP\\alice',
      type: 'user',
    });
    expect(res.get(FIN.toLowerCase())).toMatchObject({
      sid: FIN,
      fullName: 'CORP\\Finance',
      type: 'group',
    });
    expect(res.has('CORP\\nobody')).toBe(false);
    // A resolved name also names its SID from then on.
    expect((await r.names([ALICE])).get(ALICE)?.name).toBe('CORP\\alice');
  });
});
