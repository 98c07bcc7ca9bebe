import { InvalidArgumentError } from '../errors/runtime.js';
import type { Actor } from '../runtime/actor.js';
import { call, cast } from '../runtime/api.js';
import { checkSystem, toActor, type ActorSystem } from '../runtime/system.js';
import { noreply, reply, stopping, type ActorContext, type ActorRef, type Behaviour, type From } from '../runtime/types.js';
import { subscribe, type RegistryChange, type RegistryEntry, type RegistryRef } from '../registry/registry.js';
import { MemoryAdmissionStore, type AdmissionStore } from './admission.js';
import type { Circuit } from './circuit.js';
import { runHealthChecks, type HealthReport } from './health.js';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { PoolState } from './pool-state.js';
import { enqueue, NO_ROOM, WaitQueue } from './queue.js';
import { Selection } from './selection.js';
import { resolveStrategy, type SelectionStrategy } from './strategies.js';
import { SharedAdmission, type SharedInfo } from './shared.js';
import type { SharedStore } from '../store/store.js';

export type { CircuitState } from './circuit.js';
export type { PoolStatus, WorkerStatus, WorkerUsage } from './types.js';
import type { AttemptOutcome, Checkout, CheckoutRequest, PoolStatus } from './types.js';

/** The pool's protocol. @internal */
export type PoolProtocol = {
  call: CheckoutRequest | { type: 'status' } | { type: 'checkHealth' };
  replies: { checkout: Checkout; status: PoolStatus; checkHealth: HealthReport[] };
  cast:
    | { type: 'released'; name: string; outcome: AttemptOutcome }
    | { type: 'rest'; name: string; ms: number; reason: string };
  info:
    | RegistryChange
    | { type: '$tick' }
    | { type: '$wake' }
    | { type: '$health'; results: HealthReport[] }
    // The circuit only identifies which one spoke (a slot may have been replaced since).
    | { type: '$halfOpen'; name: string; circuit: object; opens: number }
    | SharedInfo;
};

declare const POOL: unique symbol;

/**
 * A running pool, from {@link startPool}: pass it to {@link poolStatus} and {@link checkHealth}.
 * Its messages are the pool's own business, so the ref is opaque.
 */
export interface PoolRef extends ActorRef {
  /** Brand: only a pool's ref is a `PoolRef`. */
  readonly [POOL]: true;
}

/** The pool's protocol behind an opaque ref. @internal */
function asPool(ref: PoolRef): ActorRef<PoolProtocol> {
  return ref as unknown as ActorRef<PoolProtocol>;
}

/** Options of {@link startPool}. */
export interface StartPoolOptions extends PoolOptions {
  /** The registry the pool takes its workers from (and follows). */
  registry: RegistryRef;
  /** Register the pool actor under this name. */
  name?: string;
  /** Where slots and rate windows are counted. Default: a new in-memory store (pass one to keep counts across pool restarts). */
  store?: AdmissionStore;
  /** State shared with other instances (a `RedisStore`): limits, circuits, cool-downs and health hold cluster-wide. */
  shared?: SharedStore;
}

/** The actor's state: the pool's decisions, its queue, and its health rounds. */
interface State {
  readonly pool: PoolState;
  readonly queue: WaitQueue;
  /** When the armed `$wake` fires, or Infinity. */
  wakeAt: number;
  healthRunning: boolean;
  healthWaiters: Array<From<HealthReport[]>>;
  /** The pool's side of a shared store, if any. */
  readonly shared: SharedAdmission | null;
}

const LOCAL_STORE = Object.freeze({ kind: 'memory', shared: false, degraded: false } as const);

function sharedStatus(s: SharedStore): PoolStatus['store'] {
  const t = s.degraded ? s.trouble : undefined;
  return { kind: s.kind, shared: true, degraded: s.degraded, ...(t !== undefined ? { trouble: t.code, troubleReason: t.reason } : {}) };
}

/** Timers of the pool's own upkeep (health rounds, circuit resets) never keep Node running. */
const HOUSEKEEPING = { keepAlive: false } as const;

/**
 * Starts a pool actor over the workers of `registry`. The pool only decides (which worker,
 * health, circuits, admission); streams run in the caller, so a slow worker never delays
 * another request. When every worker that could answer is at its limits, a checkout waits in
 * the pool's queue (FIFO, by priority when given), bounded by `maxQueue`.
 * @throws ValidationError for bad options; InvalidArgumentError for a bad system or registry.
 */
export function startPool(system: ActorSystem, options: StartPoolOptions): Promise<PoolRef> {
  let behaviour: Behaviour<State, PoolProtocol, void>;
  try {
    checkSystem(system);
    const { registry, name: _name, strategy, store, shared, ...rest } = options;
    if (typeof registry !== 'object' || registry === null) throw new InvalidArgumentError('registry', 'a RegistryRef from startRegistry', registry);
    if (shared !== undefined && (typeof shared !== 'object' || shared === null || typeof shared.admit !== 'function')) {
      throw new InvalidArgumentError('shared', 'a SharedStore (MemoryStore or RedisStore)', shared);
    }
    behaviour = poolBehaviour(system, registry, resolveStrategy(strategy), resolvePoolOptions(rest).pool, store ?? new MemoryAdmissionStore(), shared);
  } catch (e) {
    return Promise.reject(e);
  }
  return system.spawn(behaviour, undefined, { name: options.name }) as unknown as Promise<PoolRef>;
}

/** What the pool actor's handlers share. */
interface Env {
  readonly system: ActorSystem;
  readonly opts: ResolvedPoolOptions;
}

/** Hands freed capacity to waiting requests; arms a wake-up for when a rate window frees room. */
function serve(env: Env, state: State, ctx: ActorContext<PoolProtocol>): void {
  if (state.shared?.active) return state.shared.serve(state.pool, state.queue);
  if (state.queue.serve((req) => lendAlone(state, req), state.pool.fitKey(), state.pool) > 0) armWake(env, state, ctx);
}

/** A checkout this instance decides alone: with a shared store that is away, the lease is counted to be announced when it is back. */
function lendAlone(state: State, req: CheckoutRequest): Checkout | 'full' {
  const got = state.pool.checkout(req);
  if (state.shared === null || got === 'full' || !got.ok) return got;
  const limits = state.pool.slots.get(got.lease.name)?.limits;
  const windowed = limits !== undefined && (limits.rpm !== Infinity || limits.tpm !== Infinity);
  return { ok: true, lease: state.shared.alone(got.lease, req.tokens, windowed) };
}

function armWake(env: Env, state: State, ctx: ActorContext<PoolProtocol>): void {
  wakeAt(env, state, ctx.self as Actor, state.pool.nextChange(env.system.clock.now()));
}

/** Arms the pool's `$wake` for `at` (pool clock), unless one is due earlier. */
function wakeAt(env: Env, state: State, self: Actor, at: number): void {
  if (at === Infinity || at >= state.wakeAt) return;
  state.wakeAt = at;
  self.sendAfter({ type: '$wake' }, Math.max(1, Math.ceil(at - env.system.clock.now())));
}

/** A worker joined: the pool takes it, and tells the shared store how it is configured. */
function added(state: State, entry: RegistryEntry): void {
  state.pool.add(entry);
  const slot = state.pool.slots.get(entry.name);
  if (slot !== undefined) state.shared?.announce(slot.name, slot.worker, slot.limits);
}

/** Messages from the shared store's side. */
function sharedInfo(env: Env, state: State, msg: SharedInfo, ctx: ActorContext<PoolProtocol>): void {
  const shared = state.shared!;
  const kind = shared.store.kind;
  switch (msg.type) {
    case '$admitted':
      shared.answered(msg, state.pool, state.queue, () => {
        const got = checkout(env, state, msg.req, msg.from); // the store failed: decide alone
        if (got !== undefined) msg.from.reply(got);
        else armWake(env, state, ctx);
      });
      return;
    case '$verdict':
      state.pool.applyVerdict(msg.name, msg.verdict);
      return;
    case '$mismatch':
      env.system.events.emit(() => ({ type: 'store.config_mismatch', worker: msg.worker, fields: msg.fields }));
      return;
    case '$store':
      if (msg.event.type === 'degraded') {
        const { reason, code } = msg.event;
        env.system.events.emit(() => ({ type: 'store.degraded', store: kind, reason, code }));
      }
      if (msg.event.type === 'restored') {
        shared.restored();
        env.system.events.emit(() => ({ type: 'store.restored', store: kind }));
      }
      serve(env, state, ctx);
      return;
  }
}

function startHealthRun(env: Env, state: State, ctx: ActorContext<PoolProtocol>, from?: From<HealthReport[]>): void {
  if (from) state.healthWaiters.push(from);
  if (state.healthRunning) return;
  state.healthRunning = true;
  const targets = [...state.pool.slots.values()].map((s) => ({ name: s.name, worker: s.worker }));
  const self = ctx.self as Actor;
  // The pool's signal aborts the checks in flight when the pool stops: no socket outlives it.
  const round = state.shared
    ? state.shared.healthRound(targets, from !== undefined, ctx.signal)
    : runHealthChecks(targets, env.opts.healthTimeoutMs, env.system.clock, ctx.signal);
  void round.then((results) => self.info({ type: '$health', results }));
}

function healthDone(state: State, results: HealthReport[]): void {
  state.healthRunning = false;
  state.pool.applyHealth(results);
  const waiters = state.healthWaiters;
  state.healthWaiters = [];
  for (const w of waiters) w.reply(results);
}

/** A checkout answered now, queued (undefined), or refused because the queue is full. */
function checkout(env: Env, state: State, req: CheckoutRequest, from: From<Checkout>): Checkout | undefined {
  const got = lendAlone(state, req);
  if (got !== 'full') return got;
  if (req.noWait === true) return NO_ROOM;
  return enqueue(state.queue, from, req, env.opts, state.pool.epoch);
}


async function initPool(
  env: Env,
  registry: RegistryRef,
  strategy: SelectionStrategy<unknown>,
  store: AdmissionStore,
  shared: SharedStore | undefined,
  ctx: ActorContext<PoolProtocol>,
): Promise<State> {
  const self = ctx.self as Actor;
  const { system, opts } = env;
  const circuitOpened = (name: string, circuit: Circuit): void => {
    self.sendAfter({ type: '$halfOpen', name, circuit, opens: circuit.opens }, opts.circuitResetMs, HOUSEKEEPING);
  };
  const pool = new PoolState({ clock: system.clock, events: system.events, options: opts, store, circuitOpened }, new Selection(strategy));
  const state: State = { pool, queue: new WaitQueue(), wakeAt: Infinity, healthRunning: false, healthWaiters: [], shared: null };
  if (shared !== undefined) {
    const wakeIn = (ms: number): void => wakeAt(env, state, self, system.clock.now() + ms);
    (state as { shared: SharedAdmission }).shared = new SharedAdmission(shared, { options: opts, events: system.events, clock: system.clock, send: (m) => self.info(m), wakeIn });
    if (shared.degraded) {
      const trouble = shared.trouble ?? { code: 'unreachable', reason: 'unreachable when the pool started' };
      system.events.emit(() => ({ type: 'store.degraded', store: shared.kind, reason: trouble.reason, code: trouble.code }));
    }
  }
  const entries = await subscribe(registry, ctx.self);
  self.monitor(registry as unknown as Actor);
  for (const e of entries) added(state, e);
  if (opts.healthIntervalMs > 0) {
    // The first round at once, so early requests avoid a worker known to be down.
    startHealthRun(env, state, ctx);
    ctx.sendAfter({ type: '$tick' }, opts.healthIntervalMs, HOUSEKEEPING);
  }
  return state;
}

function poolBehaviour(
  system: ActorSystem,
  registry: RegistryRef,
  strategy: SelectionStrategy<unknown>,
  opts: ResolvedPoolOptions,
  store: AdmissionStore,
  shared: SharedStore | undefined,
): Behaviour<State, PoolProtocol, void> {
  const env: Env = { system, opts };
  return {
    init: (_args, ctx) => initPool(env, registry, strategy, store, shared, ctx),

    handleCall(msg, state, from, ctx) {
      switch (msg.type) {
        case 'checkout': {
          const got = state.shared?.active
            ? state.shared.checkout(state.pool, state.queue, msg, from as From<Checkout>)
            : checkout(env, state, msg, from as From<Checkout>);
          if (got === undefined) {
            armWake(env, state, ctx);
            return noreply(state);
          }
          return reply(got, state);
        }
        case 'status': {
          const store = state.shared ? sharedStatus(state.shared.store) : LOCAL_STORE;
          return reply({ ...state.pool.snapshot(state.queue.depth), store }, state);
        }
        case 'checkHealth':
          startHealthRun(env, state, ctx, from as From<HealthReport[]>);
          return noreply(state);
      }
    },

    handleCast(msg, state, ctx) {
      if (msg.type === 'released') state.pool.released(msg.name, msg.outcome);
      else {
        state.pool.rest(msg.name, msg.ms, msg.reason);
        state.shared?.rest(msg.name, msg.ms, msg.reason);
      }
      serve(env, state, ctx);
      return state;
    },

    handleInfo(msg, state, ctx) {
      switch (msg.type) {
        case 'registry.registered':
          added(state, msg.entry);
          break;
        case 'registry.unregistered':
          state.pool.remove(msg.name);
          break;
        case '$tick':
          startHealthRun(env, state, ctx);
          ctx.sendAfter({ type: '$tick' }, opts.healthIntervalMs, HOUSEKEEPING);
          return state;
        case '$health':
          healthDone(state, msg.results);
          break;
        case '$halfOpen':
          state.pool.halfOpen(msg.name, msg.circuit, msg.opens);
          break;
        case '$wake':
          state.wakeAt = Infinity;
          break;
        case 'DOWN':
          if (msg.actor === (registry as unknown)) return stopping({ error: new Error('the registry exited') }, state);
          return state;
        case 'EXIT':
          return state;
        case '$admitted':
        case '$verdict':
        case '$mismatch':
        case '$store':
          sharedInfo(env, state, msg, ctx);
          return state;
      }
      serve(env, state, ctx);
      return state;
    },

    terminate(_reason, state) {
      state.pool.dispose();
      state.shared?.dispose();
    },
  };
}

/** Current snapshot of every worker. */
export function poolStatus(pool: PoolRef): Promise<PoolStatus> {
  return call(asPool(pool), { type: 'status' });
}

/** Runs a health check of every worker now (in parallel, each bounded); resolves with the results. */
export function checkHealth(pool: PoolRef, timeout = 60_000): Promise<HealthReport[]> {
  return call(asPool(pool), { type: 'checkHealth' }, { timeout });
}

/**
 * A checkout answered in the caller's turn when the pool is idle and a worker has room (the
 * usual case): the `Checkout` itself, else a promise of it (it may wait in the queue up to
 * `timeout`). Throws `ActorExitedError` if the pool is gone.
 * @internal
 */
export function checkoutNow(pool: PoolRef, req: CheckoutRequest, timeout: number, signal: AbortSignal | undefined): Checkout | Promise<Checkout> {
  return toActor(pool).callNow(req, timeout, signal) as Checkout | Promise<Checkout>;
}

/** Tells the pool how an attempt ended (its slot is already back in the store). @internal */
export function reportOutcome(pool: PoolRef, name: string, outcome: AttemptOutcome): void {
  cast(asPool(pool), { type: 'released', name, outcome });
}

/** Tells the pool to rest a worker (the backend said it is at its limits). @internal */
export function reportRest(pool: PoolRef, name: string, ms: number, reason: string): void {
  cast(asPool(pool), { type: 'rest', name, ms, reason });
}
