import { CortexError, guardFor } from './cortex-error.js';
import { describe } from './runtime.js';

/** One problem found by validation. */
export interface ValidationIssue {
  /** Path of the bad field, e.g. `messages[1].role` or `workers[0].baseUrl`. */
  readonly path: string;
  /** What was expected. */
  readonly message: string;
}

/** Input failed validation. The message lists every problem, one per line, with its field path. */
export class ValidationError extends CortexError {
  constructor(
    /** Every problem found. */
    readonly issues: readonly ValidationIssue[],
    /** Where the input came from (e.g. a config file path), if known. */
    readonly source?: string,
  ) {
    super(
      'validation',
      `invalid ${source ?? 'input'}:\n` + issues.map((i) => `  - ${source ? `${source}: ` : ''}${i.path}: ${i.message}`).join('\n'),
    );
  }
}
/** True when `e` is a {@link ValidationError}. */
export const isValidationError = guardFor<ValidationError>('validation');

/**
 * What went wrong with a backend, as the pool needs to know it:
 * - `connection`: refused, reset, DNS: fail over;
 * - `http`: 5xx and other statuses: fail over;
 * - `rate_limited`: 429 with a delay: cool the worker down for `retryAfterMs`, do not count it as down;
 * - `quota`, `auth`: not transient (insufficient quota, bad key): take the worker out of rotation;
 * - `model_not_found`: fail over;
 * - `bad_request`: the backend refused the request itself (HTTP 400/422): the caller's mistake,
 *   not the worker's. Never counted against the worker, never failed over (the next worker would
 *   refuse it the same way) but for `context_length_exceeded`, which goes on only to workers with
 *   a larger or unknown `contextLength`; the caller gets an {@link InvalidRequestError};
 * - `protocol`: malformed or oversized data; `stream_error`: the backend reported an error mid-stream;
 * - `truncated`: the stream ended without its final chunk;
 * - `first_chunk_timeout`, `idle_timeout`: the backend went silent;
 * - `unsupported`: the worker refused, before sending, what its backend cannot do (an image URL
 *   to Ollama, a forced tool choice): fail over, and the worker is not counted as down.
 */
export type WorkerErrorKind =
  | 'connection'
  | 'http'
  | 'rate_limited'
  | 'quota'
  | 'auth'
  | 'model_not_found'
  | 'bad_request'
  | 'protocol'
  | 'stream_error'
  | 'truncated'
  | 'first_chunk_timeout'
  | 'idle_timeout'
  | 'unsupported';

/** Details of a {@link WorkerError}. */
export interface WorkerErrorDetails {
  /** HTTP status, when there was one. */
  readonly status?: number;
  /** How long to leave the worker alone (from `retry-after`), for `rate_limited`. */
  readonly retryAfterMs?: number;
  /** The backend's error text or body (truncated; never contains credentials). */
  readonly body?: string;
  /** The backend's own error code (OpenAI's `error.code`, Anthropic's `error.type`), when it sent one. */
  readonly backendCode?: string;
  /** The request field the backend named as wrong (OpenAI's `error.param`), when it named one. */
  readonly param?: string;
  readonly cause?: unknown;
}

/** A backend failed. Adapters throw it; the pool reads `kind` to fail over, cool down or disable. */
export class WorkerError extends CortexError {
  /** HTTP status, when there was one. */
  readonly status: number | undefined;
  /** Cool-down asked by the backend, in ms. */
  readonly retryAfterMs: number | undefined;
  /** The backend's error text (truncated). */
  readonly body: string | undefined;
  /** The backend's own error code, when it sent one (e.g. `context_length_exceeded`). */
  readonly backendCode: string | undefined;
  /** The request field the backend named as wrong, when it named one. */
  readonly param: string | undefined;

  constructor(
    /** The worker's name. */
    readonly worker: string,
    /** What kind of failure. */
    readonly kind: WorkerErrorKind,
    message: string,
    details: WorkerErrorDetails = {},
  ) {
    super('worker_error', `worker ${worker}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.body = details.body;
    this.backendCode = details.backendCode;
    this.param = details.param;
  }
}
/** True when `e` is a {@link WorkerError}. */
export const isWorkerError = guardFor<WorkerError>('worker_error');

/** One failed or skipped attempt, as reported by {@link NoWorkersAvailableError}. */
export interface AttemptFailure {
  /** The worker's name. */
  readonly worker: string;
  /** Why it failed or was skipped, in words. */
  readonly reason: string;
  /** The error, when it failed (absent when it was skipped). */
  readonly error?: unknown;
  /** The worker is resting (rate limited, or cooling down) for this much longer, ms: it may answer then. */
  readonly retryAfterMs?: number;
}

/**
 * No worker could start the stream. Lists every worker and why, and the route asked for.
 * When every worker is only resting (rate limited or cooling down), `retryAfterMs` says when
 * the first comes back.
 */
export class NoWorkersAvailableError extends CortexError {
  /** When every worker listed is resting: the time until the first one's rest ends, ms; else undefined. */
  readonly retryAfterMs: number | undefined;

  constructor(
    /** Each worker tried or skipped, with its reason. */
    readonly attempts: readonly AttemptFailure[],
    /** The tag, worker name or model the request was routed to, if any. */
    readonly route?: string,
  ) {
    const where = route === undefined ? '' : ` for route "${route}"`;
    super(
      'no_workers_available',
      attempts.length === 0
        ? `no workers available${where}: none registered`
        : `no workers available${where}:\n${attempts.map((a) => `  - ${a.worker}: ${a.reason}`).join('\n')}`,
    );
    this.retryAfterMs = soonestBack(attempts);
  }
}

function soonestBack(attempts: readonly AttemptFailure[]): number | undefined {
  if (attempts.length === 0) return undefined;
  let soonest = Infinity;
  for (const a of attempts) {
    if (a.retryAfterMs === undefined) return undefined;
    soonest = Math.min(soonest, a.retryAfterMs);
  }
  return soonest;
}
/** True when `e` is a {@link NoWorkersAvailableError}. */
export const isNoWorkersAvailableError = guardFor<NoWorkersAvailableError>('no_workers_available');

/**
 * The backend refused the request itself (HTTP 400 or 422: a context too long, a bad tool
 * schema, a refused parameter): the caller's to fix, not a failure of any worker. It was not
 * failed over (another worker would refuse it the same way), except that a context length
 * exceeded goes on to workers with a larger or unknown `contextLength` first. Carries the
 * backend's status, message and code (credentials redacted).
 */
export class InvalidRequestError extends CortexError {
  constructor(
    /** The worker whose backend refused the request (the last one, after context fallbacks). */
    readonly worker: string,
    /** The backend's HTTP status (400 or 422). */
    readonly status: number,
    /** The backend's error message (redacted, truncated). */
    readonly backendMessage: string,
    /** The backend's own error code (`context_length_exceeded`, `invalid_request_error`...), when sent. */
    readonly backendCode: string | undefined,
    /** The request field the backend named, when it named one. */
    readonly param: string | undefined,
    /** Every attempt of this request, in order. */
    readonly attempts: readonly AttemptFailure[] = [],
    cause?: unknown,
  ) {
    super('invalid_request', `the backend of worker ${worker} refused the request (HTTP ${status}${backendCode ? `, ${backendCode}` : ''}): ${backendMessage}`, cause === undefined ? undefined : { cause });
  }
}
/** True when `e` is an {@link InvalidRequestError}. */
export const isInvalidRequestError = guardFor<InvalidRequestError>('invalid_request');

/**
 * A stream broke after some text was delivered, and was not (or could not be) continued.
 * The answer is incomplete: `partialText` is what the consumer already received.
 */
export class StreamInterruptedError extends CortexError {
  constructor(
    /** The worker whose stream broke. */
    readonly worker: string,
    /** Text delivered before the break. */
    readonly partialText: string,
    cause: unknown,
    /** Every failed attempt of this request, in order. */
    readonly attempts: readonly AttemptFailure[] = [],
  ) {
    super(
      'stream_interrupted',
      `stream from worker ${worker} broke after ${partialText.length} characters: ${describe(cause)}`,
      { cause },
    );
  }
}
/** True when `e` is a {@link StreamInterruptedError}. */
export const isStreamInterruptedError = guardFor<StreamInterruptedError>('stream_interrupted');

/** The caller cancelled the stream (its `AbortSignal` fired). Never failed over. */
export class StreamAbortedError extends CortexError {
  constructor(
    /** Text delivered before the cancel. */
    readonly partialText: string,
    cause: unknown,
  ) {
    super('stream_aborted', `stream cancelled by the caller after ${partialText.length} characters`, { cause });
  }
}
/** True when `e` is a {@link StreamAbortedError}. */
export const isStreamAbortedError = guardFor<StreamAbortedError>('stream_aborted');

/** The request's total deadline passed. */
export class DeadlineExceededError extends CortexError {
  constructor(
    /** The deadline, in ms. */
    readonly deadlineMs: number,
    /** Text delivered before the deadline. */
    readonly partialText: string,
  ) {
    super('deadline_exceeded', `request deadline of ${deadlineMs} ms exceeded after ${partialText.length} characters`);
  }
}
/** True when `e` is a {@link DeadlineExceededError}. */
export const isDeadlineExceededError = guardFor<DeadlineExceededError>('deadline_exceeded');

/**
 * The pool is shutting down or has stopped. `stage` says which: `'refused'` (a request or an
 * operation came after `stop()` began: nothing was done), or `'ended'` (a stream still running
 * when the drain time ran out: its worker's request was aborted; `partialText` is what had
 * been delivered, never presented as complete).
 */
export class ShutdownError extends CortexError {
  constructor(
    /** `'refused'` before anything started, `'ended'` for a stream cut by the shutdown. */
    readonly stage: 'refused' | 'ended',
    /** What was asked (`'dispatchStream'`, `'status'`, `'addWorker'`...), or `'stream'`. */
    readonly operation: string,
    /** Text delivered before the stream was ended (empty when refused). */
    readonly partialText: string = '',
  ) {
    super(
      'shutdown',
      stage === 'refused'
        ? `${operation} refused: the pool is shutting down or has stopped`
        : `stream ended by shutdown after ${partialText.length} characters (the drain time ran out)`,
    );
  }
}
/** True when `e` is a {@link ShutdownError}. */
export const isShutdownError = guardFor<ShutdownError>('shutdown');

/**
 * Every worker that could answer is at its limits and the pool's queue is full (or, with
 * `tenant`, that tenant's share of it, `maxQueuePerTenant`): the request was not queued.
 */
export class QueueFullError extends CortexError {
  constructor(
    /** The queue's bound (`maxQueue`), or the tenant's share (`maxQueuePerTenant`). */
    readonly maxQueue: number,
    /** Requests waiting when this one came (of its tenant, with `tenant`). */
    readonly depth: number,
    /** Set when the tenant's share was full, not the whole queue. */
    readonly tenant?: string,
  ) {
    super(
      'queue_full',
      tenant === undefined
        ? `every worker is at its limits and the queue is full (${depth} waiting, maxQueue ${maxQueue})`
        : `every worker is at its limits and tenant ${tenant} holds its share of the queue (${depth} waiting, maxQueuePerTenant ${maxQueue})`,
    );
  }
}
/** True when `e` is a {@link QueueFullError}. */
export const isQueueFullError = guardFor<QueueFullError>('queue_full');

/** The request waited in the pool's queue for its whole `queueTimeoutMs` (or what was left of its deadline) without a slot. */
export class QueueTimeoutError extends CortexError {
  constructor(
    /** How long it was allowed to wait, ms. */
    readonly queueTimeoutMs: number,
  ) {
    super('queue_timeout', `no worker had room within ${queueTimeoutMs} ms (every worker at its limits)`);
  }
}
/** True when `e` is a {@link QueueTimeoutError}. */
export const isQueueTimeoutError = guardFor<QueueTimeoutError>('queue_timeout');
