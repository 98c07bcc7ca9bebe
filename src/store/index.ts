export type {
  SharedStore,
  AdmitRequest,
  StoreCandidate,
  SharedLease,
  Hold,
  Admission,
  Settlement,
  CircuitRules,
  Verdict,
  WorkerFingerprint,
  WorkerCounters,
  StoreEvent,
  StoreTrouble,
  InstanceCounters,
  UsageCount,
} from './store.js';
export { DEFAULT_LEASE_MS, type StoreOptions } from './common.js';
export { MemoryStore } from './memory.js';
export { RedisStore, StoreUnavailableError, isStoreUnavailableError, type RedisStoreOptions } from './redis.js';
export type { StoreSpec, RedisStoreSpec } from './spec.js';
