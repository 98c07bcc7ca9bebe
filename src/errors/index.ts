export { CortexError, isCortexError } from './cortex-error.js';
export * from './runtime.js';
