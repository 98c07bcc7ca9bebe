import { z } from 'zod';
import { parseWith } from '../behaviour/validate.js';
import type { SelectionStrategy, StrategyName } from './strategies.js';

/** Continuing a broken stream on another worker (opt-in). */
export interface ContinuationOptions {
  /** Most worker switches in one answer. Default 1. */
  maxSwitches?: number;
  /** The instruction sent after the partial answer. Default asks to continue without repeating. */
  prompt?: string;
}

/** Options of a pool (and defaults of every request through it). */
export interface PoolOptions {
  /** `'local_first'` (default), `'round_robin'`, `'least_loaded'`, or your own strategy. */
  strategy?: StrategyName | SelectionStrategy<never>;
  /** Period of the background health checks, ms. Default 30 000; 0 turns them off. */
  healthIntervalMs?: number;
  /** Bound on each health check, ms. Default 5000. */
  healthTimeoutMs?: number;
  /** A worker silent this long after the request is abandoned for the next one, ms. Default 15 000. Not applied when no other worker is left to try. */
  firstChunkTimeoutMs?: number;
  /** Longest silence between two chunks, ms. Default 30 000 (tool calls can pause a stream). */
  idleTimeoutMs?: number;
  /** Total time for one request, all attempts included, ms. Default 300 000. */
  deadlineMs?: number;
  /** Continue a broken stream on another worker. Default off: the stream ends with `StreamInterruptedError`. */
  continuation?: ContinuationOptions | false;
  /** Consecutive failures that open a worker's circuit. Default 3. */
  failureThreshold?: number;
  /** How long an open circuit waits before one trial request, ms. Default 30 000. */
  circuitResetMs?: number;
  /** Cool-down after a 429 without `retry-after`, ms. Default 1000. */
  defaultCooldownMs?: number;
  /** How long a worker with a bad key or no quota is left alone, ms. Default 300 000. */
  disableMs?: number;
}

/** Pool options with defaults applied. @internal */
export interface ResolvedPoolOptions {
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly firstChunkTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly deadlineMs: number;
  readonly continuation: { readonly maxSwitches: number; readonly prompt: string } | false;
  readonly failureThreshold: number;
  readonly circuitResetMs: number;
  readonly defaultCooldownMs: number;
  readonly disableMs: number;
}

/** The default continuation instruction. */
export const DEFAULT_CONTINUATION_PROMPT =
  'Your previous answer was cut off. Continue it exactly where it stopped, without repeating anything and without any preamble.';

const ms = z.number().finite().nonnegative();
const positiveMs = z.number().finite().positive();

const schema = z
  .object({
    strategy: z.unknown().optional(),
    healthIntervalMs: ms.default(30_000),
    healthTimeoutMs: positiveMs.default(5_000),
    firstChunkTimeoutMs: positiveMs.default(15_000),
    idleTimeoutMs: positiveMs.default(30_000),
    deadlineMs: positiveMs.default(300_000),
    continuation: z
      .union([
        z.literal(false),
        z.object({
          maxSwitches: z.number().int().positive().default(1),
          prompt: z.string().min(1).default(DEFAULT_CONTINUATION_PROMPT),
        }),
      ])
      .default(false),
    failureThreshold: z.number().int().positive().default(3),
    circuitResetMs: positiveMs.default(30_000),
    defaultCooldownMs: positiveMs.default(1_000),
    disableMs: positiveMs.default(300_000),
  })
  .strict();

/** Validates pool options and fills in defaults. @throws ValidationError naming each bad option. @internal */
export function resolvePoolOptions(o: PoolOptions = {}): ResolvedPoolOptions {
  const r = parseWith(schema, o, 'options');
  const { strategy: _s, ...rest } = r;
  return rest;
}
