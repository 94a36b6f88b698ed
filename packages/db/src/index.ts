export * from './client.js';
export * from './migrate.js';
export * from './embedded.js';
export * from './paths.js';
export * from './connector-config.js';
export * from './file-state-store.js';
export * from './sql-client.js';
