import { defineSmbSuite } from './suite.js';

defineSmbSuite('default settings', {}, {}, { dialect: '3.1.1', signing: false, encryption: false });
