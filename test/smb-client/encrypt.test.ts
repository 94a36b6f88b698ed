import { CipherId } from '@scaidrive/smb-client';
import { defineSmbSuite } from './suite.js';

defineSmbSuite(
  'server smb encrypt = required',
  { encrypt: 'required' },
  {},
  { dialect: '3.1.1', encryption: true },
);
defineSmbSuite(
  'encrypt required, AES-256-GCM',
  { encrypt: 'required' },
  { ciphers: [CipherId.AES_256_GCM] },
  { encryption: true },
  {},
);
defineSmbSuite(
  'encrypt required, AES-128-CCM',
  { encrypt: 'required' },
  { ciphers: [CipherId.AES_128_CCM] },
  { encryption: true },
  {},
);
