import { lazy } from '../lazy-zod.js';
import { parseWith } from '../behaviour/validate.js';
import { mergePolicy, POLICY_DEFAULTS, requestPolicyShape, type RequestPolicy, type RequestPolicyOptions } from '../dispatcher/policy.js';
import type { SelectionStrategy, StrategyName } from './strategies.js';

/** Options of a pool, and the defaults of every request through it ({@link RequestPolicyOptions}). */
export interface PoolOptions extends RequestPolicyOptions {
  /** `'local_first'` (default), `'round_robin'`, `'least_loaded'`, or your own strategy. */
  strategy?: StrategyName | SelectionStrategy<never>;
  /** Period of the background health checks, ms. Default 30 000; 0 turns them off. The first round runs when the pool starts. */
  healthIntervalMs?: number;
  /** Bound on each health check, ms. Default 5000. */
  healthTimeoutMs?: number;
  /** Consecutive failures that open a worker's circuit. Default 3. */
  failureThreshold?: number;
  /** How long an open circuit waits before one trial request, ms. Default 30 000. */
  circuitResetMs?: number;
  /** Cool-down after a 429 without `retry-after`, ms. Default 1000. */
  defaultCooldownMs?: number;
  /** How long a worker with a bad key or no quota is left alone, ms. Default 300 000. */
  disableMs?: number;
  /** Requests that may wait for a slot when every worker is at its limits; beyond, `QueueFullError`. Default 1000. */
  maxQueue?: number;
  /**
   * Of those, how many one tenant (`DispatchOptions.tenant`: the gateway's key id) may hold, so
   * that one tenant's burst cannot take every place. Default half of `maxQueue` (at least 1).
   * Tenants' waiting requests are also served in turn, not in a block.
   */
  maxQueuePerTenant?: number;
  /**
   * When the preferred tier (lowest priority number) is at its limits: `'next'` sends the
   * request to the next tier at once; `'wait'` queues it for the preferred tier. Default `'next'`.
   */
  overflow?: 'next' | 'wait';
}

/** The pool's own options with defaults applied. @internal */
export interface ResolvedPoolOptions {
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly failureThreshold: number;
  readonly circuitResetMs: number;
  readonly defaultCooldownMs: number;
  readonly disableMs: number;
  readonly maxQueue: number;
  readonly maxQueuePerTenant: number;
  readonly overflow: 'next' | 'wait';
}

const POOL_DEFAULTS: ResolvedPoolOptions = Object.freeze({
  healthIntervalMs: 30_000,
  healthTimeoutMs: 5_000,
  failureThreshold: 3,
  circuitResetMs: 30_000,
  defaultCooldownMs: 1_000,
  disableMs: 300_000,
  maxQueue: 1_000,
  maxQueuePerTenant: 500,
  overflow: 'next',
});

/** The one schema of pool options, shared by `startWorkers` and config files. @internal */
export const poolOptionsSchema = lazy((z) => {
  const ms = z.number().finite().nonnegative();
  const positiveMs = z.number().finite().positive();
  return z.object({
    strategy: z.unknown().optional(), // checked by resolveStrategy (a name, or a strategy object)
    healthIntervalMs: ms.optional(),
    healthTimeoutMs: positiveMs.optional(),
    failureThreshold: z.number().int().positive().optional(),
    circuitResetMs: positiveMs.optional(),
    defaultCooldownMs: positiveMs.optional(),
    disableMs: positiveMs.optional(),
    maxQueue: z.number().int().nonnegative().optional(),
    maxQueuePerTenant: z.number().int().positive().optional(),
    overflow: z.enum(['next', 'wait']).optional(),
    ...requestPolicyShape(),
  })
  .strict();
});

/**
 * Validates pool options; returns the pool's own settings and the request defaults.
 * @throws ValidationError naming each bad option. @internal
 */
export function resolvePoolOptions(o: PoolOptions = {}): { pool: ResolvedPoolOptions; policy: RequestPolicy } {
  const r = parseWith(poolOptionsSchema, o, 'options') as PoolOptions;
  const pool: ResolvedPoolOptions = {
    healthIntervalMs: r.healthIntervalMs ?? POOL_DEFAULTS.healthIntervalMs,
    healthTimeoutMs: r.healthTimeoutMs ?? POOL_DEFAULTS.healthTimeoutMs,
    failureThreshold: r.failureThreshold ?? POOL_DEFAULTS.failureThreshold,
    circuitResetMs: r.circuitResetMs ?? POOL_DEFAULTS.circuitResetMs,
    defaultCooldownMs: r.defaultCooldownMs ?? POOL_DEFAULTS.defaultCooldownMs,
    disableMs: r.disableMs ?? POOL_DEFAULTS.disableMs,
    maxQueue: r.maxQueue ?? POOL_DEFAULTS.maxQueue,
    maxQueuePerTenant: r.maxQueuePerTenant ?? Math.max(1, Math.ceil((r.maxQueue ?? POOL_DEFAULTS.maxQueue) / 2)),
    overflow: r.overflow ?? POOL_DEFAULTS.overflow,
  };
  return { pool, policy: mergePolicy(POLICY_DEFAULTS, r) };
}
