export { CortexError, isCortexError } from './cortex-error.js';
export * from './runtime.js';
export {
  RestartIntensityError,
  isRestartIntensityError,
  ChildStartError,
  isChildStartError,
  ChildOperationError,
  isChildOperationError,
} from './supervisor.js';
