export * from './catalogue.js';
export * from './boss.js';
