import type { Capability } from '../behaviour/validate.js';
import type { Health, LlmWorker, Price, Usage } from '../behaviour/types.js';
import type { AttemptFailure } from '../errors/pool.js';
import type { StoreTrouble } from '../store/store.js';
import type { AdmissionStore, Ticket, WorkerLimits } from './admission.js';
import type { CircuitState } from './circuit.js';

/*
 * The pool's shapes, below everything of the pool that uses them (the actor, its state, its
 * queue, its side of a shared store): a status snapshot, and the checkout protocol.
 */

export type { CircuitState } from './circuit.js';

/** A snapshot of one worker, from `status()`. */
export interface WorkerStatus {
  readonly name: string;
  readonly kind: string;
  /** Its default model, when it names one. */
  readonly model?: string;
  /** Its routing tags, when it has some. */
  readonly tags?: readonly string[];
  readonly priority: number;
  /** Last health check result; `'unknown'` before the first. */
  readonly health: Health['status'] | 'unknown';
  readonly healthReason?: string;
  readonly circuit: CircuitState;
  /** Ms left of a cool-down (rate limit, bad key, no quota), when cooling down. */
  readonly coolingDownMs?: number;
  /** Streams in flight now (exact, across pool restarts). */
  readonly inflight: number;
  /** The worker's limits that are set (absent ones are unlimited). */
  readonly limits?: WorkerLimits;
  /** Requests admitted and tokens counted in the last 60 s (only for a worker with `rpm` or `tpm`). */
  readonly window?: { readonly requests: number; readonly tokens: number };
  readonly successes: number;
  readonly failures: number;
  readonly lastError?: string;
  /** Total time of the last successful stream, ms. */
  readonly latencyMs?: number;
  /** Time to first chunk of the last stream that produced one, ms. */
  readonly firstChunkMs?: number;
  /**
   * Tokens its complete answers reported since this pool started, and what they cost in US
   * dollars when it has a `price` (absent until an answer reported usage).
   */
  readonly usage?: WorkerUsage;
}

/** A worker's tokens and cost, in {@link WorkerStatus}. */
export interface WorkerUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** US dollars, for a worker with a price. */
  readonly costUsd?: number;
}

/** A snapshot of the pool, from `status()`. */
export interface PoolStatus {
  readonly strategy: string;
  /** Requests waiting for a slot now. */
  readonly queued: number;
  readonly maxQueue: number;
  readonly workers: readonly WorkerStatus[];
  /**
   * Where limits, circuits and cool-downs are kept: `'memory'` (this instance alone, unless a
   * `MemoryStore` is shared by pools of one process) or `'redis'` (every instance with the
   * prefix); `degraded` while a shared store is unreachable and this instance decides alone.
   */
  readonly store: {
    readonly kind: 'memory' | 'redis';
    readonly shared: boolean;
    readonly degraded: boolean;
    /** While degraded: why (`auth_failed`, `protocol`, `timeout`, `unreachable`), and in words. */
    readonly trouble?: StoreTrouble;
    readonly troubleReason?: string;
  };
}

/** How an attempt ended, as reported to the pool. @internal */
export type AttemptOutcome =
  | { readonly kind: 'success'; readonly firstChunkMs: number; readonly latencyMs: number; readonly usage?: Usage }
  | { readonly kind: 'failure'; readonly error: unknown; readonly firstChunkMs?: number }
  /**
   * Given back untouched. `atLeastMs`: a hedged primary that lost the race had sent nothing for
   * this long: a lower bound of its time to first chunk, kept in the window hedge percentiles are
   * read from (else hedging that works would pull its own percentile down into the normal answers).
   */
  | { readonly kind: 'cancelled'; readonly atLeastMs?: number };

/** A worker lent to one attempt: its slot in the admission store. @internal */
export interface Lease {
  readonly ticket: Ticket;
  readonly name: string;
  readonly worker: LlmWorker;
  /** The worker's GenAI provider (`info().provider`, else its kind) and default model (for events). */
  readonly kind: string;
  readonly model: string | undefined;
  /** What its tokens cost, when known (the request's cost is counted with it). */
  readonly price?: Price;
  /** The request reached it by a tag or its name: it answers with its own model, not the one asked. */
  readonly aliased?: boolean;
  /** Eligible workers left after this one for this request. */
  readonly alternatives: number;
  /** Where the slot goes back. */
  readonly store: AdmissionStore;
  /** The worker's recent time to first chunk at the percentile the request asked for, ms, when there are enough samples. */
  readonly firstChunkPercentileMs?: number;
  /** With a shared store: gives the shared lease back and records the outcome there. */
  readonly settle?: (outcome: AttemptOutcome, tokens: number | undefined) => void;
}

/** The pool's answer to a checkout. @internal */
export type Checkout =
  | { readonly ok: true; readonly lease: Lease }
  | { readonly ok: false; readonly kind: 'none'; readonly skipped: AttemptFailure[] }
  | { readonly ok: false; readonly kind: 'queue_full'; readonly maxQueue: number; readonly depth: number; readonly tenant?: string };

/** What a request asks of the pool. @internal */
export interface CheckoutRequest {
  readonly type: 'checkout';
  /** Workers already tried by this request. */
  readonly exclude: readonly string[];
  /** Estimated tokens, for `tpm`. */
  readonly tokens: number;
  /** Higher is served first from the queue. */
  readonly priority: number;
  /** Who it is for (the gateway's key id): a share of the queue, and a turn in it. */
  readonly tenant?: string;
  /** Only workers carrying this tag, name or model. */
  readonly route?: string;
  /** The route was asked for explicitly (a tag): no worker carrying it is an error; else (a model) it is passed on. */
  readonly strict?: boolean;
  /** What a worker must support to take it (tools, images, a JSON schema). */
  readonly needs?: readonly Capability[];
  /** A backend found the conversation too long for this context: only workers with a larger (or unknown) `contextLength`. */
  readonly minContext?: number;
  /** Answer at once, never queue: a hedge is started only on a worker with room now. */
  readonly noWait?: boolean;
  /** Report the worker's recent time to first chunk at this percentile (0.95...) in the lease (for a hedge's delay). */
  readonly percentile?: number;
}
