import { lazy } from '../lazy-zod.js';

/** Continuing a broken stream on another worker (opt-in). */
export interface ContinuationOptions {
  /** Most worker switches in one answer. Default 1. */
  maxSwitches?: number;
  /** The instruction sent after the partial answer. Default asks to continue without repeating. */
  prompt?: string;
}

/** A percentile of a worker's recent times to first chunk, as a hedge delay. */
export type HedgePercentile = 'p50' | 'p90' | 'p95' | 'p99';

/**
 * Hedged requests (opt-in): when the worker has sent no first chunk after a delay, the same
 * request is started on the next worker; the first to send a chunk wins and the other is
 * aborted at once (its backend sees the abort, its slot is freed, it is not counted as a
 * failure). A budget bounds the extra requests.
 */
export interface HedgeOptions {
  /**
   * How long to wait for the first chunk before hedging, ms; or a percentile of the worker's
   * recent times to first chunk (`'p90'`: its 90th, over its last 64 answers; `fallbackMs`
   * until it has 20). About `1 - percentile` of requests are hedged (10 % at `'p90'`) whatever
   * the tail: pick a percentile below the slow share you want to cut (the 95th does not cut a
   * tail of 5 % or more), and a budget above `1 - percentile`. Default `'p90'`.
   */
  afterMs?: number | HedgePercentile;
  /** The delay while a worker has too few samples for a percentile, ms. Default 1000. */
  fallbackMs?: number;
  /**
   * Extra requests allowed, as a fraction of requests (0.2: at most 20 % more, plus one a second
   * when traffic is low). Keep it above `1 - percentile`: hedges that the budget refuses leave
   * the slow answers uncut. Default 0.2.
   */
  budget?: number;
}

/**
 * How one request is run: its timeouts, continuation and queue wait. Set as defaults on the
 * pool (`startWorkers`, config files) and per request (`dispatchStream` options); merged once
 * when the request starts.
 */
export interface RequestPolicyOptions {
  /** A worker silent this long after the request is abandoned for the next one, ms. Default 15 000. Not applied when no other worker is left to try. */
  firstChunkTimeoutMs?: number;
  /** Longest silence between two chunks, ms. Default 30 000 (tool calls can pause a stream). */
  idleTimeoutMs?: number;
  /** Total time for one request, all attempts and queueing included, ms. Default 300 000. */
  deadlineMs?: number;
  /** Continue a broken stream on another worker. Default off: the stream ends with `StreamInterruptedError`. */
  continuation?: ContinuationOptions | false;
  /** Longest wait in the pool's queue when every worker is at its limits, ms. Default 30 000. */
  queueTimeoutMs?: number;
  /** Hedge slow first chunks on the next worker. Default off. Never for a request marked `sideEffects: true`. */
  hedge?: HedgeOptions | false;
}

/** A request's policy with every default filled in. @internal */
export interface RequestPolicy {
  readonly firstChunkTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly deadlineMs: number;
  readonly continuation: { readonly maxSwitches: number; readonly prompt: string } | false;
  readonly queueTimeoutMs: number;
  readonly hedge: { readonly afterMs: number | HedgePercentile; readonly fallbackMs: number; readonly budget: number } | false;
}

/**
 * Hedging's defaults, coherent: at the 90th percentile about 10 % of requests are hedged, under a
 * budget of 20 % (twice that, so a slow tail of up to 10 % is cut too). @internal
 */
export const HEDGE_DEFAULTS = Object.freeze({ afterMs: 'p90' as HedgePercentile, fallbackMs: 1000, budget: 0.2 });

/** The default continuation instruction. */
export const DEFAULT_CONTINUATION_PROMPT =
  'Your previous answer was cut off. Continue it exactly where it stopped, without repeating anything and without any preamble.';

/** The defaults of {@link RequestPolicyOptions}, in one place. @internal */
export const POLICY_DEFAULTS: RequestPolicy = Object.freeze({
  firstChunkTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  deadlineMs: 300_000,
  continuation: false,
  queueTimeoutMs: 30_000,
  hedge: false,
});

/** The one schema of the request policy's fields (all optional), shared by pool options, request options and config files. @internal */
export const requestPolicyShape = lazy((z) => {
  const positiveMs = z.number().finite().positive();
  return {
    firstChunkTimeoutMs: positiveMs.optional(),
    idleTimeoutMs: positiveMs.optional(),
    deadlineMs: positiveMs.optional(),
    continuation: z
      .union([z.literal(false), z.object({ maxSwitches: z.number().int().positive().optional(), prompt: z.string().min(1).optional() }).strict()])
      .optional(),
    queueTimeoutMs: positiveMs.optional(),
    hedge: z
      .union([
        z.literal(false),
        z
          .object({
            afterMs: z.union([positiveMs, z.enum(['p50', 'p90', 'p95', 'p99'])]).optional(),
            fallbackMs: positiveMs.optional(),
            budget: z.number().gt(0, 'expected a fraction of requests > 0').max(1).optional(),
          })
          .strict(),
      ])
      .optional(),
  };
});

/** `over`'s fields, where given, on top of `base` (both already validated). @internal */
export function mergePolicy(base: RequestPolicy, over: RequestPolicyOptions): RequestPolicy {
  const c = over.continuation === undefined ? base.continuation : over.continuation;
  const h = over.hedge === undefined ? base.hedge : over.hedge;
  return {
    firstChunkTimeoutMs: over.firstChunkTimeoutMs ?? base.firstChunkTimeoutMs,
    idleTimeoutMs: over.idleTimeoutMs ?? base.idleTimeoutMs,
    deadlineMs: over.deadlineMs ?? base.deadlineMs,
    queueTimeoutMs: over.queueTimeoutMs ?? base.queueTimeoutMs,
    continuation:
      c === false
        ? false
        : {
            maxSwitches: c.maxSwitches ?? 1,
            prompt: c.prompt ?? (base.continuation !== false ? base.continuation.prompt : DEFAULT_CONTINUATION_PROMPT),
          },
    hedge:
      h === false
        ? false
        : {
            afterMs: h.afterMs ?? (base.hedge !== false ? base.hedge.afterMs : HEDGE_DEFAULTS.afterMs),
            fallbackMs: h.fallbackMs ?? (base.hedge !== false ? base.hedge.fallbackMs : HEDGE_DEFAULTS.fallbackMs),
            budget: h.budget ?? (base.hedge !== false ? base.hedge.budget : HEDGE_DEFAULTS.budget),
          },
  };
}
