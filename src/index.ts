export * from './runtime/index.js';
export * from './supervisor/index.js';
export * from './errors/index.js';
export type * from './events.js';
