export * from './runtime/index.js';
export * from './errors/index.js';
export type * from './events.js';
