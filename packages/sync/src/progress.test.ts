import { describe, expect, it } from '@jest/globals';
import { RunAccounting } from './progress.js';

describe('RunAccounting: unmapped principals', () => {
  it('lists the first 200 in full and counts every distinct one', () => {
    const acct = new RunAccounting(1000, undefined, undefined);
    const sid = (i: number) => ({ kind: 'sid' as const, id: `S-1-5-21-1-2-3-${1000 + i}` });
    for (let round = 0; round < 2; round++)
      acct.addUnmapped(Array.from({ length: 250 }, (_, i) => sid(i)));
    acct.addUnmapped([{ kind: 'everyone', id: 'everyone' }, sid(3)]);
    expect(acct.unmappedPrincipals()).toHaveLength(200);
    expect(acct.unmappedPrincipals()[0]).toEqual(sid(0));
    expect(acct.unmappedPrincipalCount()).toBe(251);
  });
});
