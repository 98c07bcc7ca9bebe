/*
 * The pool's decisions over its slots (slot.ts): eligibility, checkout, outcomes, health,
 * circuits, status. One class, a little over 400 lines, because every method runs inside one
 * message of the pool actor and they share the slots and the selection; what can be read off a
 * single slot lives in slot.ts.
 */
import { isWorkerError, type AttemptFailure } from '../errors/pool.js';
import { describe } from '../errors/runtime.js';
import type { Clock } from '../runtime/clock.js';
import type { EventStream } from '../runtime/inspection.js';
import type { InspectionEvent } from '../events.js';
import type { RegistryEntry } from '../registry/registry.js';
import { resolveLimits, UNLIMITED, type AdmissionStore, type Ticket } from './admission.js';
import { Circuit, type CircuitState } from './circuit.js';
import { LatencyWindow } from './latency-window.js';
import type { HealthReport } from './health.js';
import type { ResolvedPoolOptions } from './options.js';
import { excluding, Selection, type Excluded } from './selection.js';
import { aliased, disabledBecause, finiteOr, lacks, percentileMs, priceOf, routesOf, safe, setLimits, spent, unrouted, type Slot } from './slot.js';
import type { Candidate } from './strategies.js';
import type { AttemptOutcome, Checkout, CheckoutRequest, Lease, PoolStatus, WorkerStatus } from './types.js';
import type { Hold, StoreCandidate, Verdict } from '../store/store.js';
import type { Mutable } from '../mutable.js';

/** What the pool state needs from its actor. @internal */
export interface PoolEnv {
  readonly clock: Clock;
  readonly events: EventStream<InspectionEvent>;
  readonly options: ResolvedPoolOptions;
  readonly store: AdmissionStore;
  /** A circuit opened: schedule its reset. */
  circuitOpened(name: string, circuit: Circuit): void;
}

/**
 * The pool's state and decisions, apart from the actor that serialises them: which workers
 * are eligible (health, circuit, cool-down), which is next (strategy, admission), and how an
 * outcome changes them. Every method runs inside one message of the pool actor.
 * @internal
 */
export class PoolState {
  readonly slots = new Map<string, Slot>();
  readonly selection: Selection;
  #dirty = true;
  /** Counts the rebuilds of the eligible set (see {@link PoolState.epoch}). */
  #epoch = 0;
  #nextCoolExpiry = Infinity;
  /** Per route, the workers it leaves out (rebuilt when membership changes). */
  readonly #outside = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly env: PoolEnv,
    selection: Selection,
  ) {
    this.selection = selection;
  }

  // ---- membership ---------------------------------------------------------------------------

  add(entry: RegistryEntry): void {
    const existing = this.slots.get(entry.name);
    if (existing?.worker === entry.worker) return;
    if (existing) this.remove(entry.name);
    const name = entry.name;
    const circuit: Circuit = new Circuit((state) => this.#circuitChanged(name, circuit, state));
    const info = safe(() => entry.worker.info(), undefined);
    const model = typeof info?.models?.[0] === 'string' ? info.models[0] : undefined;
    this.slots.set(name, {
      name,
      worker: entry.worker,
      kind: typeof info?.kind === 'string' ? info.kind : 'unknown',
      provider: typeof info?.provider === 'string' ? info.provider : typeof info?.kind === 'string' ? info.kind : 'unknown',
      model,
      routes: routesOf(name, info?.tags, model),
      capabilities: typeof info?.capabilities === 'object' && info.capabilities !== null ? info.capabilities : {},
      price: priceOf(info?.price),
      priority: safe(() => finiteOr(entry.worker.priority(), 100), 100),
      // Checked when the worker registered (checkWorker); a worker that changed its mind is unlimited.
      limits: safe(() => resolveLimits(entry.worker.limits?.(), `worker "${name}" limits`), UNLIMITED),
      health: undefined,
      circuit,
      cooldown: null,
      stats: { successes: 0, failures: 0 },
      firstChunks: new LatencyWindow(),
    });
    this.#dirty = true;
    this.#outside.clear();
    this.#countContextLimits();
  }

  /** Workers declaring a context length: requests are checked against it only when some do. */
  #contextLimits = 0;
  #countContextLimits(): void {
    this.#contextLimits = 0;
    for (const s of this.slots.values()) if (typeof s.capabilities.contextLength === 'number') this.#contextLimits++;
    this.#fit = undefined;
  }

  remove(name: string): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    slot.circuit.dispose();
    this.slots.delete(name);
    this.#dirty = true;
    this.#outside.clear();
    this.#countContextLimits();
  }

  dispose(): void {
    for (const s of this.slots.values()) s.circuit.dispose();
  }

  // ---- selection ----------------------------------------------------------------------------

  /**
   * A worker for `req`, with a slot taken in the admission store; or why not: `full` (some
   * worker will have room: the caller may queue), `none` (every worker skipped, with reasons).
   */
  checkout(req: CheckoutRequest): Checkout | 'full' {
    const now = this.#current();
    const exclude = this.#excludeFor(req);
    if (exclude === 'unrouted') return unrouted(req.route!);
    const store = this.env.store;
    const admit = (c: Candidate): Ticket | undefined => store.tryAcquire(c.name, this.slots.get(c.name)!.limits, req.tokens, now);
    const pick = this.selection.pick(exclude, admit, this.env.options.overflow === 'wait');
    if (pick.kind === 'full') return 'full';
    if (pick.kind === 'none') return { ok: false, kind: 'none', skipped: this.#skipped(exclude, req, now) };
    const slot = this.slots.get(pick.candidate.name)!;
    if (this.selection.loadAware) this.selection.loadChanged(slot.name, store.load(slot.name, now).inflight);
    if (slot.circuit.state === 'half_open') {
      slot.circuit.admitted(); // this request is the trial: nobody else until it ends
      this.#dirty = true;
    }
    return { ok: true, lease: this.#lease(slot, req, pick.admitted) };
  }

  /**
   * For one pass over the queue: what decides which workers a request may use, as a key (the
   * workers it tried, its route, what it needs, the context it must beat; its tokens too when a
   * worker's context is limited). Two requests with one key are open to the same workers, and
   * more tokens never fit where fewer did not (a `tpm` limit, a context).
   */
  fitKey(): (req: CheckoutRequest) => string {
    if (this.#fit !== undefined) return this.#fit;
    const tokens = this.#contextLimits > 0;
    // The same function until the workers' contexts change: the queue keeps each waiter's key with it.
    return (this.#fit = (r) => `${r.exclude.join('\0')}\u0001${r.route ?? ''}\u0001${r.strict === true ? 1 : 0}\u0001${r.needs?.join(',') ?? ''}\u0001${r.minContext ?? ''}${tokens ? `\u0001${r.tokens}` : ''}`);
  }
  #fit: ((req: CheckoutRequest) => string) | undefined = undefined;

  /**
   * Changes whenever which workers a request may be given may have changed (membership, health,
   * circuits, cool-downs, routes, contexts): while it stays the same, a request that found every
   * worker it may use full still finds them full unless a slot was freed.
   */
  get epoch(): number {
    this.#current();
    return this.#epoch;
  }

  /**
   * Every worker holds as many requests as its `maxConcurrent` allows: no checkout of any request
   * can succeed before a slot is released (the admission store refuses at `inflight >= maxConcurrent`).
   */
  get exhausted(): boolean {
    const now = this.env.clock.now();
    for (const s of this.slots.values()) if (s.limits.maxConcurrent === Infinity || this.env.store.load(s.name, now).inflight < s.limits.maxConcurrent) return false;
    return true;
  }

  /** Now, with the eligible set rebuilt if anything changed (a cool-down may have ended). */
  #current(): number {
    const now = this.env.clock.now();
    if (now >= this.#nextCoolExpiry) this.#dirty = true;
    if (this.#dirty) this.#refresh(now);
    return now;
  }

  /** The worker lent to `req` under `ticket` (and, with a shared store, how its lease goes back). */
  #lease(slot: Slot, req: CheckoutRequest, ticket: Ticket, settle?: Lease['settle']): Lease {
    // Written field by field: a lease is made for every attempt (spreading small objects cost more).
    const lease: Mutable<Lease> = { ticket, name: slot.name, worker: slot.worker, kind: slot.provider, model: slot.model, aliased: aliased(slot, req), alternatives: this.selection.alternatives(req.exclude, slot.name), store: this.env.store };
    if (slot.price !== undefined) lease.price = slot.price;
    if (settle !== undefined) lease.settle = settle;
    const ms = percentileMs(slot, req);
    if (ms !== undefined) lease.firstChunkPercentileMs = ms;
    return lease;
  }

  /**
   * For a shared store: every worker `req` may go to, in order, with its limits (the store
   * admits the first with room); or, when none is eligible, why each was skipped.
   */
  plan(req: CheckoutRequest): { readonly kind: 'plan'; readonly candidates: StoreCandidate[] } | { readonly kind: 'none'; readonly skipped: AttemptFailure[] } {
    const now = this.#current();
    const exclude = this.#excludeFor(req);
    if (exclude === 'unrouted') return { kind: 'none', skipped: unrouted(req.route!).skipped };
    const order = this.selection.plan(exclude, this.env.options.overflow === 'wait');
    if (order.length === 0) return { kind: 'none', skipped: this.#skipped(exclude, req, now) };
    return { kind: 'plan', candidates: order.map((c) => ({ name: c.name, limits: this.slots.get(c.name)!.limits })) };
  }

  /**
   * The shared store admitted `name`: counts the stream here too (for `status()` and
   * load-aware strategies) and lends the worker. Undefined if it left the pool meanwhile.
   */
  lendShared(name: string, req: CheckoutRequest, trial: boolean, settle: Lease['settle']): Checkout | undefined {
    const slot = this.slots.get(name);
    if (slot === undefined) return undefined;
    const now = this.env.clock.now();
    const ticket = this.env.store.tryAcquire(name, UNLIMITED, req.tokens, now)!;
    if (this.selection.loadAware) this.selection.loadChanged(name, this.env.store.load(name, now).inflight);
    if (trial) {
      if (slot.circuit.state === 'closed') slot.circuit.trip(); // opened by another instance
      slot.circuit.halfOpen();
      slot.circuit.admitted();
      this.#dirty = true;
    }
    return { ok: true, lease: this.#lease(slot, req, ticket, settle) };
  }

  /** What the shared store knows that this instance did not: workers cooling down or with an open circuit. */
  applyHolds(held: readonly Hold[]): void {
    for (const h of held) {
      const slot = this.slots.get(h.worker);
      if (slot === undefined) continue;
      if (h.kind === 'cooling') this.rest(h.worker, h.ms, h.reason);
      else if (h.kind === 'open' && !slot.circuit.holding) slot.circuit.trip();
    }
  }

  /** The shared circuit after a release (cluster-wide consecutive failures decide it). */
  applyVerdict(name: string, verdict: Verdict): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    const local = slot.circuit.state;
    if (verdict.circuit === 'closed' && local !== 'closed') slot.circuit.succeeded();
    else if (verdict.circuit === 'open' && local !== 'open') slot.circuit.trip();
  }

  /**
   * What `req` must not go to: the workers it tried, and those its route leaves out;
   * `'unrouted'` when an explicit route matches no worker at all (a model that matches none is
   * just passed on to the workers).
   */
  #excludeFor(req: CheckoutRequest): Excluded | 'unrouted' {
    const base = excluding(req.exclude);
    const lacking = req.needs !== undefined || this.#contextLimits > 0 ? this.#lacking(req) : undefined;
    const withLacking: Excluded = lacking === undefined || lacking.size === 0 ? base : { has: (n) => lacking.has(n) || base.has(n) };
    if (req.route === undefined) return withLacking;
    const out = this.#routeOutside(req.route);
    if (out.size === this.slots.size) return req.strict ? 'unrouted' : withLacking;
    return out.size === 0 ? withLacking : { has: (n) => out.has(n) || withLacking.has(n) };
  }

  /** The workers a route leaves out (cached until membership changes). */
  #routeOutside(route: string): ReadonlySet<string> {
    let out = this.#outside.get(route);
    if (out === undefined) {
      out = new Set([...this.slots.values()].filter((s) => !s.routes.has(route)).map((s) => s.name));
      this.#outside.set(route, out);
    }
    return out;
  }

  /** The workers that cannot take `req`: a capability it needs is missing, or its context is too small. */
  #lacking(req: CheckoutRequest): Set<string> {
    const out = new Set<string>();
    for (const s of this.slots.values()) if (lacks(s, req) !== undefined) out.add(s.name);
    return out;
  }

  /** Rebuilds the eligible and busy sets: only when something changed. */
  #refresh(now: number): void {
    const eligible: Candidate[] = [];
    const busy: Candidate[] = [];
    let nextCool = Infinity;
    for (const s of this.slots.values()) {
      if (s.cooldown !== null && s.cooldown.until > now) nextCool = Math.min(nextCool, s.cooldown.until);
      if (this.#heldBack(s, now)) continue;
      const c: Candidate = { name: s.name, priority: s.priority, inflight: this.env.store.load(s.name, now).inflight };
      if (s.health?.status === 'busy') busy.push(c);
      else if (s.health?.status !== 'unavailable') eligible.push(c);
    }
    busy.sort((a, b) => a.priority - b.priority);
    this.selection.prepare(eligible, busy);
    this.#nextCoolExpiry = nextCool;
    this.#dirty = false;
    this.#epoch++;
  }

  /** Cooling down, or its circuit holds it back: not to be picked, whatever its health. */
  #heldBack(s: Slot, now: number): boolean {
    return (s.cooldown !== null && s.cooldown.until > now) || s.circuit.holding;
  }

  #skipped(exclude: { has(n: string): boolean }, req: CheckoutRequest, now: number): AttemptFailure[] {
    const out: AttemptFailure[] = [];
    const tried = new Set(req.exclude);
    const outside = req.route !== undefined ? this.#routeOutside(req.route) : undefined;
    for (const s of this.slots.values()) {
      if (!exclude.has(s.name)) out.push(this.#whyNot(s, now));
      else if (!tried.has(s.name) && (outside === undefined || !outside.has(s.name) || outside.size === this.slots.size)) {
        const why = lacks(s, req);
        if (why !== undefined) out.push({ worker: s.name, reason: why });
      }
    }
    return out;
  }

  #whyNot(s: Slot, now: number): AttemptFailure {
    if (s.cooldown !== null && s.cooldown.until > now) {
      const ms = Math.ceil(s.cooldown.until - now);
      return { worker: s.name, reason: `${s.cooldown.reason}; cooling down for ${ms} ms`, retryAfterMs: ms };
    }
    return { worker: s.name, reason: this.#notEligible(s) };
  }

  #notEligible(s: Slot): string {
    const c = s.circuit.view;
    if (c.kind === 'open') {
      if (s.circuit.failures === 0) return 'circuit open (opened by another instance)';
      return `circuit open after ${s.circuit.failures} consecutive failures${s.stats.lastError ? ` (last: ${s.stats.lastError})` : ''}`;
    }
    if (c.kind === 'half_open' && c.trial) return 'circuit half-open, trial request in flight';
    // A busy worker is never skipped here: it is tried when nothing else is left.
    if (s.health?.status === 'unavailable') return `unavailable: ${s.health.reason}`;
    return 'not eligible';
  }

  /** When a worker at its rate limits, or a cooling one, next has room (for a queue's wake-up). */
  nextChange(now: number): number {
    let at = this.#nextCoolExpiry;
    for (const s of this.slots.values()) {
      if (s.limits.rpm !== Infinity || s.limits.tpm !== Infinity) at = Math.min(at, this.env.store.nextFree(s.name, now));
    }
    return at;
  }

  // ---- outcomes -----------------------------------------------------------------------------

  /** An attempt's outcome (its slot was already given back to the store). */
  released(name: string, outcome: AttemptOutcome): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    if (this.selection.loadAware) this.selection.loadChanged(name, this.env.store.load(name, this.env.clock.now()).inflight);
    const wasHeld = slot.circuit.holding;
    switch (outcome.kind) {
      case 'success':
        this.selection.observed(name, { ok: true, firstChunkMs: outcome.firstChunkMs, latencyMs: outcome.latencyMs });
        slot.stats.successes++;
        slot.stats.latencyMs = outcome.latencyMs;
        slot.stats.firstChunkMs = outcome.firstChunkMs;
        slot.firstChunks.add(outcome.firstChunkMs);
        if (outcome.usage !== undefined) spent(slot, outcome.usage);
        slot.circuit.succeeded();
        break;
      case 'cancelled':
        if (outcome.atLeastMs !== undefined) slot.firstChunks.add(outcome.atLeastMs);
        slot.circuit.released();
        break;
      case 'failure':
        this.selection.observed(name, { ok: false, ...(outcome.firstChunkMs !== undefined ? { firstChunkMs: outcome.firstChunkMs } : {}) });
        this.#failed(slot, outcome);
        break;
    }
    if (slot.circuit.holding !== wasHeld) this.#dirty = true;
  }

  #failed(slot: Slot, outcome: Extract<AttemptOutcome, { kind: 'failure' }>): void {
    const e = outcome.error;
    if (outcome.firstChunkMs !== undefined) slot.stats.firstChunkMs = outcome.firstChunkMs;
    if (isWorkerError(e) && e.kind === 'rate_limited') {
      slot.circuit.released();
      this.rest(slot.name, e.retryAfterMs ?? this.env.options.defaultCooldownMs, 'rate limited (429)');
      return; // cooling down is not being down
    }
    slot.stats.failures++;
    slot.stats.lastError = describe(e);
    if (isWorkerError(e) && (e.kind === 'auth' || e.kind === 'quota')) {
      this.rest(slot.name, this.env.options.disableMs, disabledBecause(e));
      slot.circuit.failed(this.env.options.failureThreshold);
      slot.circuit.trip();
    } else {
      slot.circuit.failed(this.env.options.failureThreshold);
    }
  }

  /** Leaves a worker alone for `ms` (a 429, a bad key, or the backend's own limit headers). */
  rest(name: string, ms: number, reason: string): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    const until = this.env.clock.now() + ms;
    if (slot.cooldown !== null && slot.cooldown.until >= until) return;
    slot.cooldown = { until, reason };
    this.#dirty = true;
    this.env.events.emit(() => ({ type: 'pool.cooldown', worker: name, ms, reason }));
  }

  applyHealth(results: readonly HealthReport[]): void {
    for (const r of results) {
      const slot = this.slots.get(r.worker);
      if (slot === undefined) continue;
      const before = slot.health?.status ?? 'unknown';
      slot.health = r.health;
      if (before !== r.health.status) {
        this.#dirty = true;
        this.env.events.emit(() => ({
          type: 'pool.health_changed',
          worker: slot.name,
          from: before,
          to: r.health.status,
          reason: r.health.status === 'available' ? undefined : r.health.reason,
        }));
      }
      // A passing check only lets the trial come early: a backend whose health endpoint answers
      // may still be unable to chat (a wedged model). Only a real request closes the circuit.
      if (r.health.status === 'available') this.halfOpen(slot.name);
    }
  }

  /** The circuit's reset time passed (or a health check passed): one trial may go. */
  halfOpen(name: string, circuit?: object, opens?: number): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    // A reset timer of an earlier opening (or of a replaced worker) is stale.
    if (circuit !== undefined && (slot.circuit !== circuit || slot.circuit.opens !== opens)) return;
    if (slot.circuit.halfOpen()) this.#dirty = true;
  }

  #circuitChanged(name: string, circuit: Circuit, state: CircuitState): void {
    this.#dirty = true;
    if (state === 'open') this.env.circuitOpened(name, circuit);
    this.env.events.emit(() => ({ type: 'pool.circuit_changed', worker: name, state }));
  }

  // ---- status -------------------------------------------------------------------------------

  snapshot(queued: number): Omit<PoolStatus, 'store'> {
    const now = this.env.clock.now();
    return {
      strategy: this.selection.name,
      queued,
      maxQueue: this.env.options.maxQueue,
      workers: [...this.slots.values()].map((s) => this.#workerStatus(s, now)),
    };
  }

  #workerStatus(s: Slot, now: number): WorkerStatus {
    const load = this.env.store.load(s.name, now);
    const limits = setLimits(s.limits);
    const windowed = s.limits.rpm !== Infinity || s.limits.tpm !== Infinity;
    return {
      name: s.name,
      kind: s.kind,
      ...(s.model !== undefined ? { model: s.model } : {}),
      ...(s.routes.size > 1 + (s.model !== undefined ? 1 : 0) ? { tags: [...s.routes].filter((r) => r !== s.name && r !== s.model) } : {}),
      priority: s.priority,
      health: s.health?.status ?? 'unknown',
      ...(s.health && s.health.status !== 'available' ? { healthReason: s.health.reason } : {}),
      circuit: s.circuit.state,
      ...(s.cooldown !== null && s.cooldown.until > now ? { coolingDownMs: Math.ceil(s.cooldown.until - now) } : {}),
      inflight: load.inflight,
      ...(limits !== undefined ? { limits } : {}),
      ...(windowed ? { window: { requests: load.requestsInWindow, tokens: load.tokensInWindow } } : {}),
      successes: s.stats.successes,
      failures: s.stats.failures,
      ...(s.stats.lastError !== undefined ? { lastError: s.stats.lastError } : {}),
      ...(s.stats.latencyMs !== undefined ? { latencyMs: s.stats.latencyMs } : {}),
      ...(s.stats.firstChunkMs !== undefined ? { firstChunkMs: s.stats.firstChunkMs } : {}),
      ...(s.stats.usage !== undefined ? { usage: { ...s.stats.usage } } : {}),
    };
  }
}
