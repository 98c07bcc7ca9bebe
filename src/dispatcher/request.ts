/*
 * One request through the pool: the `Request` (its whole state, its watchdog, its end, how each
 * attempt opens and fails) and `runRequest` (the loop that tells its story: route, check out,
 * attempt, fail over or continue, end). Over 400 lines because the state and the loop are one
 * concept read together; what has its own name lives beside it: an attempt (attempt.ts), the
 * hedge race (hedge.ts), routing (routing.ts), the checkout that rides out a pool restart
 * (checkout.ts), the conversation helpers (conversation.ts), the caller's types (options.ts).
 */
import { ABORTS_PROMPTLY, type ChatMessage, type CompletionChunk, type Price, type RateLimitHint, type StreamOptions, type GenerationOptions } from '../behaviour/types.js';
import { capabilitiesNeeded, pickGeneration, type Capability } from '../behaviour/validate.js';
import { costOf, totalTokens } from '../behaviour/usage.js';
import {
  DeadlineExceededError,
  InvalidRequestError,
  NoWorkersAvailableError,
  QueueFullError,
  QueueTimeoutError,
  ShutdownError,
  StreamAbortedError,
  StreamInterruptedError,
  WorkerError,
  isWorkerError,
  type AttemptFailure,
} from '../errors/pool.js';
import { describe, isCallTimeoutError } from '../errors/runtime.js';
import type { ActorSystem } from '../runtime/system.js';
import { estimateTokens } from '../pool/admission.js';
import { checkoutNow, reportRest, type PoolRef } from '../pool/pool.js';
import type { AttemptOutcome, Checkout, CheckoutRequest, Lease } from '../pool/types.js';
import { Attempt, ENDED } from './attempt.js';
import type { RequestPolicy } from './policy.js';
import { checkoutWithRetry } from './checkout.js';
import { continuationMessages, conversationChars, NO_NEEDS, plainText } from './conversation.js';
import type { DispatchOptions, StreamChunk } from './options.js';
import type { InspectionEvent, StreamFinishedEvent } from '../events.js';
import { Final, hedgedFirst, percentileOf, type HedgeBudget, type Opened } from './hedge.js';
import { decide, type Router } from './routing.js';
import type { Watchdogs } from './watchdogs.js';
import type { Mutable } from '../mutable.js';

/** A request in flight, as its scope sees it: what to call when the drain time runs out. @internal */
export interface Endable {
  shutdown(): void;
}

/**
 * Where requests run: a shutdown drains them, then ends the rest. `enter` admits one request
 * (throwing `ShutdownError` once a shutdown began); `leave` says it is over. The request itself
 * is what the scope holds (no closure per request).
 * @internal
 */
export interface RequestScope {
  enter(r: Endable): void;
  leave(r: Endable): void;
}

/** What a request needs from the dispatcher. @internal */
export interface RequestEnv {
  readonly system: ActorSystem;
  readonly findPool: () => PoolRef | undefined;
  readonly scope: RequestScope;
  /** Tells the pool how an attempt ended (made once per dispatcher by {@link reporterFor}). */
  readonly report: (name: string, outcome: AttemptOutcome) => void;
  /** Decides a request's route when it names none. */
  readonly route?: Router | undefined;
  /** The extra requests hedging may still start (one per dispatcher). */
  readonly hedges?: HedgeBudget | undefined;
  /** The requests' watchdogs, on one timer (one per dispatcher). */
  readonly watchdogs: Watchdogs;
}

type Ending = 'caller' | 'deadline' | 'shutdown';
type Outcome = StreamFinishedEvent['outcome'];

let nextRequestId = 1;

/**
 * One request through the pool, its whole state in one object: select -> admit -> attempt ->
 * (fail over | continue) -> end. One watchdog per request enforces the first-chunk, idle and
 * total deadlines of whatever attempt is current.
 * @internal
 */
export class Request {
  readonly id = nextRequestId++;
  readonly started: number;
  readonly deadlineAt: number;
  readonly tokens: number;
  /** The workers' tag, name or model this request goes to (and whether it was asked as a tag). */
  route: string | undefined;
  strictRoute: boolean;
  /** An async router's decision, until it is in. */
  routing: Promise<string | undefined> | undefined = undefined;
  /** Tools, JSON format and sampling asked for (undefined when none). */
  readonly generation: GenerationOptions | undefined;
  /** What a worker must support to take it (tools, images, a JSON schema). */
  readonly needs: readonly Capability[];
  /** Tool-call pieces delivered by the current segment's worker (a broken tool call is never continued). */
  toolDeltas = 0;
  /** How long the last checkout may wait in the pool's queue, ms (its call's timeout). */
  #waitMs = 0;
  /** The attempts that failed, in order (one shared empty array until the first: most requests have none). */
  attempts: readonly AttemptFailure[] = NONE;
  /** The workers tried and failed, skipped by the next checkout. */
  tried: readonly string[] = NONE;
  readonly parts: string[] = [];
  chars = 0;
  segment = 0;
  switches = 0;
  count = 0;
  lastWorker: string | undefined = undefined;
  /** The last worker's kind and the model asked of it (for events). */
  lastKind: string | undefined = undefined;
  lastModel: string | undefined = undefined;
  /** What the last worker's tokens cost, when known. */
  lastPrice: Price | undefined = undefined;
  /** Chunks delivered, and when the first and last came (clock times). */
  chunks = 0;
  firstChunkAt: number | undefined = undefined;
  lastChunkAt: number | undefined = undefined;
  /** The last chunk given came between an attempt's first and its final one, and the caller has not asked for the next yet: its time is when the request ends. */
  lastUntimed = false;
  usage: StreamChunk['usage'] = undefined;
  /** When the current checkout began (its queue wait is measured from here). */
  checkoutAt = 0;
  /** Why the request was ended from outside the loop, if it was. */
  ended: Ending | null = null;
  /** The backend's refusal of the request itself (a caller's mistake), once one refused it. */
  refused: WorkerError | undefined = undefined;
  /** After a context length exceeded: only workers with a larger (or unknown) context may go on. */
  minContext: number | undefined = undefined;
  /** The failover to announce when (and only when) the next attempt starts. */
  pendingFailover: { readonly from: string; readonly deliveredChars: number; readonly because?: 'context_length_exceeded' } | undefined = undefined;
  #finished = false;
  current: Attempt | null = null;
  /** The hedge racing `current` to the first chunk, while there is one. */
  hedge: Attempt | null = null;
  /** Hedge slow first chunks (the policy says so, and the request has no side effects). */
  readonly hedging: boolean;
  /** When its dispatcher's watchdogs look at it next (Infinity: not watched), and its place there. */
  watchAt = Infinity;
  watchIndex = -1;
  /** Set once the request is over: nothing arms the watchdog again. */
  #unwatched = false;

  constructor(
    readonly env: RequestEnv,
    readonly messages: readonly ChatMessage[],
    readonly o: DispatchOptions,
    readonly policy: RequestPolicy,
  ) {
    this.started = env.system.clock.now();
    this.deadlineAt = this.started + policy.deadlineMs;
    this.tokens = estimateTokens(conversationChars(messages));
    this.generation = pickGeneration(o);
    this.needs = this.generation === undefined && plainText(messages) ? NO_NEEDS : capabilitiesNeeded(messages, o);
    const tag = o.route ?? decide(env.route, messages);
    if (tag instanceof Promise) this.routing = tag;
    this.route = (tag instanceof Promise ? undefined : tag) ?? o.model;
    this.strictRoute = typeof tag === 'string';
    this.hedging = policy.hedge !== false && o.sideEffects !== true && env.hedges !== undefined;
    if (this.hedging) env.hedges!.earn((policy.hedge as { budget: number }).budget);
  }

  // ---- the watchdog -------------------------------------------------------------------------

  /** Makes sure the watchdog looks at the request no later than `at` (its dispatcher's {@link Watchdogs}). */
  armBy(at: number): void {
    if (this.#unwatched || at >= this.watchAt) return;
    this.env.watchdogs.set(this, at);
  }

  /** The watchdog's look: the deadline, each attempt's silence, then when to look again. */
  onWatch(): void {
    if (this.ended !== null || this.#unwatched) return;
    const now = this.env.system.clock.now();
    if (now >= this.deadlineAt) return this.end('deadline');
    const at = Math.min(this.deadlineAt, dueOf(this.current, now), dueOf(this.hedge, now));
    if (at !== Infinity) this.env.watchdogs.set(this, at);
  }

  stopWatchdog(): void {
    this.#unwatched = true; // nothing re-arms it
    this.env.watchdogs.remove(this);
  }

  // ---- ending -------------------------------------------------------------------------------

  /** The caller's signal aborted (the request is its own listener: no closure per request). */
  handleEvent(): void {
    this.end('caller');
  }

  /** The drain time ran out. */
  shutdown(): void {
    this.end('shutdown');
  }

  /** Ends the request from outside: at once, whether or not the consumer reads again. */
  end(why: Ending): void {
    if (this.ended !== null) return;
    this.ended = why;
    this.stopWatchdog();
    for (const a of [this.current, this.hedge]) {
      if (a === null) continue;
      a.release({ kind: 'cancelled' }); // the slot is free even if the consumer never reads again
      a.abort(why === 'caller' ? this.o.signal?.reason : new Error(why === 'deadline' ? 'deadline exceeded' : 'shutdown'));
    }
    this.finish(why === 'caller' ? 'aborted' : why);
  }

  /** Whether the request's end was reported. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Reports how the request ended, once. */
  finish(outcome: Outcome, reason?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    const events = this.env.system.events;
    if (events.listening) events.emit(() => this.#finishedEvent(outcome, reason));
  }

  /** The request's `pool.stream_finished` event: its fields written one by one (spreading small objects cost a listener's request a few hundred ns). */
  #finishedEvent(outcome: Outcome, reason: string | undefined): InspectionEvent {
    const t0 = this.started;
    const now = this.env.system.clock.now();
    const e: Mutable<StreamFinishedEvent> = { type: 'pool.stream_finished', requestId: this.id, worker: this.lastWorker, outcome, chars: this.chars, ms: now - t0, chunks: this.chunks };
    if (this.firstChunkAt !== undefined) {
      e.firstChunkMs = this.firstChunkAt - t0;
      e.lastChunkMs = (this.lastUntimed ? now : this.lastChunkAt!) - t0;
    }
    if (this.usage !== undefined) e.usage = this.usage;
    if (this.lastKind !== undefined) e.kind = this.lastKind;
    if (this.lastModel !== undefined) e.model = this.lastModel;
    if (reason !== undefined) e.reason = reason;
    if (this.o.tenant !== undefined) e.tenant = this.o.tenant;
    if (this.strictRoute && this.route !== undefined) e.route = this.route;
    const cost = costOf(this.usage, this.lastPrice);
    if (cost !== undefined) e.costUsd = cost;
    return e;
  }

  /** The error of a request ended from outside (its outcome was reported by `end`). */
  endedError(): Error {
    const text = this.parts.join('');
    if (this.ended === 'deadline') return new DeadlineExceededError(this.policy.deadlineMs, text);
    if (this.ended === 'shutdown') return new ShutdownError('ended', 'stream', text);
    return new StreamAbortedError(text, this.o.signal?.reason);
  }

  /** Records an attempt that failed. */
  failedOn(f: AttemptFailure): void {
    this.attempts = [...this.attempts, f];
  }

  /** No worker is left: the typed error, with every attempt and skipped worker. */
  noMore(skipped: readonly AttemptFailure[]): Error {
    const all = [...this.attempts, ...skipped];
    if (this.refused !== undefined && this.chars === 0) return this.invalidRequest(this.refused, all);
    if (this.chars > 0) {
      const last = this.attempts.at(-1);
      return this.ending('interrupted', new StreamInterruptedError(last?.worker ?? this.lastWorker ?? '(none)', this.parts.join(''), last?.error ?? new NoWorkersAvailableError(all), all));
    }
    return this.ending('no_workers', new NoWorkersAvailableError(all, this.route));
  }

  /** The backend refused the request itself: the caller's typed error, with the backend's words. */
  invalidRequest(e: WorkerError, attempts: readonly AttemptFailure[] = this.attempts): Error {
    return this.ending('invalid_request', new InvalidRequestError(e.worker, e.status ?? 400, e.body ?? e.message, e.backendCode, e.param, attempts, e));
  }

  /** Reports the request's end with the error it ends with (its message is the event's `reason`), and returns the error. */
  ending<E extends Error>(outcome: Outcome, error: E): E {
    this.finish(outcome, error.message);
    return error;
  }

  /** The worker now answering, for its events (its name, kind, the model asked of it, its price). */
  note(lent: Lease): void {
    this.lastWorker = lent.name;
    this.lastKind = lent.kind;
    this.lastModel = lent.aliased === true ? lent.model : (this.o.model ?? lent.model);
    this.lastPrice = lent.price;
  }

  /** Starts a hedge's attempt on the worker checked out for it. */
  startHedge(got: { pool: PoolRef; checkout: Checkout }): Attempt {
    return startAttempt(this, got, 'hedge');
  }

  // ---- checkout -----------------------------------------------------------------------------

  /** A worker for the next attempt: at once from an idle pool, or after waiting in its queue. */
  checkout(): { pool: PoolRef; checkout: Checkout } | Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
    const req = this.#checkoutRequest(this.tried, this.hedging ? percentileOf(this.policy.hedge) : undefined);
    const now = this.env.system.clock.now();
    this.checkoutAt = now;
    this.#waitMs = Math.max(1, Math.min(this.policy.queueTimeoutMs, this.deadlineAt - now));
    return checkoutWithRetry(this.env.findPool, req, this.#waitMs, this.o.signal);
  }

  /** What this request asks of the pool: workers to skip, its estimate, route and needs, and `extra`. */
  #checkoutRequest(exclude: readonly string[], extra: Partial<CheckoutRequest> | undefined): CheckoutRequest {
    // Written field by field: one is made for every checkout (spreading small objects cost more).
    const req: Mutable<CheckoutRequest> = { type: 'checkout', exclude, tokens: this.tokens, priority: this.o.priority ?? 0 };
    if (this.o.tenant !== undefined) req.tenant = this.o.tenant;
    if (this.route !== undefined) {
      req.route = this.route;
      req.strict = this.strictRoute;
    }
    if (this.needs.length > 0) req.needs = this.needs;
    if (this.minContext !== undefined) req.minContext = this.minContext;
    return extra === undefined ? req : Object.assign(req, extra);
  }

  /** A second worker for a hedge of `primary`: one with room now, never from the queue; undefined if none. */
  async checkoutHedge(primary: Attempt): Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
    const pool = this.env.findPool();
    if (pool === undefined || pool.exited) return undefined;
    const req = this.#checkoutRequest([...this.tried, primary.name], { noWait: true });
    try {
      const c = await checkoutNow(pool, req, Math.max(1, this.policy.queueTimeoutMs), this.o.signal);
      return c.ok ? { pool, checkout: c } : undefined;
    } catch {
      return undefined;
    }
  }

  /** How long `a` may go without a first chunk before it is hedged, ms. */
  hedgeDelay(a: Attempt): number {
    const h = this.policy.hedge;
    if (h === false) return Infinity;
    return typeof h.afterMs === 'number' ? h.afterMs : (a.lease.firstChunkPercentileMs ?? h.fallbackMs);
  }

  /**
   * The typed error of a checkout that failed or was refused. A caller's abort while waiting
   * ended the request first (its listener was added before the checkout's): `ended` says so.
   */
  checkoutError(e: unknown): Error {
    if (this.ended !== null) return this.endedError();
    if (isCallTimeoutError(e)) {
      if (this.env.system.clock.now() >= this.deadlineAt) {
        this.end('deadline');
        return this.endedError();
      }
      return this.ending('no_workers', new QueueTimeoutError(this.#waitMs));
    }
    return e instanceof Error ? e : new Error(String(e));
  }

  queueFull(maxQueue: number, depth: number, tenant?: string): Error {
    return this.ending('no_workers', new QueueFullError(maxQueue, depth, tenant));
  }

  // ---- one attempt --------------------------------------------------------------------------

  /** The options the worker gets for this attempt. */
  streamOptions(a: Attempt): StreamOptions {
    const o = this.o;
    const findPool = this.env.findPool;
    const so: Mutable<StreamOptions> = {
      ...this.generation,
      signal: a.ctl.signal,
      reportLimits: (hint: RateLimitHint) => {
        const pool = findPool();
        if (pool !== undefined) reportRest(pool, a.name, hint.restMs, hint.reason);
      },
    };
    if (o.model !== undefined && a.lease.aliased !== true) so.model = o.model;
    if (o.backendOptions !== undefined) so.backendOptions = o.backendOptions;
    return so;
  }

  /** The conversation for the next attempt: as asked, or asking to continue the partial answer. */
  prompt(): readonly ChatMessage[] {
    return this.parts.length === 0 ? this.messages : continuationMessages(this.messages, this.parts.join(''), this.policy.continuation);
  }

  /** Starts the attempt on its worker: resolves with its chunks once the worker accepted the request. */
  open(a: Attempt): Promise<AsyncIterable<CompletionChunk>> {
    return a.read(Promise.resolve(a.lease.worker.streamCompletion(this.prompt(), this.streamOptions(a))));
  }

  /** The worker accepted the request: its chunks' iterator, and whether reads must be guarded. */
  begin(a: Attempt, iterable: AsyncIterable<CompletionChunk>): { iterator: AsyncIterator<CompletionChunk>; guarded: boolean } {
    a.accept();
    // A worker whose reads reject as soon as its signal aborts is read directly; others are guarded.
    return { iterator: iterable[Symbol.asyncIterator](), guarded: (iterable as { [ABORTS_PROMPTLY]?: boolean })[ABORTS_PROMPTLY] !== true };
  }

  /** Starts the attempt and reads its first chunk (for a hedge race). On a failure its stream (if it opened) is closed. */
  async openFirst(a: Attempt): Promise<Opened> {
    const { iterator, guarded } = this.begin(a, await this.open(a));
    try {
      return { a, iterator, guarded, first: guarded ? await a.read(iterator.next()) : await iterator.next() };
    } catch (e) {
      void Promise.resolve(iterator.return?.()).catch(() => {});
      throw e;
    }
  }

  /** What the worker's iterator gave, as the caller's chunk; on the final chunk the slot goes back as a success. Throws to fail over or end. */
  take(a: Attempt, r: IteratorResult<CompletionChunk>): StreamChunk {
    if (this.ended !== null) throw ENDED; // cancelled meanwhile: not even a chunk already buffered
    if (r.done) throw new WorkerError(a.name, 'truncated', 'the stream ended without its final chunk');
    // An attempt's first chunk and the final one are timed as they come; one in between needs no
    // time of its own (the clock is read when the caller asks for the next: see `resumed`), which
    // saves a clock read per chunk (about 50 ns, a sixth of the pool's own cost per chunk).
    const now = a.firstAt === undefined || r.value?.done === true ? this.env.system.clock.now() : undefined;
    const out = this.#chunk(a, r.value, now);
    if (out.done) {
      const success: Mutable<Extract<AttemptOutcome, { kind: 'success' }>> = { kind: 'success', firstChunkMs: a.firstAt! - a.started, latencyMs: now! - a.started };
      if (out.usage !== undefined) success.usage = out.usage;
      a.release(success, totalTokens(out.usage));
      this.finish('complete');
      return this.#last(out);
    }
    return out;
  }

  /**
   * The caller asks for the next chunk at `now`: the worker is waited on again, and the chunk it
   * was given stands as the last one at this time (a chunk between an attempt's first and its
   * final one is not timed as it comes: the caller's own time on it is counted in `lastChunkMs`).
   */
  resumed(a: Attempt, now: number): void {
    a.resume(now);
    this.lastChunkAt = now;
    this.lastUntimed = false;
  }

  /** The done chunk, with the model that answered and what the answer cost, when known. */
  #last(out: StreamChunk): StreamChunk {
    const cost = costOf(this.usage, this.lastPrice);
    if (cost === undefined && this.lastModel === undefined) return out;
    const last: Mutable<StreamChunk> = { ...out };
    if (this.lastModel !== undefined) last.model = this.lastModel;
    if (cost !== undefined) last.costUsd = cost;
    return last;
  }

  /**
   * A worker's chunk as the caller gets it (counting the text, re-arming the watchdog for the idle
   * limit). `now` is given for an attempt's first chunk and the final one.
   */
  #chunk(a: Attempt, c: CompletionChunk, now: number | undefined): StreamChunk {
    if (typeof c?.text !== 'string') throw new WorkerError(a.name, 'protocol', 'the worker yielded a chunk without text');
    this.lastUntimed = now === undefined;
    if (now === undefined) a.chunk();
    else {
      const first = a.firstAt === undefined;
      a.chunk(now);
      if (first) this.armBy(now + a.idleLimit);
      this.firstChunkAt ??= now;
      this.lastChunkAt = now;
    }
    this.chunks++;
    if (c.usage !== undefined) this.usage = c.usage;
    if (c.text !== '') {
      this.parts.push(c.text);
      this.chars += c.text.length;
    }
    const out: Mutable<StreamChunk> = { worker: a.name, text: c.text, done: c.done === true, segment: this.segment };
    if (c.reasoning !== undefined) out.reasoning = c.reasoning;
    if (c.finishReason !== undefined) out.finishReason = c.finishReason;
    if (c.usage !== undefined) out.usage = c.usage;
    if (c.toolCalls !== undefined && c.toolCalls.length > 0) {
      out.toolCalls = c.toolCalls;
      this.toolDeltas += c.toolCalls.length;
    }
    return out;
  }

  /**
   * An attempt failed: record it, give its slot back, and decide: fail over (return), or end
   * the stream (throw) when text was delivered and continuation is off or used up, or when the
   * backend refused the request itself (the caller's mistake: not the worker's failure).
   */
  failed(a: Attempt, e: unknown, segmentChars: number): void {
    const error = a.ctl.signal.aborted ? a.ctl.signal.reason : e;
    const refused = this.chars === 0 && isWorkerError(error) && error.kind === 'bad_request' ? error : undefined;
    // A worker that refused what it cannot do, or a request that is itself wrong: the worker is not down.
    if (refused !== undefined || (isWorkerError(error) && error.kind === 'unsupported')) a.release({ kind: 'cancelled' });
    else a.release({ kind: 'failure', error, ...(a.firstAt !== undefined ? { firstChunkMs: a.firstAt - a.started } : {}) });
    const reason = describe(error);
    const rest = isWorkerError(error) && error.kind === 'rate_limited' ? error.retryAfterMs : undefined;
    this.failedOn({ worker: a.name, reason, error, ...(rest !== undefined ? { retryAfterMs: rest } : {}) });
    this.tried = [...this.tried, a.name];
    const events = this.env.system.events;
    const phase = a.firstAt !== undefined ? 'mid_stream' : a.accepted ? 'first_chunk' : 'start';
    const blame = refused !== undefined ? 'caller' : 'worker';
    if (events.listening) events.emit(() => ({ type: 'pool.attempt_failed', requestId: this.id, worker: a.name, phase, reason, error, blame }));
    if (refused !== undefined) return this.#refusedBy(a, refused);
    const toolDeltas = this.toolDeltas;
    this.toolDeltas = 0;
    if (segmentChars > 0 || toolDeltas > 0) {
      const cont = this.policy.continuation;
      // A half-streamed tool call cannot be continued by another worker: the stream ends with the error.
      if (cont === false || this.switches >= cont.maxSwitches || toolDeltas > 0) {
        throw this.ending('interrupted', new StreamInterruptedError(a.name, this.parts.join(''), error, this.attempts));
      }
      this.switches++;
      this.segment++;
    }
    this.pendingFailover = { from: a.name, deliveredChars: this.chars };
  }

  /**
   * The backend refused the request: it ends here with the caller's error, but a context length
   * exceeded goes on to the workers whose context is larger than this one's (or unknown).
   */
  #refusedBy(a: Attempt, e: WorkerError): void {
    this.refused = e;
    if (!contextExceeded(e)) throw this.invalidRequest(e);
    const ctx = a.lease.worker.info().capabilities?.contextLength;
    if (typeof ctx === 'number') this.minContext = Math.max(this.minContext ?? 0, ctx);
    this.pendingFailover = { from: a.name, deliveredChars: 0, because: 'context_length_exceeded' };
  }
}

/** A backend's refusal saying the conversation does not fit its context (OpenAI's code, Anthropic's and Ollama's words). */
function contextExceeded(e: WorkerError): boolean {
  if (e.backendCode === 'context_length_exceeded') return true;
  return /context[_ ]length|context window|maximum context|prompt is too long|too many tokens/i.test(e.body ?? e.message);
}

/**
 * Streams one answer through the pool: picks a worker, fails over on errors and silent
 * starts, watches for stalls, and either ends with a `done` chunk or throws a typed error.
 * @internal
 */
export async function* runRequest(env: RequestEnv, messages: readonly ChatMessage[], o: DispatchOptions, policy: RequestPolicy): AsyncGenerator<StreamChunk, void, undefined> {
  if (o.signal?.aborted) throw new StreamAbortedError('', o.signal.reason);
  const r = new Request(env, messages, o, policy);
  const events = env.system.events;
  if (events.listening) events.emit(() => ({ type: 'pool.request_started', requestId: r.id, model: o.model, messages: messages.length }));
  env.scope.enter(r);
  o.signal?.addEventListener('abort', r, { once: true });
  const clock = env.system.clock;
  try {
    if (r.routing !== undefined) await routed(r, r.routing);
    for (;;) {
      const next = nextAttempt(r);
      let a = next instanceof Promise ? await next : next;
      const before = r.chars;
      let completed = false;
      let iterator: AsyncIterator<CompletionChunk> | undefined;
      try {
        let guarded: boolean;
        let res: IteratorResult<CompletionChunk>;
        if (r.hedging) {
          const opened = await hedgedFirst(r, a);
          ({ a, iterator, guarded } = opened);
          res = opened.first;
        } else {
          // Not through openFirst: one async frame less per stream waiting for its first chunk.
          ({ iterator, guarded } = r.begin(a, await r.open(a)));
          res = guarded ? await a.read(iterator.next()) : await iterator.next();
        }
        for (;;) {
          const out = r.take(a, res);
          completed = out.done;
          yield out;
          if (completed) return;
          r.resumed(a, clock.now());
          res = guarded ? await a.read(iterator.next()) : await iterator.next();
        }
      } catch (e) {
        if (r.ended !== null) throw r.endedError();
        if (e instanceof Final) throw e.error;
        a = r.current ?? a; // after a hedge race, the attempt that failed last
        r.failed(a, e, r.chars - before);
      } finally {
        a = r.current ?? a;
        r.current = null; // the watchdog stays armed for the request; the next attempt takes it over
        // Close the worker's iterator, completed or not: one that yielded its final chunk may
        // still be suspended there (a completed HTTP stream's return is a no-op).
        if (iterator?.return) void Promise.resolve(iterator.return()).catch(() => {});
        a.close(completed);
      }
    }
  } catch (e) {
    if (!r.finished) r.finish('no_workers', describe(e)); // an unexpected refusal of the pool: no worker served it
    throw e;
  } finally {
    // The consumer stopped reading (`break`, `return()`): the request ends here, seen by every listener.
    if (!r.finished) r.finish('abandoned');
    r.stopWatchdog();
    o.signal?.removeEventListener('abort', r);
    env.scope.leave(r);
  }
}

/** Waits for an async router's decision; its tag routes strictly. */
async function routed(r: Request, routing: Promise<string | undefined>): Promise<void> {
  const tag = await routing;
  if (r.ended !== null) throw r.endedError();
  if (tag !== undefined) {
    r.route = tag;
    r.strictRoute = true;
  }
}

/** Checks out the next worker and starts its attempt: at once from an idle pool (no promise turn), or after the queue. */
function nextAttempt(r: Request): Attempt | Promise<Attempt> {
  let pending: ReturnType<Request['checkout']>;
  try {
    pending = r.checkout();
  } catch (e) {
    throw r.checkoutError(e);
  }
  if (!(pending instanceof Promise)) return startAttempt(r, pending);
  return pending.then(
    (got) => startAttempt(r, got),
    (e: unknown) => {
      throw r.checkoutError(e);
    },
  );
}

function startAttempt(r: Request, got: { pool: PoolRef; checkout: Checkout } | undefined, role: 'current' | 'hedge' = 'current'): Attempt {
  if (r.ended !== null && !(got?.checkout.ok ?? false)) throw r.endedError();
  if (got === undefined) {
    r.failedOn({ worker: '(pool)', reason: 'the pool is not running' });
    throw r.noMore([]);
  }
  const c = got.checkout;
  if (!c.ok) throw c.kind === 'queue_full' ? r.queueFull(c.maxQueue, c.depth, c.tenant) : r.noMore(c.skipped);
  const lent = c.lease;
  const a = new Attempt(lent, r.env.system.clock, lent.alternatives > 0 ? r.policy.firstChunkTimeoutMs : Infinity, r.policy.idleTimeoutMs, r.env.report);
  if (r.ended !== null) {
    a.release({ kind: 'cancelled' }); // ended while waiting for the worker: give it back untouched
    throw r.endedError();
  }
  if (role === 'hedge') r.hedge = a;
  else r.current = a;
  r.note(lent);
  r.count++;
  const events = r.env.system.events;
  const failover = r.pendingFailover;
  r.pendingFailover = undefined;
  if (failover !== undefined && events.listening) events.emit(() => ({ type: 'pool.failover', requestId: r.id, ...failover }));
  if (events.listening) {
    const queuedMs = a.started - r.checkoutAt;
    events.emit(() => ({ type: 'pool.dispatch', requestId: r.id, worker: lent.name, attempt: r.count, segment: r.segment, kind: lent.kind, model: r.lastModel, queuedMs }));
  }
  r.armBy(Math.min(r.deadlineAt, a.started + a.firstLimit));
  return a;
}

/** An attempt's next watchdog time; an overdue one is aborted (the request goes on: the deadline still applies). */
function dueOf(a: Attempt | null, now: number): number {
  if (a === null) return Infinity;
  const due = a.due(now);
  if (typeof due === 'number') return due;
  a.abort(due);
  return Infinity;
}

const NONE: readonly never[] = Object.freeze([]);

