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
export {
  ValidationError,
  isValidationError,
  WorkerError,
  isWorkerError,
  NoWorkersAvailableError,
  isNoWorkersAvailableError,
  StreamInterruptedError,
  isStreamInterruptedError,
  StreamAbortedError,
  isStreamAbortedError,
  DeadlineExceededError,
  isDeadlineExceededError,
  type ValidationIssue,
  type WorkerErrorKind,
  type WorkerErrorDetails,
  type AttemptFailure,
} from './pool.js';
