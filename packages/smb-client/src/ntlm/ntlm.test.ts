import { describe, expect, it } from '@jest/globals';
import { rc4 } from '../crypto/rc4.js';
import { computeNtlmv2, ntHash, ntowfv2 } from './crypto.js';
import { AvId } from './constants.js';
import { encodeAvPairs, parseAvPairs, parseChallenge } from './messages.js';
import { NtlmMechanism } from './mechanism.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** [MS-NLMP] 4.2.1 common values and 4.2.4 NTLMv2 authentication. */
describe('NTLMv2 ([MS-NLMP] 4.2.4 test vectors)', () => {
  const user = 'User';
  const domain = 'Domain';
  const password = 'Password';
  const serverChallenge = h('0123456789abcdef');
  const clientChallenge = h('aaaaaaaaaaaaaaaa');
  const time = Buffer.alloc(8);
  const randomSessionKey = Buffer.alloc(16, 0x55);
  const targetInfo = encodeAvPairs([
    { id: AvId.NB_DOMAIN_NAME, value: Buffer.from('Domain', 'utf16le') },
    { id: AvId.NB_COMPUTER_NAME, value: Buffer.from('Server', 'utf16le') },
  ]);

  it('NT hash of "Password"', () => {
    expect(ntHash(password).toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });
  it('NTOWFv2', () => {
    expect(ntowfv2(password, user, domain).toString('hex')).toBe(
      '0c868a403bfd7a93a3001ef22ef02e3f',
    );
  });
  it('responses, session base key and encrypted session key', () => {
    const r = computeNtlmv2(
      ntowfv2(password, user, domain),
      serverChallenge,
      clientChallenge,
      time,
      targetInfo,
    );
    expect(r.lmChallengeResponse.toString('hex')).toBe(
      '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
    );
    expect(r.ntProofStr.toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(r.sessionBaseKey.toString('hex')).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(rc4(r.sessionBaseKey, randomSessionKey).toString('hex')).toBe(
      'c5dad2544fc9799094ce1ce90bc9d03e',
    );
  });
  it('AV pairs round-trip', () => {
    expect(parseAvPairs(targetInfo).map((p) => p.value.toString('utf16le'))).toEqual([
      'Domain',
      'Server',
    ]);
  });
});

describe('NTLM mechanism messages', () => {
  it('builds NEGOTIATE and AUTHENTICATE without the password anywhere', () => {
    const m = new NtlmMechanism({
      domain: 'D',
      username: 'u',
      password: 'SecretPassw0rd',
      workstation: 'WS',
    });
    const neg = m.initialToken();
    expect(neg.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    // A minimal CHALLENGE with a timestamp AV pair (so a MIC is produced).
    const ti = encodeAvPairs([
      { id: AvId.NB_COMPUTER_NAME, value: Buffer.from('SRV', 'utf16le') },
      { id: AvId.TIMESTAMP, value: Buffer.alloc(8, 1) },
    ]);
    const ch = Buffer.alloc(56 + ti.length);
    ch.write('NTLMSSP\0', 0, 'latin1');
    ch.writeUInt32LE(2, 8);
    ch.writeUInt32LE(0xe2898215, 20);
    h('0123456789abcdef').copy(ch, 24);
    ch.writeUInt16LE(ti.length, 40);
    ch.writeUInt16LE(ti.length, 42);
    ch.writeUInt32LE(56, 44);
    ti.copy(ch, 56);
    expect(parseChallenge(ch).targetInfo).toHaveLength(2);
    const auth = m.step(ch);
    expect(m.complete).toBe(true);
    expect(m.wantsMechListMic).toBe(true);
    expect(auth.includes(Buffer.from('SecretPassw0rd', 'utf16le'))).toBe(false);
    expect(auth.includes(Buffer.from('SecretPassw0rd', 'latin1'))).toBe(false);
    expect(auth.subarray(72, 88).equals(Buffer.alloc(16))).toBe(false); // MIC filled in
    expect(m.sessionKey()).toHaveLength(16);
  });
});
