export { Dispatcher, DEFAULT_DRAIN_MS, type Completion, type DispatcherExtras } from './dispatcher.js';
export { startWorkers, type StartWorkersOptions, type StopWorkersOptions, type Workers } from './tree.js';
export { DEFAULT_CONTINUATION_PROMPT, type ContinuationOptions, type HedgeOptions, type HedgePercentile, type RequestPolicyOptions } from './policy.js';
export type { DispatchOptions, StreamChunk } from './options.js';
export type { ResponseCacheOptions } from './cache.js';
export { rulesRouter, type Router, type RouteRule } from './routing.js';
