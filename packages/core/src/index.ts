export * from './errors.js';
export * from './ids.js';
export * from './time.js';
export * from './secret-box.js';
export * from './logger.js';
export * from './config.js';
export * from './names.js';
export * from './process.js';
