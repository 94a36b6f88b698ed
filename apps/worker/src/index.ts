export * from './ports.js';
export * from './worker.js';
export * from './metrics.js';
export * from './scheduler.js';
export * from './reconciler.js';
export * from './sync-job-handler.js';
export * from './health-server.js';
