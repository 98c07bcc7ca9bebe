export {
  startPool,
  poolStatus,
  checkHealth,
  type PoolRef,
  type PoolStatus,
  type WorkerStatus,
  type WorkerUsage,
  type CircuitState,
  type StartPoolOptions,
} from './pool.js';
export { type PoolOptions } from './options.js';
export { MemoryAdmissionStore, estimateTokens, RATE_WINDOW_MS, type AdmissionStore, type ResolvedLimits, type WorkerLimits, type WorkerLoad, type Ticket } from './admission.js';
export { localFirst, roundRobin, leastLoaded, fastest, fastestStrategy, type SelectionStrategy, type Candidate, type StrategyName, type LatencySample, type FastestOptions } from './strategies.js';
export type { HealthReport } from './health.js';
