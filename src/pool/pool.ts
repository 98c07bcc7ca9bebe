import CircuitBreaker from 'opossum';
import { EventEmitter } from 'node:events';
import type { Health, LlmWorker } from '../behaviour/types.js';
import { isWorkerError, type AttemptFailure, type WorkerError } from '../errors/pool.js';
import { describe } from '../errors/runtime.js';
import type { Actor } from '../runtime/actor.js';
import { call, cast, DEFAULT_CALL_TIMEOUT } from '../runtime/api.js';
import { toActor } from '../runtime/system.js';
import type { ActorSystem } from '../runtime/system.js';
import { noreply, reply, stopping, type ActorContext, type ActorRef, type Behaviour, type From } from '../runtime/types.js';
import { subscribe, type RegistryChange, type RegistryEntry, type RegistryRef } from '../registry/registry.js';
import { runHealthChecks, type HealthReport } from './health.js';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options.js';
import { resolveStrategy, type Candidate, type SelectionStrategy } from './strategies.js';

/** State of a worker's circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** A snapshot of one worker, from `status()`. */
export interface WorkerStatus {
  readonly name: string;
  readonly kind: string;
  readonly priority: number;
  /** Last health check result; `'unknown'` before the first. */
  readonly health: Health['status'] | 'unknown';
  readonly healthReason?: string;
  readonly circuit: CircuitState;
  /** Ms left of a cool-down (rate limit, bad key, no quota), when cooling down. */
  readonly coolingDownMs?: number;
  /** Streams in flight now (exact). */
  readonly inflight: number;
  readonly successes: number;
  readonly failures: number;
  readonly lastError?: string;
  /** Total time of the last successful stream, ms. */
  readonly latencyMs?: number;
  /** Time to first chunk of the last stream that produced one, ms. */
  readonly firstChunkMs?: number;
}

/** A snapshot of the pool, from `status()`. */
export interface PoolStatus {
  readonly strategy: string;
  readonly workers: readonly WorkerStatus[];
}

/** How an attempt ended, as reported to the pool. @internal */
export type AttemptOutcome =
  | { readonly kind: 'success'; readonly firstChunkMs: number; readonly latencyMs: number }
  | { readonly kind: 'failure'; readonly error: unknown; readonly firstChunkMs?: number }
  | { readonly kind: 'cancelled' };

/** A worker lent to one attempt. @internal */
export interface Lease {
  readonly id: number;
  readonly name: string;
  readonly worker: LlmWorker;
  /** Eligible workers left after this one for this request. */
  readonly alternatives: number;
  readonly options: ResolvedPoolOptions;
}

/** @internal */
export type Checkout = { readonly ok: true; readonly lease: Lease } | { readonly ok: false; readonly skipped: AttemptFailure[] };

/** The pool's protocol. @internal */
export type PoolProtocol = {
  call: { type: 'checkout'; exclude: readonly string[] } | { type: 'status' } | { type: 'checkHealth' };
  replies: { checkout: Checkout; status: PoolStatus; checkHealth: HealthReport[] };
  cast: { type: 'release'; lease: number; outcome: AttemptOutcome };
  info:
    | RegistryChange
    | { type: '$tick' }
    | { type: '$health'; results: HealthReport[]; from?: From<HealthReport[]> }
    // The breaker only identifies which one spoke (typed loosely: opossum's types stay out of ours).
    | { type: '$circuit'; name: string; breaker: object; state: CircuitState }
    | { type: '$halfOpen'; name: string; breaker: object };
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

interface Slot {
  readonly name: string;
  readonly worker: LlmWorker;
  readonly kind: string;
  readonly priority: number;
  breaker: CircuitBreaker;
  health: Health | undefined;
  consecutive: number;
  coolUntil: number;
  coolReason: string;
  inflight: number;
  trial: boolean;
  successes: number;
  failures: number;
  lastError: string | undefined;
  latencyMs: number | undefined;
  firstChunkMs: number | undefined;
}

interface State {
  readonly slots: Map<string, Slot>;
  readonly leases: Map<number, string>;
  strategyState: unknown;
  eligible: Set<string>;
  busy: string[];
  dirty: boolean;
  nextCoolExpiry: number;
  nextLease: number;
  healthRunning: boolean;
  healthWaiters: Array<From<HealthReport[]>>;
}

/** Options of {@link startPool}. */
export interface StartPoolOptions extends PoolOptions {
  /** The registry the pool takes its workers from (and follows). */
  registry: RegistryRef;
  /** Register the pool actor under this name. */
  name?: string;
}

// Shared, never-emitting controller: opossum then keeps no rolling-window interval per breaker.
const noRotation = new EventEmitter().setMaxListeners(0);
const NONE: ReadonlySet<string> = new Set();
/** Timers of the pool's own upkeep (health rounds, circuit resets) never keep Node running. */
const HOUSEKEEPING = { keepAlive: false } as const;
/** opossum's reset timer is never started (see `newBreaker`); this keeps it out of reach all the same. */
const NEVER = 2 ** 31 - 1;

/**
 * Starts a pool actor over the workers of `registry`. The pool only decides (which worker,
 * health, circuits, counts); streams run in the caller, so a slow worker never delays
 * another request.
 * @throws ValidationError for bad options.
 */
export function startPool(system: ActorSystem, options: StartPoolOptions): Promise<PoolRef> {
  let behaviour: Behaviour<State, PoolProtocol, void>;
  try {
    const { registry, name, strategy, ...rest } = options;
    behaviour = poolBehaviour(system, registry, resolveStrategy(strategy), resolvePoolOptions(rest));
  } catch (e) {
    return Promise.reject(e);
  }
  return system.spawn(behaviour, undefined, { name: options.name }) as unknown as Promise<PoolRef>;
}

function poolBehaviour(
  system: ActorSystem,
  registry: RegistryRef,
  strategy: SelectionStrategy<unknown>,
  opts: ResolvedPoolOptions,
): Behaviour<State, PoolProtocol, void> {
  const clock = system.clock;
  const events = system.events;

  function addSlot(state: State, entry: RegistryEntry, self: Actor): void {
    const existing = state.slots.get(entry.name);
    if (existing?.worker === entry.worker) return;
    if (existing) removeSlot(state, entry.name);
    const breaker = newBreaker(entry.name, self);
    let info: ReturnType<LlmWorker['info']> | undefined;
    try {
      info = entry.worker.info();
    } catch {
      info = undefined;
    }
    state.slots.set(entry.name, {
      name: entry.name,
      worker: entry.worker,
      kind: info?.kind ?? 'unknown',
      priority: safePriority(entry.worker),
      breaker,
      health: undefined,
      consecutive: 0,
      coolUntil: 0,
      coolReason: '',
      inflight: 0,
      trial: false,
      successes: 0,
      failures: 0,
      lastError: undefined,
      latencyMs: undefined,
      firstChunkMs: undefined,
    });
    state.dirty = true;
  }

  /**
   * A worker's breaker. opossum holds the state and emits the changes; the reset time runs
   * on the pool's own clock (see `$halfOpen`), so opossum's own reset timer is set out of reach.
   */
  function newBreaker(name: string, self: Actor, halfOpen = false): CircuitBreaker {
    const breaker = new CircuitBreaker(async () => undefined, {
      timeout: false,
      resetTimeout: NEVER,
      rotateBucketController: noRotation,
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
      ...(halfOpen ? { state: { closed: false, halfOpen: true } } : {}),
    });
    // opossum starts its own reset timer on 'open' (global setTimeout): drop its listeners, so a
    // breaker holds no timer at all and a killed pool (no terminate, no shutdown) leaks none.
    breaker.removeAllListeners('open');
    const report = (st: CircuitState) => () => self.info({ type: '$circuit', name, breaker, state: st });
    breaker.on('open', report('open'));
    breaker.on('close', report('closed'));
    return breaker;
  }

  function removeSlot(state: State, name: string): void {
    const slot = state.slots.get(name);
    if (!slot) return;
    slot.breaker.shutdown();
    state.slots.delete(name);
    state.dirty = true;
  }

  /** Cooling down, circuit open, or its half-open trial in flight: not to be picked, whatever its health. */
  function heldBack(s: Slot, now: number): boolean {
    return s.coolUntil > now || s.breaker.opened || (s.breaker.halfOpen && s.trial);
  }

  function isEligible(s: Slot, now: number): boolean {
    return s.health?.status !== 'unavailable' && s.health?.status !== 'busy' && !heldBack(s, now);
  }

  /** Rebuilds the eligible set and the strategy's state: only when something changed. */
  function refresh(state: State): void {
    const now = clock.now();
    const candidates: Candidate[] = [];
    const busy: string[] = [];
    let nextCool = Infinity;
    for (const s of state.slots.values()) {
      if (s.coolUntil > now) nextCool = Math.min(nextCool, s.coolUntil);
      if (isEligible(s, now)) candidates.push({ name: s.name, priority: s.priority, inflight: s.inflight });
      else if (s.health?.status === 'busy' && !heldBack(s, now)) busy.push(s.name);
    }
    state.strategyState = strategy.prepare(candidates, state.strategyState);
    state.eligible = new Set(candidates.map((c) => c.name));
    state.busy = busy;
    state.nextCoolExpiry = nextCool;
    state.dirty = false;
  }

  function whyNot(s: Slot, now: number): string {
    if (s.coolUntil > now) return `${s.coolReason}; cooling down for ${Math.ceil(s.coolUntil - now)} ms`;
    if (s.breaker.opened) return `circuit open after ${s.consecutive} consecutive failures${s.lastError ? ` (last: ${s.lastError})` : ''}`;
    if (s.breaker.halfOpen && s.trial) return 'circuit half-open, trial request in flight';
    if (s.health?.status === 'unavailable' || s.health?.status === 'busy') return `${s.health.status}: ${s.health.reason}`;
    return 'not eligible';
  }

  function checkout(state: State, exclude: readonly string[]): Checkout {
    const now = clock.now();
    if (now >= state.nextCoolExpiry) state.dirty = true;
    if (state.dirty) refresh(state);
    const ex: ReadonlySet<string> = exclude.length === 0 ? NONE : new Set(exclude);
    let picked = strategy.pick(state.strategyState, ex)?.name;
    if (picked === undefined) picked = state.busy.find((n) => !ex.has(n)); // all else failed: try a busy one
    if (picked === undefined) {
      const skipped: AttemptFailure[] = [];
      for (const s of state.slots.values()) if (!ex.has(s.name)) skipped.push({ worker: s.name, reason: whyNot(s, now) });
      return { ok: false, skipped };
    }
    const slot = state.slots.get(picked)!;
    slot.inflight++;
    strategy.loadChanged?.(state.strategyState, slot.name, slot.inflight);
    if (slot.breaker.halfOpen) {
      slot.trial = true;
      state.dirty = true;
    }
    const id = state.nextLease++;
    state.leases.set(id, slot.name);
    let excludedEligible = 0;
    for (const n of ex) if (state.eligible.has(n)) excludedEligible++;
    const alternatives = Math.max(0, state.eligible.size - excludedEligible - (state.eligible.has(slot.name) ? 1 : 0));
    return { ok: true, lease: { id, name: slot.name, worker: slot.worker, alternatives, options: opts } };
  }

  function cool(slot: Slot, ms: number, reason: string): void {
    slot.coolUntil = clock.now() + ms;
    slot.coolReason = reason;
    events.emit(() => ({ type: 'pool.cooldown', worker: slot.name, ms, reason }));
  }

  function release(state: State, leaseId: number, outcome: AttemptOutcome): void {
    const name = state.leases.get(leaseId);
    if (name === undefined) return;
    state.leases.delete(leaseId);
    const slot = state.slots.get(name);
    if (slot === undefined) return;
    slot.inflight = Math.max(0, slot.inflight - 1);
    strategy.loadChanged?.(state.strategyState, slot.name, slot.inflight);
    const wasTrial = slot.trial;
    if (wasTrial) {
      slot.trial = false;
      state.dirty = true;
    }
    switch (outcome.kind) {
      case 'success':
        slot.successes++;
        slot.consecutive = 0;
        slot.latencyMs = outcome.latencyMs;
        slot.firstChunkMs = outcome.firstChunkMs;
        if (!slot.breaker.closed) slot.breaker.close();
        return;
      case 'cancelled':
        return;
      case 'failure': {
        const e = outcome.error;
        if (outcome.firstChunkMs !== undefined) slot.firstChunkMs = outcome.firstChunkMs;
        if (isWorkerError(e) && e.kind === 'rate_limited') {
          cool(slot, e.retryAfterMs ?? opts.defaultCooldownMs, 'rate limited (429)');
          state.dirty = true;
          return; // cooling down is not being down
        }
        slot.failures++;
        slot.consecutive++;
        slot.lastError = describe(e);
        if (isWorkerError(e) && (e.kind === 'auth' || e.kind === 'quota')) {
          cool(slot, opts.disableMs, disabledBecause(e));
          slot.breaker.open();
          state.dirty = true;
        } else if (wasTrial || slot.consecutive >= opts.failureThreshold) {
          slot.breaker.open();
          state.dirty = true;
        }
        // Otherwise eligibility is unchanged: no need to rebuild the selection state.
        return;
      }
    }
  }

  /** An open circuit becomes half-open: the next request is its one trial. */
  function halfOpen(state: State, slot: Slot, ctx: ActorContext<PoolProtocol>): void {
    slot.breaker.shutdown();
    slot.breaker = newBreaker(slot.name, ctx.self as Actor, true);
    state.dirty = true;
    events.emit(() => ({ type: 'pool.circuit_changed', worker: slot.name, state: 'half_open' }));
  }

  function applyHealth(state: State, results: HealthReport[], ctx: ActorContext<PoolProtocol>): void {
    for (const r of results) {
      const slot = state.slots.get(r.worker);
      if (slot === undefined) continue;
      const before = slot.health?.status ?? 'unknown';
      slot.health = r.health;
      if (before !== r.health.status) {
        state.dirty = true;
        events.emit(() => ({
          type: 'pool.health_changed',
          worker: slot.name,
          from: before,
          to: r.health.status,
          reason: r.health.status === 'available' ? undefined : r.health.reason,
        }));
      }
      if (r.health.status === 'available' && slot.breaker.opened) {
        // A passing check only lets the trial come early: a backend whose health endpoint
        // answers may still be unable to answer a chat (a wedged model). Only a real request
        // closes the circuit.
        halfOpen(state, slot, ctx);
      }
    }
  }

  function startHealthRun(state: State, ctx: ActorContext<PoolProtocol>, from?: From<HealthReport[]>): void {
    if (from) state.healthWaiters.push(from);
    if (state.healthRunning) return;
    state.healthRunning = true;
    const targets = [...state.slots.values()].map((s) => ({ name: s.name, worker: s.worker }));
    const self = ctx.self as Actor;
    // The pool's signal aborts the checks in flight when the pool stops: no socket outlives it.
    void runHealthChecks(targets, opts.healthTimeoutMs, clock, ctx.signal).then((results) => self.info({ type: '$health', results }));
  }

  return {
    async init(_args, ctx) {
      const state: State = {
        slots: new Map(),
        leases: new Map(),
        strategyState: undefined,
        eligible: new Set(),
        busy: [],
        dirty: true,
        nextCoolExpiry: Infinity,
        nextLease: 1,
        healthRunning: false,
        healthWaiters: [],
      };
      const entries = await subscribe(registry, ctx.self);
      (ctx.self as Actor).monitor(registry as unknown as Actor);
      for (const e of entries) addSlot(state, e, ctx.self as Actor);
      if (opts.healthIntervalMs > 0) {
        // The first round at once, so early requests avoid a worker known to be down.
        startHealthRun(state, ctx);
        ctx.sendAfter({ type: '$tick' }, opts.healthIntervalMs, HOUSEKEEPING);
      }
      return state;
    },

    handleCall(msg, state, from, ctx) {
      switch (msg.type) {
        case 'checkout':
          return reply(checkout(state, msg.exclude), state);
        case 'status':
          return reply(snapshot(state), state);
        case 'checkHealth':
          startHealthRun(state, ctx, from as From<HealthReport[]>);
          return noreply(state);
      }
    },

    handleCast(msg, state) {
      release(state, msg.lease, msg.outcome);
      return state;
    },

    handleInfo(msg, state, ctx) {
      switch (msg.type) {
        case 'registry.registered':
          addSlot(state, msg.entry, ctx.self as Actor);
          return state;
        case 'registry.unregistered':
          removeSlot(state, msg.name);
          return state;
        case '$tick':
          startHealthRun(state, ctx);
          ctx.sendAfter({ type: '$tick' }, opts.healthIntervalMs, HOUSEKEEPING);
          return state;
        case '$health': {
          state.healthRunning = false;
          applyHealth(state, msg.results, ctx);
          const waiters = state.healthWaiters;
          state.healthWaiters = [];
          for (const w of waiters) w.reply(msg.results);
          return state;
        }
        case '$circuit': {
          const slot = state.slots.get(msg.name);
          if (slot?.breaker !== msg.breaker) return state;
          state.dirty = true;
          if (msg.state === 'open') ctx.sendAfter({ type: '$halfOpen', name: msg.name, breaker: msg.breaker }, opts.circuitResetMs, HOUSEKEEPING);
          events.emit(() => ({ type: 'pool.circuit_changed', worker: msg.name, state: msg.state }));
          return state;
        }
        case '$halfOpen': {
          // The reset time has passed on the pool's clock: let one trial request decide.
          const slot = state.slots.get(msg.name);
          if (slot?.breaker !== msg.breaker || !slot.breaker.opened) return state;
          halfOpen(state, slot, ctx);
          return state;
        }
        case 'DOWN':
          if (msg.actor === (registry as unknown)) return stopping({ error: new Error('the registry exited') }, state);
          return state;
        case 'EXIT':
          return state;
      }
    },

    terminate(_reason, state) {
      for (const s of state.slots.values()) s.breaker.shutdown();
    },
  };

  function snapshot(state: State): PoolStatus {
    const now = clock.now();
    return {
      strategy: strategy.name,
      workers: [...state.slots.values()].map((s) => ({
        name: s.name,
        kind: s.kind,
        priority: s.priority,
        health: s.health?.status ?? 'unknown',
        ...(s.health && s.health.status !== 'available' ? { healthReason: s.health.reason } : {}),
        circuit: s.breaker.opened ? 'open' : s.breaker.halfOpen ? 'half_open' : 'closed',
        ...(s.coolUntil > now ? { coolingDownMs: Math.ceil(s.coolUntil - now) } : {}),
        inflight: s.inflight,
        successes: s.successes,
        failures: s.failures,
        ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
        ...(s.latencyMs !== undefined ? { latencyMs: s.latencyMs } : {}),
        ...(s.firstChunkMs !== undefined ? { firstChunkMs: s.firstChunkMs } : {}),
      })),
    };
  }
}

/** Why a worker is taken out: the backend's refusal, or a key that was never there (say which variable to set). */
function disabledBecause(e: WorkerError): string {
  if (e.kind === 'quota') return 'quota exhausted';
  if (e.status !== undefined) return `rejected credentials (HTTP ${e.status})`;
  return e.message.replace(`worker ${e.worker}: `, '');
}

function safePriority(w: LlmWorker): number {
  try {
    const p = w.priority();
    return Number.isFinite(p) ? p : 100;
  } catch {
    return 100;
  }
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
 * A checkout answered in the caller's turn when the pool is idle (the usual case): the
 * `Checkout` itself, else a promise of it. Throws `ActorExitedError` if the pool is gone.
 * @internal
 */
export function checkoutNow(pool: PoolRef, exclude: readonly string[]): Checkout | Promise<Checkout> {
  return toActor(pool).callNow({ type: 'checkout', exclude }, DEFAULT_CALL_TIMEOUT) as Checkout | Promise<Checkout>;
}

/** @internal */
export function releaseLease(pool: PoolRef, lease: number, outcome: AttemptOutcome): void {
  cast(asPool(pool), { type: 'release', lease, outcome });
}
