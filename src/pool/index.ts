export {
  startPool,
  poolStatus,
  checkHealth,
  type PoolRef,
  type PoolStatus,
  type WorkerStatus,
  type CircuitState,
  type StartPoolOptions,
} from './pool.js';
export { type PoolOptions, type ContinuationOptions, DEFAULT_CONTINUATION_PROMPT } from './options.js';
export { localFirst, roundRobin, leastLoaded, type SelectionStrategy, type Candidate, type StrategyName } from './strategies.js';
export type { HealthReport } from './health.js';
export type { DispatchOptions, StreamChunk } from './stream.js';
