import pRetry from 'p-retry';
import type { ChatMessage, CompletionChunk, FinishReason, Usage } from '../behaviour/types.js';
import {
  DeadlineExceededError,
  NoWorkersAvailableError,
  StreamAbortedError,
  StreamInterruptedError,
  WorkerError,
  type AttemptFailure,
} from '../errors/pool.js';
import { describe, isActorExitedError } from '../errors/runtime.js';
import type { ActorSystem } from '../runtime/system.js';
import { DEFAULT_CONTINUATION_PROMPT, type ContinuationOptions, type ResolvedPoolOptions } from './options.js';
import { checkoutWorker, releaseLease, type AttemptOutcome, type Checkout, type PoolRef } from './pool.js';

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
  /** True on the last chunk of a complete answer, and only then. */
  readonly done: boolean;
  /** 0 for the first worker's text; 1, 2... after each continuation on another worker. */
  readonly segment: number;
  readonly finishReason?: FinishReason;
  readonly usage?: Usage;
}

let nextRequestId = 1;

const CALLER = Symbol('caller');
const DEADLINE = Symbol('deadline');

/**
 * Streams one answer through the pool: picks a worker, fails over on errors and silent
 * starts, watches for stalls, and either ends with a `done` chunk or throws a typed error.
 * @internal
 */
export async function* streamThroughPool(
  system: ActorSystem,
  findPool: () => PoolRef | undefined,
  messages: readonly ChatMessage[],
  o: DispatchOptions,
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
  let current: { pool: PoolRef; lease: number; released: boolean } | null = null;

  const releaseCurrent = (outcome: AttemptOutcome): void => {
    if (current === null || current.released) return;
    current.released = true;
    releaseLease(current.pool, current.lease, outcome);
  };
  const finish = (outcome: 'complete' | 'interrupted' | 'aborted' | 'no_workers' | 'deadline'): void =>
    events.emit(() => ({ type: 'pool.stream_finished', requestId, worker: lastWorker, outcome, chars, ms: clock.now() - started }));

  const request = new AbortController();
  const onCallerAbort = (): void => {
    request.abort(CALLER);
    releaseCurrent({ kind: 'cancelled' });
  };
  if (o.signal?.aborted) throw new StreamAbortedError('', o.signal.reason);
  o.signal?.addEventListener('abort', onCallerAbort, { once: true });
  let deadlineMs: number | undefined;
  let deadlineTimer: unknown;

  try {
    for (;;) {
      const got = await checkoutWithRetry(findPool, tried, request.signal);
      if (request.signal.aborted) throw abortError();
      if (got === undefined) {
        attempts.push({ worker: '(pool)', reason: 'the pool is not running' });
        throw noMore([]);
      }
      const { pool, checkout } = got;
      if (!checkout.ok) throw noMore(checkout.skipped);

      const { lease } = checkout;
      const opts = effective(lease.options, o);
      if (deadlineTimer === undefined) {
        deadlineMs = opts.deadlineMs;
        deadlineTimer = clock.setTimeout(() => {
          request.abort(DEADLINE);
          releaseCurrent({ kind: 'cancelled' });
        }, Math.max(0, opts.deadlineMs - (clock.now() - started)));
      }
      current = { pool, lease: lease.id, released: false };
      lastWorker = lease.name;
      attempt++;
      events.emit(() => ({ type: 'pool.dispatch', requestId, worker: lease.name, attempt, segment }));

      const attemptCtl = new AbortController();
      const abortAttempt = (): void => attemptCtl.abort(request.signal.reason);
      request.signal.addEventListener('abort', abortAttempt, { once: true });
      // One watchdog per attempt instead of a timer per chunk: it re-arms itself for the remaining time.
      const firstLimit = lease.alternatives > 0 ? opts.firstChunkTimeoutMs : Infinity;
      const t0 = clock.now();
      let lastAt = t0;
      let firstAt: number | undefined;
      let watchdog: unknown;
      const arm = (): void => {
        const limit = firstAt === undefined ? firstLimit : opts.idleTimeoutMs;
        if (limit === Infinity) return;
        const remaining = limit - (clock.now() - lastAt);
        if (remaining <= 0) {
          attemptCtl.abort(
            firstAt === undefined
              ? new WorkerError(lease.name, 'first_chunk_timeout', `no first chunk within ${limit} ms`)
              : new WorkerError(lease.name, 'idle_timeout', `no chunk for ${limit} ms`),
          );
          return;
        }
        watchdog = clock.setTimeout(arm, remaining);
      };
      arm();
      const stopped = new Promise<never>((_, reject) => {
        attemptCtl.signal.addEventListener('abort', () => reject(attemptCtl.signal.reason), { once: true });
      });
      stopped.catch(() => {});

      let iterator: AsyncIterator<CompletionChunk> | undefined;
      let accepted = false;
      let segmentChars = 0;
      try {
        const prompt = parts.length === 0 ? messages : continuationMessages(messages, parts.join(''), opts.continuation);
        const iterable = await Promise.race([
          lease.worker.streamCompletion(prompt, {
            signal: attemptCtl.signal,
            ...(o.model !== undefined ? { model: o.model } : {}),
            ...(o.backendOptions !== undefined ? { backendOptions: o.backendOptions } : {}),
          }),
          stopped,
        ]);
        accepted = true;
        iterator = iterable[Symbol.asyncIterator]();
        for (;;) {
          const r = await Promise.race([iterator.next(), stopped]);
          if (r.done) throw new WorkerError(lease.name, 'truncated', 'the stream ended without its final chunk');
          const c = r.value;
          if (typeof c?.text !== 'string') throw new WorkerError(lease.name, 'protocol', 'the worker yielded a chunk without text');
          lastAt = clock.now();
          if (firstAt === undefined) {
            firstAt = lastAt;
            clock.clearTimeout(watchdog);
            watchdog = undefined;
            arm();
          }
          if (c.text !== '') {
            parts.push(c.text);
            chars += c.text.length;
            segmentChars += c.text.length;
          }
          const done = c.done === true;
          const out: StreamChunk = {
            worker: lease.name,
            text: c.text,
            done,
            segment,
            ...(c.finishReason !== undefined ? { finishReason: c.finishReason } : {}),
            ...(c.usage !== undefined ? { usage: c.usage } : {}),
          };
          if (done) {
            releaseCurrent({ kind: 'success', firstChunkMs: firstAt - t0, latencyMs: clock.now() - t0 });
            finish('complete');
          }
          yield out;
          if (done) return;
        }
      } catch (e) {
        if (request.signal.aborted) throw abortError();
        const error = attemptCtl.signal.aborted ? attemptCtl.signal.reason : e;
        releaseCurrent({ kind: 'failure', error, ...(firstAt !== undefined ? { firstChunkMs: firstAt - t0 } : {}) });
        const reason = describe(error);
        attempts.push({ worker: lease.name, reason, error });
        tried.push(lease.name);
        const phase = firstAt !== undefined ? 'mid_stream' : accepted ? 'first_chunk' : 'start';
        events.emit(() => ({ type: 'pool.attempt_failed', requestId, worker: lease.name, phase, reason, error }));
        if (segmentChars > 0) {
          const cont = opts.continuation;
          if (cont === false || switches >= cont.maxSwitches) {
            finish('interrupted');
            throw new StreamInterruptedError(lease.name, parts.join(''), error, attempts);
          }
          switches++;
          segment++;
        }
        events.emit(() => ({ type: 'pool.failover', requestId, from: lease.name, deliveredChars: chars }));
      } finally {
        clock.clearTimeout(watchdog);
        watchdog = undefined;
        request.signal.removeEventListener('abort', abortAttempt);
        releaseCurrent({ kind: 'cancelled' }); // the consumer stopped reading: not the worker's fault
        if (!attemptCtl.signal.aborted) attemptCtl.abort(new Error('attempt over'));
        void Promise.resolve(iterator?.return?.()).catch(() => {});
      }
    }
  } finally {
    clock.clearTimeout(deadlineTimer);
    o.signal?.removeEventListener('abort', onCallerAbort);
  }

  function abortError(): Error {
    if (request.signal.reason === DEADLINE) {
      finish('deadline');
      return new DeadlineExceededError(deadlineMs ?? 0, parts.join(''));
    }
    finish('aborted');
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
async function checkoutWithRetry(
  findPool: () => PoolRef | undefined,
  tried: readonly string[],
  signal: AbortSignal,
): Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
  const attempt = async (): Promise<{ pool: PoolRef; checkout: Checkout }> => {
    const pool = findPool();
    if (pool === undefined || pool.exited) throw new PoolNotRunning();
    return { pool, checkout: await checkoutWorker(pool, tried) };
  };
  try {
    return await attempt();
  } catch (e) {
    if (!(e instanceof PoolNotRunning || isActorExitedError(e))) throw e;
  }
  return pRetry(attempt, {
    retries: 8,
    minTimeout: 1,
    factor: 2,
    signal,
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
