import type { WorkerLimits } from '../pool/admission.js';
/** Who wrote a chat message. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** One message of a conversation. */
export interface ChatMessage {
  readonly role: Role;
  readonly content: string;
}

/** Why a backend stopped generating. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

/** Token counts, when the backend reports them. */
export interface Usage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

/**
 * A piece of an answer, as a worker produces it. The last chunk of a complete answer has
 * `done: true` (with `finishReason` and `usage` when the backend gives them); a stream that
 * ends without one is a truncated answer, and the pool treats it as a failure.
 */
export interface CompletionChunk {
  /** Text to append to the answer (may be empty, e.g. on the final chunk or while the model reasons). */
  readonly text: string;
  /**
   * Reasoning ("thinking") of a reasoning model, when the backend streams it apart from the
   * answer (`reasoning_content` / `reasoning` in OpenAI-compatible streams, `message.thinking`
   * in Ollama's). Never part of `text`. A chunk with reasoning is progress: it counts for the
   * first-chunk and idle timeouts.
   */
  readonly reasoning?: string;
  /** True on the final chunk only. */
  readonly done?: boolean;
  readonly finishReason?: FinishReason;
  readonly usage?: Usage;
}

/** Options a worker receives with each request. */
export interface StreamOptions {
  /** Model to use; the worker's default when absent. */
  readonly model?: string;
  /** Aborted when the caller cancels, a timeout fires, or the pool gives up on this attempt: stop the request and release the connection. */
  readonly signal: AbortSignal;
  /** Backend-specific options (e.g. Ollama's `options`: temperature, num_predict...). */
  readonly backendOptions?: Readonly<Record<string, unknown>>;
  /**
   * Where a worker reports what the backend said of its own limits (e.g. OpenAI's
   * `x-ratelimit-remaining-requests: 0` with its reset time), so the pool rests it before it
   * answers 429. Optional to call.
   */
  readonly reportLimits?: (hint: RateLimitHint) => void;
}

/** A backend's word on its limits: rest this worker for `restMs`. */
export interface RateLimitHint {
  /** How long until the backend has room again, ms. */
  readonly restMs: number;
  /** What it said, for status and events (e.g. `x-ratelimit-remaining-requests: 0`). */
  readonly reason: string;
}

/** The result of a health check. */
export type Health =
  | { readonly status: 'available' }
  | { readonly status: 'busy'; readonly reason: string }
  | { readonly status: 'unavailable'; readonly reason: string };

/** What a worker says about itself. Never contains secrets. */
export interface WorkerInfo {
  /** Unique name in the registry. */
  readonly name: string;
  /** Backend kind, e.g. `'ollama'`, `'openai'`, `'mock'`. */
  readonly kind: string;
  /** Models it serves (the first is its default). */
  readonly models: readonly string[];
  /** Base URL without credentials, when it has one. */
  readonly endpoint?: string;
  /**
   * Routing tags and model aliases (`'code'`, `'fast'`, `'llama'`): a request that asks for one
   * (`route: 'code'`, or `model: 'fast'`) goes only to the workers that carry it.
   */
  readonly tags?: readonly string[];
}

/**
 * The contract every LLM backend implements. A worker is plain I/O: the pool calls it from
 * outside any actor, so a slow backend never blocks another request.
 */
export interface LlmWorker {
  /** Checks the backend (bounded by the pool's timeout through `signal`). Should not throw: report `unavailable` with a reason. */
  healthCheck(signal: AbortSignal): Promise<Health>;
  /**
   * Starts a completion. Resolves to the chunks once the backend accepted the request, or
   * rejects with a typed error (a `WorkerError` tells the pool whether to fail over or cool
   * down). Must stop and release the connection when `opts.signal` aborts or the iteration
   * is ended early.
   */
  streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>>;
  /** Name, kind, models and endpoint; no secrets. */
  info(): WorkerInfo;
  /** Lower is preferred: local backends about 10, cloud ones 50 to 100. */
  priority(): number;
  /** What the backend can take at once and per minute. Optional: absent means unlimited. */
  limits?(): WorkerLimits;
}

/**
 * A worker whose stream rejects a pending read promptly once `opts.signal` aborts can mark the
 * iterable it returns with `[ABORTS_PROMPTLY]: true`. The pool then reads it directly instead of
 * guarding every chunk against a worker that ignores the signal (a small per-chunk saving).
 * The built-in adapters are marked. An unmarked worker is always safe: it is guarded.
 */
export const ABORTS_PROMPTLY: unique symbol = Symbol.for('cortex-otp.abortsPromptly') as never;
