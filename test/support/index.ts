export * from './db.js';
export * from './pg-admin.js';
export * from './factories.js';
export * from './log-capture.js';
export * from './samba.js';
export * from './processes.js';
export * from './trees.js';
export * from './random.js';
