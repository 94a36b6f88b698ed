import { describe, it, expect } from '@jest/globals';
import { QuickXorHash, quickXorHash } from './quickxor.js';

// Published test vectors (input and digest in base64) for the quickXorHash algorithm.
const VECTORS: [string, string][] = [
  ['', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
  ['Sg==', 'SgAAAAAAAAAAAAAAAQAAAAAAAAA='],
  ['tbQ=', 'taAFAAAAAAAAAAAAAgAAAAAAAAA='],
  ['0pZP', '0rDEEwAAAAAAAAAAAwAAAAAAAAA='],
  ['/aNzzCFPS/A=', '/RjFHJgRgicsAR4ACAAAAAAAAAA='],
  ['2fuxhBJXtpWFe8dOfdGeHw==', 'O9tHLAghgSvYohKFyMMxnNCHaHg='],
  ['T6LYJIfDh81JrAK309H2JMJTXis=', 'zBTHrspn3mEcohlJdIUAbjGNaNg='],
  [
    'Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==',
    'n1anP5NfvD4XDYWIeRPW3ZkPv1Y=',
  ],
  [
    'jyibxJSzO6ZiZ0O1qe3tG/bvIAYssvukh9suIT5wEy1JBINVgPiqdsTW0cOpP0aUfP7mgqLfADkzI/m/GgCuVhr8oFLrOCoTx1/psBOWwhltCbhUx51Icm9aH8tY4Z3ccU+6BKpYQkLCy0B/A9Zc',
    'hZfLIilSITC6N3e3tQ/iSgEzkto=',
  ],
  [
    'w0LGhqU1WXFbdavqDE4kAjEzWLGGzmTNikzqnsiXHx2KRReKVTxkv27u3UcEz9+lbMvYl4xFf2Z4aE1xRBBNd1Ke5C0zToSaYw5o4B/7X99nKK2/XaUX1byLow2aju2XJl2OpKpJg+tSJ2fmjIJTkfuYUz574dFX6/VXxSxwGH/xQEAKS5TCsBK3CwnuG1p5SAsQq3gGVozDWyjEBcWDMdy8/AIFrj/y03Lfc/RNRCQTAfZbnf2QwV7sluw4fH3XJr07UoD0YqN+7XZzidtrwqMY26fpLZnyZjnBEt1FAZWO7RnKG5asg8xRk9YaDdedXdQSJAOy6bWEWlABj+tVAigBxavaluUH8LOj+yfCFldJjNLdi90fVHkUD/m4Mr5OtmupNMXPwuG3EQlqWUVpQoYpUYKLsk7a5Mvg6UFkiH596y5IbJEVCI1Kb3D1',
    'e3+wo77iKcILiZegnzyUNcjCdoQ=',
  ],
];

describe('quickXorHash', () => {
  it.each(VECTORS)('matches published vector #%#', (input, digest) => {
    expect(quickXorHash(Buffer.from(input, 'base64'))).toBe(digest);
  });

  it('matches a well-known string digest', () => {
    expect(quickXorHash(Buffer.from('hello world'))).toBe('aCgDG9jwBhDc4Q1yawMZAAAAAAA=');
  });

  it('gives the same digest whatever the chunking', () => {
    const data = Buffer.from(VECTORS[9]![0], 'base64');
    for (const size of [1, 2, 7, 19, 20, 64, 161]) {
      const h = new QuickXorHash();
      for (let i = 0; i < data.length; i += size) h.update(data.subarray(i, i + size));
      expect(h.digestBase64()).toBe(VECTORS[9]![1]);
    }
  });
});
