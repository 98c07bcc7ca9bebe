import { lazy } from '../lazy-zod.js';

/** Continuing a broken stream on another worker (opt-in). */
export interface ContinuationOptions {
  /** Most worker switches in one answer. Default 1. */
  maxSwitches?: number;
  /** The instruction sent after the partial answer. Default asks to continue without repeating. */
  prompt?: string;
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
}

/** A request's policy with every default filled in. @internal */
export interface RequestPolicy {
  readonly firstChunkTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly deadlineMs: number;
  readonly continuation: { readonly maxSwitches: number; readonly prompt: string } | false;
  readonly queueTimeoutMs: number;
}

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
  };
});

/** `over`'s fields, where given, on top of `base` (both already validated). @internal */
export function mergePolicy(base: RequestPolicy, over: RequestPolicyOptions): RequestPolicy {
  const c = over.continuation === undefined ? base.continuation : over.continuation;
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
  };
}
