import pRetry from 'p-retry';
import { ABORTS_PROMPTLY, type ChatMessage, type CompletionChunk, type FinishReason, type Usage } from '../behaviour/types.js';
import {
  DeadlineExceededError,
  NoWorkersAvailableError,
  ShutdownError,
  StreamAbortedError,
  StreamInterruptedError,
  WorkerError,
  type AttemptFailure,
} from '../errors/pool.js';
import { describe, isActorExitedError } from '../errors/runtime.js';
import type { ActorSystem } from '../runtime/system.js';
import { DEFAULT_CONTINUATION_PROMPT, type ContinuationOptions, type ResolvedPoolOptions } from './options.js';
import { checkoutNow, releaseLease, type AttemptOutcome, type Checkout, type PoolRef } from './pool.js';

/** Per-request options of `dispatchStream`. Timeouts default to the pool's. */
export interface DispatchOptions {
  /** Model to ask for; each worker's default when absent. */
  model?: string;
  /** Cancels the request end to end: the worker's HTTP request is aborted and its slot freed. Never failed over. */
  signal?: AbortSignal;
  /** Backend-specific options passed to the worker. */
  backendOptions?: Record<string, unknown>;
  /** Total time for the request, ms. */
  deadlineMs?: number;
  /** Silence allowed before the first chunk of each attempt, ms. */
  firstChunkTimeoutMs?: number;
  /** Silence allowed between chunks, ms. */
  idleTimeoutMs?: number;
  /** Continue a broken stream on another worker (overrides the pool's setting). */
  continuation?: ContinuationOptions | false;
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
}

/**
 * Where requests run: a shutdown drains them, then ends the rest. `enter` admits one request
 * (throwing `ShutdownError` once a shutdown began) and returns what to call when it is over;
 * `end` is how the scope ends it when the drain time runs out.
 * @internal
 */
export interface RequestScope {
  enter(end: () => void): () => void;
}

let nextRequestId = 1;

const CALLER = Symbol('caller');
const DEADLINE = Symbol('deadline');
const SHUTDOWN = Symbol('shutdown');
type Ending = typeof CALLER | typeof DEADLINE | typeof SHUTDOWN;
/** Thrown inside the loop when the request was ended from outside while a read was pending. */
const ENDED = Object.freeze({ name: 'Ended', message: 'the request was ended' });
/** The abort reason of an attempt that is over (shared: no stack trace to capture per request). */
const ATTEMPT_OVER = Object.freeze({ name: 'AttemptOver', message: 'the attempt is over' });

/**
 * Streams one answer through the pool: picks a worker, fails over on errors and silent
 * starts, watches for stalls, and either ends with a `done` chunk or throws a typed error.
 * One watchdog timer per attempt enforces the first-chunk, idle and total deadlines.
 * @internal
 */
export async function* streamThroughPool(
  system: ActorSystem,
  findPool: () => PoolRef | undefined,
  messages: readonly ChatMessage[],
  o: DispatchOptions,
  scope: RequestScope,
): AsyncGenerator<StreamChunk, void, undefined> {
  const clock = system.clock;
  const events = system.events;
  const requestId = nextRequestId++;
  const started = clock.now();
  const attempts: AttemptFailure[] = [];
  const tried: string[] = [];
  const parts: string[] = [];
  let chars = 0;
  let segment = 0;
  let switches = 0;
  let attempt = 0;
  let lastWorker: string | undefined;
  let deadlineMs = 0;
  let deadlineAt = Infinity;
  /** Why the request was ended from outside the loop: the caller's abort, the deadline, or a shutdown. */
  let ended: Ending | null = null;
  let finished = false;
  let lease: { pool: PoolRef; id: number; released: boolean } | null = null;
  let attemptCtl: AbortController | null = null;
  /** Rejects the read in progress, if any, when the attempt is aborted. */
  let wake: ((reason: unknown) => void) | null = null;
  /** The current attempt, as the watchdog sees it. */
  let cur: {
    readonly name: string;
    readonly ctl: AbortController;
    readonly firstLimit: number;
    readonly idleLimit: number;
    firstAt: number | undefined;
    /** True while waiting on the worker; false while the consumer holds a chunk (its slowness is not the worker's). */
    waiting: boolean;
    waitingSince: number;
  } | null = null;
  // One watchdog per request (not per attempt): it enforces the first-chunk, idle and total
  // deadlines of whatever attempt is current, and re-arms itself for the time left.
  let watchdog: unknown;
  let armedAt = Infinity;
  const arm = (at: number, now: number): void => {
    armedAt = at;
    watchdog = clock.setTimeout(check, Math.max(1, Math.ceil(at - now)));
  };
  /** Makes sure the watchdog fires no later than `at`. */
  const armBy = (at: number): void => {
    if (at >= armedAt) return;
    clock.clearTimeout(watchdog);
    arm(at, clock.now());
  };
  function check(): void {
    watchdog = undefined;
    armedAt = Infinity;
    if (ended !== null) return;
    const now = clock.now();
    if (now >= deadlineAt) return end(DEADLINE);
    let at = deadlineAt;
    const a = cur;
    if (a !== null && !a.ctl.signal.aborted) {
      const limit = a.firstAt === undefined ? a.firstLimit : a.idleLimit;
      if (limit !== Infinity) {
        if (a.waiting && now - a.waitingSince >= limit) {
          abortAttempt(
            a.firstAt === undefined
              ? new WorkerError(a.name, 'first_chunk_timeout', `no first chunk within ${limit} ms`)
              : new WorkerError(a.name, 'idle_timeout', `no chunk for ${limit} ms`),
          );
        } else {
          at = Math.min(at, (a.waiting ? a.waitingSince : now) + limit);
        }
      }
    }
    if (at !== Infinity) arm(at, now);
  }

  const release = (outcome: AttemptOutcome): void => {
    if (lease === null || lease.released) return;
    lease.released = true;
    releaseLease(lease.pool, lease.id, outcome);
  };
  const abortAttempt = (reason: unknown): void => {
    if (attemptCtl === null || attemptCtl.signal.aborted) return;
    attemptCtl.abort(reason);
    wake?.(reason);
  };
  /** Ends the request from outside: at once, whether or not the consumer reads again. */
  const end = (why: Ending): void => {
    if (ended !== null) return;
    ended = why;
    clock.clearTimeout(watchdog);
    armedAt = -Infinity; // nothing re-arms it
    release({ kind: 'cancelled' }); // the slot is free even if the consumer never reads again
    abortAttempt(why === CALLER ? o.signal?.reason : new Error(why === DEADLINE ? 'deadline exceeded' : 'shutdown'));
    finish(why === CALLER ? 'aborted' : why === DEADLINE ? 'deadline' : 'shutdown');
  };
  /** Reports how the request ended, once. */
  const finish = (outcome: 'complete' | 'interrupted' | 'aborted' | 'no_workers' | 'deadline' | 'shutdown'): void => {
    if (finished) return;
    finished = true;
    if (events.listening) events.emit(() => ({ type: 'pool.stream_finished', requestId, worker: lastWorker, outcome, chars, ms: clock.now() - started }));
  };

  const onCallerAbort = (): void => end(CALLER);
  if (o.signal?.aborted) throw new StreamAbortedError('', o.signal.reason);
  const leave = scope.enter(() => end(SHUTDOWN));
  o.signal?.addEventListener('abort', onCallerAbort, { once: true });

  try {
    for (;;) {
      const pending = checkoutWithRetry(findPool, tried, o.signal);
      const got = pending instanceof Promise ? await pending : pending;
      if (ended !== null) {
        if (got?.checkout.ok) releaseLease(got.pool, got.checkout.lease.id, { kind: 'cancelled' });
        throw abortError();
      }
      if (got === undefined) {
        attempts.push({ worker: '(pool)', reason: 'the pool is not running' });
        throw noMore([]);
      }
      if (!got.checkout.ok) throw noMore(got.checkout.skipped);

      const lent = got.checkout.lease;
      const opts = effective(lent.options, o);
      if (deadlineAt === Infinity) {
        deadlineMs = opts.deadlineMs;
        deadlineAt = started + opts.deadlineMs;
      }
      lease = { pool: got.pool, id: lent.id, released: false };
      lastWorker = lent.name;
      attempt++;
      if (events.listening) events.emit(() => ({ type: 'pool.dispatch', requestId, worker: lent.name, attempt, segment }));

      const ctl = new AbortController();
      attemptCtl = ctl;
      wake = null;
      const t0 = clock.now();
      const a = {
        name: lent.name,
        ctl,
        firstLimit: lent.alternatives > 0 ? opts.firstChunkTimeoutMs : Infinity,
        idleLimit: opts.idleTimeoutMs,
        firstAt: undefined as number | undefined,
        waiting: true,
        waitingSince: t0,
      };
      cur = a;
      armBy(Math.min(deadlineAt, t0 + a.firstLimit));
      const read = <T>(p: Promise<T>): Promise<T> => {
        if (ctl.signal.aborted) {
          p.catch(() => {});
          return Promise.reject(ctl.signal.reason);
        }
        return new Promise<T>((resolve, reject) => {
          wake = reject;
          p.then(resolve, reject);
        });
      };

      let iterator: AsyncIterator<CompletionChunk> | undefined;
      let completed = false;
      let accepted = false;
      let segmentChars = 0;
      try {
        const prompt = parts.length === 0 ? messages : continuationMessages(messages, parts.join(''), opts.continuation);
        const streamOpts: { signal: AbortSignal; model?: string; backendOptions?: Record<string, unknown> } = { signal: ctl.signal };
        if (o.model !== undefined) streamOpts.model = o.model;
        if (o.backendOptions !== undefined) streamOpts.backendOptions = o.backendOptions;
        const iterable = await read(Promise.resolve(lent.worker.streamCompletion(prompt, streamOpts)));
        accepted = true;
        iterator = iterable[Symbol.asyncIterator]();
        const guarded = (iterable as { [ABORTS_PROMPTLY]?: boolean })[ABORTS_PROMPTLY] !== true;
        for (;;) {
          const r = guarded ? await read(iterator.next()) : await iterator.next();
          if (ended !== null) throw ENDED; // cancelled meanwhile: not even a chunk already buffered
          if (r.done) throw new WorkerError(lent.name, 'truncated', 'the stream ended without its final chunk');
          const c = r.value;
          if (typeof c?.text !== 'string') throw new WorkerError(lent.name, 'protocol', 'the worker yielded a chunk without text');
          if (a.firstAt === undefined) {
            // From now on the idle limit applies (the armed check re-arms for it, or sooner here).
            a.firstAt = clock.now();
            a.waiting = false;
            armBy(a.firstAt + a.idleLimit);
          }
          if (c.text !== '') {
            parts.push(c.text);
            chars += c.text.length;
            segmentChars += c.text.length;
          }
          const done = c.done === true;
          const out: { -readonly [K in keyof StreamChunk]: StreamChunk[K] } = { worker: lent.name, text: c.text, done, segment };
          if (c.reasoning !== undefined) out.reasoning = c.reasoning;
          if (c.finishReason !== undefined) out.finishReason = c.finishReason;
          if (c.usage !== undefined) out.usage = c.usage;
          if (done) {
            completed = true;
            release({ kind: 'success', firstChunkMs: a.firstAt - t0, latencyMs: clock.now() - t0 });
            finish('complete');
          }
          a.waiting = false;
          yield out;
          if (done) return;
          a.waiting = true;
          a.waitingSince = clock.now();
        }
      } catch (e) {
        if (ended !== null) throw abortError();
        const error = ctl.signal.aborted ? ctl.signal.reason : e;
        release({ kind: 'failure', error, ...(a.firstAt !== undefined ? { firstChunkMs: a.firstAt - t0 } : {}) });
        const reason = describe(error);
        attempts.push({ worker: lent.name, reason, error });
        tried.push(lent.name);
        const phase = a.firstAt !== undefined ? 'mid_stream' : accepted ? 'first_chunk' : 'start';
        if (events.listening) events.emit(() => ({ type: 'pool.attempt_failed', requestId, worker: lent.name, phase, reason, error }));
        if (segmentChars > 0) {
          const cont = opts.continuation;
          if (cont === false || switches >= cont.maxSwitches) {
            finish('interrupted');
            throw new StreamInterruptedError(lent.name, parts.join(''), error, attempts);
          }
          switches++;
          segment++;
        }
        if (events.listening) events.emit(() => ({ type: 'pool.failover', requestId, from: lent.name, deliveredChars: chars }));
      } finally {
        cur = null; // the watchdog stays armed for the request; the next attempt takes it over
        wake = null;
        if (lease.released) {
          // A stream that broke may still hold its connection: tell the worker. (One that never
          // started holds nothing, and a completed one is done.)
          if (!completed && accepted && !ctl.signal.aborted) ctl.abort(ATTEMPT_OVER);
        } else {
          // The consumer stopped reading early: cancel the worker's request; not the worker's fault.
          release({ kind: 'cancelled' });
          ctl.abort(ATTEMPT_OVER);
        }
        if (iterator?.return) void Promise.resolve(iterator.return()).catch(() => {});
      }
    }
  } finally {
    clock.clearTimeout(watchdog);
    o.signal?.removeEventListener('abort', onCallerAbort);
    leave();
  }

  /** The error of a request ended from outside (its `finish` was reported by `end`). */
  function abortError(): Error {
    if (ended === DEADLINE) return new DeadlineExceededError(deadlineMs, parts.join(''));
    if (ended === SHUTDOWN) return new ShutdownError('ended', 'stream', parts.join(''));
    return new StreamAbortedError(parts.join(''), o.signal?.reason);
  }

  function noMore(skipped: AttemptFailure[]): Error {
    const all = [...attempts, ...skipped];
    if (chars > 0) {
      finish('interrupted');
      const last = attempts.at(-1);
      return new StreamInterruptedError(last?.worker ?? lastWorker ?? '(none)', parts.join(''), last?.error ?? new NoWorkersAvailableError(all), all);
    }
    finish('no_workers');
    return new NoWorkersAvailableError(all);
  }
}

class PoolNotRunning extends Error {}

/**
 * Finds the pool and checks a worker out. While the pool restarts under its supervisor it is
 * briefly missing or exits under the call: that is retried a few times (about 0.25 s in all).
 */
function checkoutWithRetry(
  findPool: () => PoolRef | undefined,
  tried: readonly string[],
  signal: AbortSignal | undefined,
): { pool: PoolRef; checkout: Checkout } | Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
  // The usual case, without a promise turn: the pool is there and idle, and answers at once.
  const pool = findPool();
  if (pool !== undefined && !pool.exited) {
    try {
      const c = checkoutNow(pool, tried);
      if (!(c instanceof Promise)) return { pool, checkout: c };
      return c.then(
        (checkout) => ({ pool, checkout }),
        (e: unknown) => retryCheckout(e, findPool, tried, signal),
      );
    } catch (e) {
      return retryCheckout(e, findPool, tried, signal);
    }
  }
  return retryCheckout(new PoolNotRunning(), findPool, tried, signal);
}

function retryCheckout(
  error: unknown,
  findPool: () => PoolRef | undefined,
  tried: readonly string[],
  signal: AbortSignal | undefined,
): Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
  if (!(error instanceof PoolNotRunning || isActorExitedError(error))) return Promise.reject(error);
  const attempt = async (): Promise<{ pool: PoolRef; checkout: Checkout }> => {
    const pool = findPool();
    if (pool === undefined || pool.exited) throw new PoolNotRunning();
    return { pool, checkout: await checkoutNow(pool, tried) };
  };
  return pRetry(attempt, {
    retries: 8,
    minTimeout: 1,
    factor: 2,
    ...(signal ? { signal } : {}),
    shouldRetry: ({ error }) => error instanceof PoolNotRunning || isActorExitedError(error),
  }).catch(() => undefined);
}

interface Effective {
  readonly deadlineMs: number;
  readonly firstChunkTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly continuation: { readonly maxSwitches: number; readonly prompt: string } | false;
}

function effective(p: ResolvedPoolOptions, o: DispatchOptions): Effective {
  const cont = o.continuation === undefined ? p.continuation : o.continuation;
  return {
    deadlineMs: o.deadlineMs ?? p.deadlineMs,
    firstChunkTimeoutMs: o.firstChunkTimeoutMs ?? p.firstChunkTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs ?? p.idleTimeoutMs,
    continuation:
      cont === false
        ? false
        : { maxSwitches: cont.maxSwitches ?? 1, prompt: cont.prompt ?? (p.continuation ? p.continuation.prompt : DEFAULT_CONTINUATION_PROMPT) },
  };
}


/** The conversation sent to the next worker to continue a broken answer. @internal */
export function continuationMessages(
  messages: readonly ChatMessage[],
  partial: string,
  cont: Effective['continuation'],
): ChatMessage[] {
  const prompt = cont === false ? DEFAULT_CONTINUATION_PROMPT : cont.prompt;
  return [...messages, { role: 'assistant', content: partial }, { role: 'user', content: prompt }];
}
