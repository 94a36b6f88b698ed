import { Dialect } from '@scaidrive/smb-client';
import { defineSmbSuite } from './suite.js';

defineSmbSuite(
  'server min protocol = SMB3_11',
  { minProtocol: 'SMB3_11' },
  {},
  { dialect: '3.1.1' },
);
// Client-requested signing with AES-CMAC on 3.1.1 (signing capabilities without GMAC).
defineSmbSuite(
  'SMB3_11, client requires signing (AES-CMAC)',
  { minProtocol: 'SMB3_11' },
  { requireSigning: true, signingAlgorithms: [1] },
  { dialect: '3.1.1', signing: true },
  {},
);
defineSmbSuite(
  'SMB 3.0 with client-requested encryption (AES-128-CCM)',
  {},
  { dialects: [Dialect.SMB300], requireEncryption: true },
  { dialect: '3.0', encryption: true },
  {},
);
