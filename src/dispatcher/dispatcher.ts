import { lazy } from '../lazy-zod.js';
import type { ChatMessage, FinishReason, ToolCall, ToolCallDelta, Usage } from '../behaviour/types.js';
import { checkToolChoice, generationShape, parseWith, validateMessages } from '../behaviour/validate.js';
import { collectToolCalls } from '../behaviour/tool-calls.js';
import { ShutdownError, StreamAbortedError } from '../errors/pool.js';
import { InvalidArgumentError, NoProcError } from '../errors/runtime.js';
import { checkSystem, type ActorSystem } from '../runtime/system.js';
import { checkMs } from '../runtime/checks.js';
import { checkHealth, poolStatus, type PoolRef, type PoolStatus } from '../pool/pool.js';
import type { HealthReport } from '../pool/health.js';
import { mergePolicy, POLICY_DEFAULTS, requestPolicyShape, type RequestPolicy, type RequestPolicyOptions } from './policy.js';
import { reporterFor } from './checkout.js';
import type { DispatchOptions, StreamChunk } from './options.js';
import { runRequest, type Endable, type RequestEnv, type RequestScope } from './request.js';
import { Watchdogs } from './watchdogs.js';
import { replay, ResponseCache, type Entry, type ResponseCacheOptions } from './cache.js';
import type { SharedStore } from '../store/store.js';
import { decide, type Router } from './routing.js';
import { HedgeBudget } from './hedge.js';
import type { CacheHitEvent } from '../events.js';

/** Default drain time of {@link Dispatcher.drain} and `Workers.stop`, ms. */
export const DEFAULT_DRAIN_MS = 5_000;

/** A complete answer, from {@link Dispatcher.complete}. */
export interface Completion {
  readonly text: string;
  /** Workers that produced the text, in order (more than one after a continuation). */
  readonly workers: readonly string[];
  readonly finishReason?: FinishReason;
  readonly usage?: Usage;
  /** What the answer cost, US dollars (see `StreamChunk.costUsd`), when known. */
  readonly costUsd?: number;
  /** True when the answer came from the response cache. */
  readonly cached?: true;
  /** The tool calls the model made (with `finishReason: 'tool_calls'`), when it made some. */
  readonly toolCalls?: readonly ToolCall[];
}

const optionsSchema = lazy((z) =>
  z
    .object({
      model: z.string().min(1).optional(),
      signal: z.instanceof(AbortSignal, { message: 'expected an AbortSignal' }).optional(),
      backendOptions: z.record(z.string(), z.unknown()).optional(),
      priority: z.number().finite().optional(),
      cache: z.boolean().optional(),
      cacheScope: z.string().min(1).optional(),
      tenant: z.string().min(1).optional(),
      route: z.string().min(1).optional(),
      sideEffects: z.boolean().optional(),
      ...generationShape(),
      ...requestPolicyShape(),
    })
    .strict()
    .superRefine(checkToolChoice),
);
const defaultsSchema = lazy((z) => z.object(requestPolicyShape()).strict());

const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';
const boolean = (v: unknown): boolean => typeof v === 'boolean';

/** The options checked without zod when they are all there is, each with the test zod's schema makes of it. */
const PLAIN: Readonly<Record<string, (v: unknown) => boolean>> = {
  signal: (v) => v instanceof AbortSignal,
  model: nonEmpty,
  route: nonEmpty,
  tenant: nonEmpty,
  cacheScope: nonEmpty,
  priority: (v) => typeof v === 'number' && Number.isFinite(v),
  cache: boolean,
  sideEffects: boolean,
};

/**
 * Fast path: no options, or only the plain ones above, each valid (what the gateway and most
 * apps pass; zod, the source of truth, checks the rest and says what is wrong).
 */
function isPlainOptions(o: DispatchOptions): boolean {
  if (typeof o !== 'object' || o === null) return false;
  for (const k in o) {
    const check = Object.hasOwn(PLAIN, k) ? PLAIN[k] : undefined;
    if (check === undefined || !check((o as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** What a {@link Dispatcher} may add to the pool: a response cache, a router, the shared store the cache then lives in. */
export interface DispatcherExtras {
  readonly cache?: ResponseCacheOptions | undefined;
  readonly route?: Router | undefined;
  /** With a response cache: keep it in this shared store (every instance reads what one kept) instead of in memory. */
  readonly store?: SharedStore | undefined;
}

/**
 * The facade an app calls. Validates input, streams through the pool, and maps every failure
 * to a typed error. It keeps the requests in flight, so a shutdown can drain them.
 */
export class Dispatcher {
  readonly #system: ActorSystem;
  readonly #poolName: string;
  readonly #defaults: RequestPolicy;
  readonly #env: RequestEnv;
  readonly #cache: ResponseCache | undefined;
  /** `running`: admits requests; `draining`: lets those in flight finish; `stopped`: refuses everything. */
  #stage: 'running' | 'draining' | 'stopped' = 'running';
  /** The requests in flight (each ends itself when the drain time runs out). */
  readonly #active = new Set<Endable>();
  #idle: (() => void) | null = null;
  #drained: Promise<void> | null = null;
  readonly #scope: RequestScope = {
    enter: (r) => {
      if (this.#stage !== 'running') throw new ShutdownError('refused', 'dispatchStream');
      this.#active.add(r);
    },
    leave: (r) => {
      if (this.#active.delete(r) && this.#active.size === 0) this.#idle?.();
    },
  };

  /**
   * @param poolName the registered name of the pool actor (looked up per request, so a restarted pool is found).
   * @param defaults the request policy's defaults (the pool's options: timeouts, continuation, queue wait).
   * @param extras `cache`: keep complete answers and replay them for the same request (off when
   *   absent); `route`: decides a request's route when it names none.
   * @throws InvalidArgumentError for a bad system, name, cache option or router; ValidationError for bad defaults.
   */
  constructor(system: ActorSystem, poolName: string, defaults: RequestPolicyOptions = {}, extras: DispatcherExtras = {}) {
    checkSystem(system);
    if (typeof poolName !== 'string' || poolName === '') throw new InvalidArgumentError('poolName', 'a non-empty string', poolName);
    this.#system = system;
    this.#poolName = poolName;
    this.#defaults = mergePolicy(POLICY_DEFAULTS, parseWith(defaultsSchema, defaults, 'defaults') as RequestPolicyOptions);
    const findPool = (): PoolRef | undefined => system.whereis(poolName) as PoolRef | undefined;
    const { cache, route, store } = extras;
    if (route !== undefined && typeof route !== 'function') throw new InvalidArgumentError('route', 'a function (messages) => tag | undefined', route);
    this.#env = { system, findPool, scope: this.#scope, report: reporterFor(findPool), route, hedges: new HedgeBudget(() => system.clock.now()), watchdogs: new Watchdogs(system.clock) };
    this.#cache = cache === undefined ? undefined : new ResponseCache(cache, store);
  }

  /**
   * Streams an answer. Chunks carry the worker that produced them; the last has `done: true`.
   * A stream that cannot complete ends by throwing `NoWorkersAvailableError`,
   * `StreamInterruptedError` (with the partial text), `StreamAbortedError` or `DeadlineExceededError`;
   * when every worker is at its limits, the request waits in the pool's queue, or fails with
   * `QueueFullError` / `QueueTimeoutError`.
   * A stream started after {@link Dispatcher.drain} began fails with `ShutdownError` (`refused`);
   * one still running when the drain time runs out ends with `ShutdownError` (`ended`).
   * @throws ValidationError at once, for bad messages or options (naming the field).
   * @example
   * for await (const chunk of dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }])) {
   *   process.stdout.write(chunk.text);
   * }
   */
  dispatchStream(messages: readonly ChatMessage[], options: DispatchOptions = {}): AsyncGenerator<StreamChunk, void, undefined> {
    const msgs = validateMessages(messages);
    const plain = isPlainOptions(options);
    const opts = plain ? options : (parseWith(optionsSchema, options, 'options') as DispatchOptions);
    const policy = plain ? this.#defaults : mergePolicy(this.#defaults, opts);
    if (this.#cache === undefined) return runRequest(this.#env, msgs, opts, policy);
    return this.#throughCache(this.#cache, msgs, opts, policy);
  }

  /**
   * A hit replayed (when the door is open), or the request recorded for the next one. A route a
   * router chooses is decided first, so that it is part of the key.
   */
  #throughCache(cache: ResponseCache, msgs: readonly ChatMessage[], opts: DispatchOptions, policy: RequestPolicy): AsyncGenerator<StreamChunk, void, undefined> {
    if (opts.route === undefined && this.#env.route !== undefined && opts.cache !== false) return this.#routedFirst(cache, msgs, opts, policy);
    return this.#cached(cache, msgs, opts, policy);
  }

  async *#routedFirst(cache: ResponseCache, msgs: readonly ChatMessage[], opts: DispatchOptions, policy: RequestPolicy): AsyncGenerator<StreamChunk, void, undefined> {
    const route = await decide(this.#env.route, msgs);
    yield* this.#cached(cache, msgs, route === undefined ? opts : { ...opts, route }, policy, route === undefined);
  }

  #cached(cache: ResponseCache, msgs: readonly ChatMessage[], opts: DispatchOptions, policy: RequestPolicy, unrouted = false): AsyncGenerator<StreamChunk, void, undefined> {
    // A router that chose nothing is not asked again by the request.
    const run = unrouted ? { ...this.#env, route: undefined } : this.#env;
    const key = cache.key(msgs, opts);
    if (key === undefined) return runRequest(run, msgs, opts, policy);
    const found = this.#stage === 'running' ? cache.lookup(key) : undefined;
    if (found instanceof Promise) return this.#afterLookup(found, cache, key, msgs, opts, policy, run);
    return this.#answer(found, cache, key, msgs, opts, policy, run);
  }

  /** A shared cache's answer is awaited first (the request starts when it is in). */
  async *#afterLookup(found: Promise<Entry | undefined>, cache: ResponseCache, key: string, msgs: readonly ChatMessage[], opts: DispatchOptions, policy: RequestPolicy, run: RequestEnv): AsyncGenerator<StreamChunk, void, undefined> {
    const e = await found;
    yield* this.#answer(this.#stage === 'running' ? e : undefined, cache, key, msgs, opts, policy, run);
  }

  /** A hit replayed; else the request runs, leading the identical ones that come meanwhile (single flight), or following one already in flight. */
  #answer(hit: Entry | undefined, cache: ResponseCache, key: string, msgs: readonly ChatMessage[], opts: DispatchOptions, policy: RequestPolicy, run: RequestEnv): AsyncGenerator<StreamChunk, void, undefined> {
    if (hit !== undefined) return this.#hit(hit, opts, msgs, false);
    if (!cache.singleFlight) return cache.recording(key, runRequest(run, msgs, opts, policy));
    const flight = cache.inFlight(key);
    if (flight === undefined) return cache.leading(key, runRequest(run, msgs, opts, policy));
    return this.#following(flight, cache, key, msgs, opts, policy, run);
  }

  /** Waits for the identical request in flight and replays its answer; if it did not complete, runs on its own. */
  async *#following(flight: Promise<Entry | undefined>, cache: ResponseCache, key: string, msgs: readonly ChatMessage[], opts: DispatchOptions, policy: RequestPolicy, run: RequestEnv): AsyncGenerator<StreamChunk, void, undefined> {
    const e = await abortable(flight, opts.signal);
    if (e !== undefined && this.#stage === 'running') return yield* this.#hit(e, opts, msgs, true);
    yield* cache.recording(key, runRequest(run, msgs, opts, policy));
  }

  #hit(e: Entry, opts: DispatchOptions, msgs: readonly ChatMessage[], inFlight: boolean): AsyncGenerator<StreamChunk, void, undefined> {
    const events = this.#system.events;
    if (events.listening) events.emit(() => hitEvent(e, opts, msgs, inFlight));
    return replay(e, opts.signal);
  }

  /** Streams in flight now (started and not yet over). */
  get inflight(): number {
    return this.#active.size;
  }

  /**
   * Shuts the door: new requests are refused with `ShutdownError` at once, requests in flight
   * get up to `drainMs` (on the system's clock) to finish, then each one left is ended: its
   * caller's stream throws `ShutdownError` (`ended`, with the text delivered so far) and its
   * worker's request is aborted. Afterwards every method rejects with `ShutdownError`. Calling
   * it again returns the same promise. `Workers.stop` calls it first.
   * @param drainMs default {@link DEFAULT_DRAIN_MS}; `0` ends every request at once.
   * @throws InvalidArgumentError for a negative or non-finite `drainMs`.
   */
  drain(drainMs: number = DEFAULT_DRAIN_MS): Promise<void> {
    try {
      checkMs(drainMs, 'drainMs');
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#drained === null) {
      this.#stage = 'draining';
      this.#drained = this.#drain(drainMs);
    }
    return this.#drained;
  }

  async #drain(drainMs: number): Promise<void> {
    if (this.#active.size > 0 && drainMs > 0) {
      const clock = this.#system.clock;
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, drainMs);
        this.#idle = () => {
          clock.clearTimeout(timer);
          resolve();
        };
      });
      this.#idle = null;
    }
    this.#stage = 'stopped';
    const left = [...this.#active];
    this.#active.clear();
    for (const r of left) r.shutdown();
  }

  /** Collects a whole answer. Same errors as {@link Dispatcher.dispatchStream}. */
  async complete(messages: readonly ChatMessage[], options: DispatchOptions = {}): Promise<Completion> {
    let text = '';
    const workers: string[] = [];
    let last: StreamChunk | undefined;
    let deltas: ToolCallDelta[] | undefined;
    for await (const c of this.dispatchStream(messages, options)) {
      text += c.text;
      if (workers.at(-1) !== c.worker) workers.push(c.worker);
      if (c.toolCalls !== undefined) (deltas ??= []).push(...c.toolCalls);
      last = c;
    }
    return {
      text,
      workers,
      ...(deltas !== undefined ? { toolCalls: collectToolCalls(deltas) } : {}),
      ...(last?.finishReason !== undefined ? { finishReason: last.finishReason } : {}),
      ...(last?.usage !== undefined ? { usage: last.usage } : {}),
      ...(last?.costUsd !== undefined ? { costUsd: last.costUsd } : {}),
      ...(last?.cached === true ? { cached: true as const } : {}),
    };
  }

  /**
   * Snapshot of every worker (health, circuit, in-flight, counts, latencies).
   * @throws ShutdownError after a drain; NoProcError while the pool is not running (restarting).
   */
  status(): Promise<PoolStatus> {
    return this.#withPool('status', poolStatus);
  }

  /** Runs a health check of every worker now. Same errors as {@link Dispatcher.status}. */
  checkHealth(): Promise<HealthReport[]> {
    return this.#withPool('checkHealth', (p) => checkHealth(p));
  }

  #withPool<T>(operation: string, f: (pool: PoolRef) => Promise<T>): Promise<T> {
    if (this.#stage === 'stopped') return Promise.reject(new ShutdownError('refused', operation));
    const p = this.#system.whereis(this.#poolName) as PoolRef | undefined;
    if (p === undefined) return Promise.reject(new NoProcError(`pool "${this.#poolName}"`, operation));
    return f(p);
  }
}

/** `p`, or `StreamAbortedError` as soon as `signal` aborts (a request waiting for an identical one in flight). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(new StreamAbortedError('', signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new StreamAbortedError('', signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** The `pool.cache_hit` event of a replayed answer: what it saved, and whom. */
function hitEvent(e: Entry, opts: DispatchOptions, msgs: readonly ChatMessage[], inFlight: boolean): CacheHitEvent {
  return {
    type: 'pool.cache_hit',
    model: opts.model,
    messages: msgs.length,
    ...(inFlight ? { inFlight: true as const } : {}),
    ...(e.chunks[0] !== undefined ? { worker: e.chunks[0].worker } : {}),
    ...(e.last.model !== undefined ? { workerModel: e.last.model } : {}),
    ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
    ...(e.costUsd !== undefined ? { savedUsd: e.costUsd } : {}),
  };
}
