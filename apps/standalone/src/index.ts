export { bootstrap, type BootstrapResult } from './bootstrap.js';
export { loadOrCreateSecretKeys } from './secret-keys.js';
