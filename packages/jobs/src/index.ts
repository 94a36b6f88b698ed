export * from './catalogue.js';
export * from './boss.js';
export * from './enqueue.js';
