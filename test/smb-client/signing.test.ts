import { Dialect } from '@scaidrive/smb-client';
import { defineSmbSuite } from './suite.js';

// AES-GMAC (3.1.1 signing capabilities) on the main run.
defineSmbSuite('server signing = mandatory', { signing: 'mandatory' }, {}, { signing: true });
// HMAC-SHA256 (2.1) and AES-CMAC with secure dialect negotiation (3.0, 3.0.2).
defineSmbSuite(
  'signing mandatory, SMB 2.1',
  { signing: 'mandatory' },
  { dialects: [Dialect.SMB202, Dialect.SMB210] },
  { dialect: '2.1', signing: true },
  {},
);
defineSmbSuite(
  'signing mandatory, SMB 3.0.2',
  { signing: 'mandatory' },
  { dialects: [Dialect.SMB300, Dialect.SMB302] },
  { dialect: '3.0.2', signing: true },
  {},
);
