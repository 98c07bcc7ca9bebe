import type { FinishReason, GenerationOptions, ToolCallDelta, Usage } from '../behaviour/types.js';
import type { RequestPolicyOptions } from './policy.js';

/* What a caller gives `dispatchStream` and what it gets back, apart from the request loop (request.ts). */

/** Per-request options of `dispatchStream`. Timeouts default to the pool's. */
export interface DispatchOptions extends RequestPolicyOptions, GenerationOptions {
  /** Model to ask for; each worker's default when absent. */
  model?: string;
  /** Cancels the request end to end: the worker's HTTP request is aborted and its slot freed. Never failed over. */
  signal?: AbortSignal;
  /** Backend-specific options passed to the worker. */
  backendOptions?: Record<string, unknown>;
  /** Place in the pool's queue when every worker is at its limits: higher first, FIFO within one. Default 0. */
  priority?: number;
  /** With a response cache (`startWorkers({ cache })`): `false` neither reads nor writes it for this request. Default true. */
  cache?: boolean;
  /**
   * Who the request is for, in usage accounting (a team, an app; the gateway passes its client
   * key's id): on `pool.stream_finished` and the usage and cost metrics. Default none.
   */
  tenant?: string;
  /**
   * Whose answers these are, for the response cache: requests with different scopes never share
   * an entry (a tenant, a user; the gateway passes its client's key, hashed). Default: one scope.
   */
  cacheScope?: string;
  /**
   * Only workers carrying this tag (or with this name) take the request (`NoWorkersAvailableError`
   * if none does). Without it, the router decides, else a `model` that is a tag or a worker's
   * name routes the same way (that worker answers with its own model).
   */
  route?: string;
  /**
   * The request has effects beyond its answer (its tools act on the world, it is billed per
   * call...) and must not run twice at once: it is never hedged. Default false.
   */
  sideEffects?: boolean;
}

/** A chunk of the answer, as the app receives it. */
export interface StreamChunk {
  /** The worker that produced this chunk. */
  readonly worker: string;
  readonly text: string;
  /** Reasoning of a thinking model, apart from `text` (see `CompletionChunk.reasoning`). */
  readonly reasoning?: string;
  /** True on the last chunk of a complete answer, and only then. */
  readonly done: boolean;
  /** 0 for the first worker's text; 1, 2... after each continuation on another worker. */
  readonly segment: number;
  readonly finishReason?: FinishReason;
  readonly usage?: Usage;
  /** On the done chunk: the model asked of the worker that answered (the request's, or the worker's default), when known. */
  readonly model?: string;
  /**
   * What the answer cost, US dollars: its `usage` at its worker's `price`, on the done chunk when
   * both are known (never guessed; absent on a cached answer, which cost nothing).
   */
  readonly costUsd?: number;
  /** True when replayed from the response cache (no worker was asked). */
  readonly cached?: true;
  /** Pieces of tool calls (see `ToolCallDelta`); assemble them with `collectToolCalls`, or use `complete`. */
  readonly toolCalls?: readonly ToolCallDelta[];
}
