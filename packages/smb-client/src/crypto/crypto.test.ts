import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { md4 } from './md4.js';
import { Rc4, rc4 } from './rc4.js';
import { aesCmac, cmacSubkeys } from './cmac.js';
import { cstr, smb3Kdf } from './kdf.js';
import { CipherId, SmbCipher } from './cipher.js';
import { SigningAlgorithm, Signer } from './signing.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('MD4 (RFC 1320 appendix A.5)', () => {
  const vectors: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    [
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
      '043f8582f241db351ce627e153e7f0e4',
    ],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  it.each(vectors)('MD4(%j)', (input, digest) => {
    expect(md4(Buffer.from(input, 'latin1')).toString('hex')).toBe(digest);
  });
  it('handles the 55/56/64-byte padding boundaries', () => {
    for (const n of [55, 56, 63, 64, 65, 119, 120])
      expect(md4(Buffer.alloc(n, 0x61))).toHaveLength(16);
    expect(md4(Buffer.alloc(55, 0x61)).equals(md4(Buffer.alloc(56, 0x61)))).toBe(false);
  });
});

describe('RC4', () => {
  it.each([
    ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
    ['Wiki', 'pedia', '1021bf0420'],
    ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
  ])('RC4(%s, %s)', (key, pt, ct) => {
    expect(rc4(Buffer.from(key), Buffer.from(pt)).toString('hex')).toBe(ct);
  });
  it('is a stateful stream (two updates = one)', () => {
    const a = new Rc4(Buffer.from('Secret'));
    const joined = Buffer.concat([
      a.update(Buffer.from('Attack ')),
      a.update(Buffer.from('at dawn')),
    ]);
    expect(joined.toString('hex')).toBe('45a01f645fc35b383552544b9bf5');
  });
});

describe('AES-CMAC (RFC 4493 section 4)', () => {
  const key = h('2b7e1516 28aed2a6 abf71588 09cf4f3c');
  const msg = h(
    '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
  );
  it('derives the subkeys', () => {
    const { k1, k2 } = cmacSubkeys(key);
    expect(k1.toString('hex')).toBe('fbeed618357133667c85e08f7236a8de');
    expect(k2.toString('hex')).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });
  it.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('message of %i bytes', (len, mac) => {
    expect(aesCmac(key, [msg.subarray(0, len)]).toString('hex')).toBe(mac);
    // Split into uneven parts: same answer.
    const m = msg.subarray(0, len);
    expect(
      aesCmac(key, [m.subarray(0, 3), m.subarray(3, 21), m.subarray(21)]).toString('hex'),
    ).toBe(mac);
  });
});

describe('SP800-108 KDF (counter mode, HMAC-SHA256) as SMB 3.x uses it', () => {
  it('matches the definition K(1) = HMAC(Ki, [1]_32 || Label || 0x00 || Context || [L]_32)', () => {
    const ki = h('7cd451825d0450d235424e44ba6e78cc');
    const expected = createHmac('sha256', ki)
      .update(
        Buffer.concat([
          h('00000001'),
          cstr('SMB2AESCMAC'),
          Buffer.of(0),
          cstr('SmbSign'),
          h('00000080'),
        ]),
      )
      .digest()
      .subarray(0, 16);
    expect(smb3Kdf(ki, cstr('SMB2AESCMAC'), cstr('SmbSign'), 128).equals(expected)).toBe(true);
    expect(smb3Kdf(ki, cstr('SMBC2SCipherKey'), Buffer.alloc(64), 256)).toHaveLength(32);
  });
});

describe('SMB2 signing and the transform header', () => {
  const msg = Buffer.alloc(100, 7);
  msg.writeUInt32LE(0x424d53fe, 0);
  msg.writeUInt16LE(64, 4);
  it.each([SigningAlgorithm.HMAC_SHA256, SigningAlgorithm.AES_CMAC, SigningAlgorithm.AES_GMAC])(
    'algorithm %i signs and verifies; tampering is detected',
    (alg) => {
      const s = new Signer(alg, Buffer.alloc(16, 3));
      const m = Buffer.from(msg);
      s.sign([m]);
      expect(s.verify(m)).toBe(true);
      m[80]! ^= 1;
      expect(s.verify(m)).toBe(false);
    },
  );
  it.each([CipherId.AES_128_GCM, CipherId.AES_128_CCM, CipherId.AES_256_GCM, CipherId.AES_256_CCM])(
    'cipher %i round-trips and rejects tampering',
    (id) => {
      const len = id === CipherId.AES_256_GCM || id === CipherId.AES_256_CCM ? 32 : 16;
      const k1 = Buffer.alloc(len, 1);
      const k2 = Buffer.alloc(len, 2);
      const client = new SmbCipher(id, k1, k2);
      const server = new SmbCipher(id, k2, k1);
      const frame = Buffer.concat(client.encrypt([msg.subarray(0, 30), msg.subarray(30)], 42n));
      expect(server.decrypt(frame, 42n).plain.equals(msg)).toBe(true);
      frame[60]! ^= 1;
      expect(() => server.decrypt(frame, 42n)).toThrow(/authentication/);
    },
  );
});
