import type { LlmWorker } from '../behaviour/types.js';
import { isWorkerError, type AttemptFailure } from '../errors/pool.js';
import type { InspectionEvent } from '../events.js';
import type { Clock } from '../runtime/clock.js';
import type { EventStream } from '../runtime/inspection.js';
import type { From } from '../runtime/types.js';
import type { Admission, CircuitRules, Hold, SharedLease, SharedStore, Settlement, StoreCandidate, StoreEvent, Verdict, WorkerFingerprint } from '../store/store.js';
import type { ResolvedLimits } from './admission.js';
import { runHealthChecks, type HealthReport } from './health.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolState } from './pool-state.js';
import type { AttemptOutcome, Checkout, CheckoutRequest, Lease } from './types.js';
import { enqueue, NO_ROOM } from './queue.js';
import type { WaitQueue } from './queue.js';

/** How often queued requests ask the store again when no slot was freed (a dead instance's leases expire silently). */
const POLL_MS = 250;
/** Most releases kept for replay while the store is away (beyond, the oldest leases are left to expire). */
const MAX_UNRELEASED = 10_000;

/** A stream this instance admitted alone while the store was away: announced to the store when it is back. */
interface AloneStream {
  readonly worker: string;
  readonly tokens: number;
  /** When it was admitted (the pool's clock). */
  readonly at: number;
  readonly windowed: boolean;
  /** Its lease in the store, once announced. */
  lease: SharedLease | undefined;
  ended: boolean;
}

/** Messages the shared admission sends its pool actor (answers of the store). @internal */
export type SharedInfo =
  | { readonly type: '$admitted'; readonly req: CheckoutRequest; readonly from: From<Checkout>; readonly queued: boolean; readonly result: Admission | null }
  | { readonly type: '$verdict'; readonly name: string; readonly verdict: Verdict }
  | { readonly type: '$store'; readonly event: StoreEvent }
  | { readonly type: '$mismatch'; readonly worker: string; readonly fields: string[] };

/** What the shared admission needs from its pool actor. @internal */
export interface SharedEnv {
  readonly options: ResolvedPoolOptions;
  readonly events: EventStream<InspectionEvent>;
  readonly clock: Clock;
  /** Sends the pool actor one of its own messages. */
  send(msg: SharedInfo): void;
  /** Arms the pool's `$wake` in `ms`, unless one is due earlier. */
  wakeIn(ms: number): void;
}

/**
 * A pool's side of a {@link SharedStore}: each checkout is planned here (the strategy's order)
 * and admitted there in one round trip; the answer comes back to the pool actor as a message,
 * so the actor never waits on the store. Queued requests are served head first, one admission
 * at a time, woken by a slot freed in any instance, a rate window, or a poll. While the store is
 * degraded, the pool decides alone (this is inactive).
 * @internal
 */
export class SharedAdmission {
  /** An admission for the queue's head is in flight. */
  #serving = false;
  /** Requests wait: slots freed elsewhere are worth a wake-up. */
  #waiting = false;
  readonly #unsubscribe: () => void;
  /** Releases the store did not take (it was away): replayed when it is back, so their slots do not wait for the lease time. */
  readonly #unreleased: Array<{ readonly lease: SharedLease; readonly settlement: Settlement }> = [];
  /** Streams admitted here alone during an outage, still running. */
  readonly #alone = new Set<AloneStream>();

  constructor(
    readonly store: SharedStore,
    private readonly env: SharedEnv,
  ) {
    this.#unsubscribe = store.subscribe((event) => {
      if (event.type !== 'freed' || this.#waiting) env.send({ type: '$store', event });
    });
  }

  get #rules(): CircuitRules {
    return { failureThreshold: this.env.options.failureThreshold, resetMs: this.env.options.circuitResetMs };
  }

  get active(): boolean {
    return !this.store.degraded;
  }

  dispose(): void {
    this.#unsubscribe();
  }

  /** A new checkout: planned and sent to the store (undefined: the answer comes later), or refused now. */
  checkout(pool: PoolState, queue: WaitQueue, req: CheckoutRequest, from: From<Checkout>): Checkout | undefined {
    if (queue.depth > 0) return req.noWait === true ? NO_ROOM : this.#enqueue(queue, req, from); // those waiting go first
    const plan = pool.plan(req);
    if (plan.kind === 'none') return { ok: false, kind: 'none', skipped: plan.skipped };
    this.#admit(plan.candidates, req, from, false);
    return undefined;
  }

  /** The store's answer to an admission. `fallback` decides alone (the store failed). */
  answered(msg: Extract<SharedInfo, { type: '$admitted' }>, pool: PoolState, queue: WaitQueue, fallback: () => void): void {
    if (msg.queued) this.#serving = false;
    const r = msg.result;
    if (r === null) {
      if (!msg.queued) fallback();
      return;
    }
    pool.applyHolds(r.held);
    if (r.kind === 'full') {
      const refused = msg.queued ? undefined : msg.req.noWait === true ? NO_ROOM : this.#enqueue(queue, msg.req, msg.from);
      if (refused !== undefined) msg.from.reply(refused);
      this.env.wakeIn(Math.min(r.retryMs ?? POLL_MS, POLL_MS));
      this.#waiting = queue.depth > 0;
      return;
    }
    if (msg.queued) queue.remove(msg.from);
    if (r.kind === 'none') msg.from.reply({ ok: false, kind: 'none', skipped: r.held.map(heldReason) });
    else this.#lend(r, msg, pool);
    this.serve(pool, queue);
  }

  #lend(r: Extract<Admission, { kind: 'admitted' }>, msg: Extract<SharedInfo, { type: '$admitted' }>, pool: PoolState): void {
    const settle = this.#settler(r.lease);
    const got = msg.from.settled ? undefined : pool.lendShared(r.lease.worker, msg.req, r.trial, settle);
    if (got === undefined) {
      // Nobody waits any more, or the worker left the pool meanwhile: as if never admitted.
      this.store.release(r.lease, { kind: 'unused' }, this.#rules).catch(() => undefined);
      if (!msg.from.settled) msg.from.reply({ ok: false, kind: 'none', skipped: [{ worker: r.lease.worker, reason: 'removed from the pool' }] });
      return;
    }
    msg.from.reply(got);
  }

  /** Offers the store's capacity to the queue's head (one admission in flight at a time). */
  serve(pool: PoolState, queue: WaitQueue): void {
    while (!this.#serving && this.active) {
      const head = queue.first();
      this.#waiting = head !== undefined;
      if (head === undefined) return;
      const plan = pool.plan(head.request);
      if (plan.kind === 'none') {
        queue.remove(head.from);
        head.from.reply({ ok: false, kind: 'none', skipped: plan.skipped });
        continue;
      }
      this.#serving = true;
      this.#admit(plan.candidates, head.request, head.from, true);
    }
  }

  #enqueue(queue: WaitQueue, req: CheckoutRequest, from: From<Checkout>): Checkout | undefined {
    const refused = enqueue(queue, from, req, this.env.options);
    if (refused !== undefined) return refused;
    this.#waiting = true;
    return undefined;
  }

  #admit(candidates: StoreCandidate[], req: CheckoutRequest, from: From<Checkout>, queued: boolean): void {
    const send = (result: Admission | null): void => this.env.send({ type: '$admitted', req, from, queued, result });
    this.store.admit({ candidates, tokens: req.tokens, waits: req.noWait !== true }).then(send, () => send(null));
  }

  /** The function an attempt calls once at its end: the lease goes back with the outcome. */
  #settler(lease: SharedLease): (outcome: AttemptOutcome, tokens: number | undefined) => void {
    const o = this.env.options;
    return (outcome, tokens) => this.#release(lease, toSettlement(outcome, tokens, o));
  }

  /** Gives a lease back; if the store is away, keeps the release to replay when it is back. */
  #release(lease: SharedLease, settlement: Settlement): void {
    this.store.release(lease, settlement, this.#rules).then(
      (verdict) => this.env.send({ type: '$verdict', name: lease.worker, verdict }),
      () => {
        if (this.#unreleased.length >= MAX_UNRELEASED) this.#unreleased.shift();
        this.#unreleased.push({ lease, settlement });
      },
    );
  }

  /**
   * A lease the pool lent alone (the store away): counted here, so that it can be announced
   * to the store when it is back, and released there at its end.
   */
  alone(lease: Lease, tokens: number, windowed: boolean): Lease {
    const s: AloneStream = { worker: lease.name, tokens, at: this.env.clock.now(), windowed, lease: undefined, ended: false };
    this.#alone.add(s);
    const o = this.env.options;
    const settle = (outcome: AttemptOutcome, used: number | undefined): void => {
      s.ended = true;
      this.#alone.delete(s);
      if (s.lease !== undefined) this.#release(s.lease, toSettlement(outcome, used, o));
    };
    return { ...lease, settle };
  }

  /**
   * The store is back: the releases it missed are replayed, and the streams admitted alone meanwhile
   * are announced (each takes a lease whatever the limit), so that the cluster does not admit on
   * top of them.
   */
  restored(): void {
    for (const { lease, settlement } of this.#unreleased.splice(0)) this.#release(lease, settlement);
    const claim = this.store.claim?.bind(this.store);
    if (claim === undefined) return;
    for (const s of this.#alone) {
      if (s.lease !== undefined) continue;
      claim(s.worker, { tokens: s.tokens, ageMs: Math.max(0, this.env.clock.now() - s.at), windowed: s.windowed }).then(
        (lease) => {
          if (s.ended) this.#release(lease, { kind: 'cancelled' }); // it ended while being announced
          else s.lease = lease;
        },
        () => undefined, // away again: announced on the next restore
      );
    }
  }

  /** Tells the others to leave a worker alone (the backend's limit headers). */
  rest(name: string, ms: number, reason: string): void {
    if (this.active) this.store.rest(name, ms, reason).catch(() => undefined);
  }

  /** Says how this instance configures a worker; a difference comes back as `$mismatch`. */
  announce(name: string, worker: LlmWorker, limits: ResolvedLimits): void {
    if (!this.active) return;
    this.store.announce(name, fingerprint(worker, limits)).then(
      (fields) => fields.length > 0 && this.env.send({ type: '$mismatch', worker: name, fields }),
      () => undefined,
    );
  }

  /**
   * A health round shared by the instances: this one checks the workers no other instance
   * checked this interval, publishes its results, and reads the others'. Asked explicitly
   * (`all`), it checks every worker. On store trouble it checks every worker itself.
   */
  async healthRound(targets: ReadonlyArray<{ readonly name: string; readonly worker: LlmWorker }>, all: boolean, signal: AbortSignal): Promise<HealthReport[]> {
    const o = this.env.options;
    const check = (t: typeof targets): Promise<HealthReport[]> => runHealthChecks(t, o.healthTimeoutMs, this.env.clock, signal);
    if (!this.active) return check(targets);
    try {
      const names = targets.map((t) => t.name);
      const mine = all ? names : await this.store.claimHealth(names, Math.max(1, o.healthIntervalMs - 1));
      const own = await check(targets.filter((t) => mine.includes(t.name)));
      await this.store.publishHealth(own, Math.max(3 * o.healthIntervalMs, o.healthTimeoutMs));
      const others = await this.store.readHealth(names.filter((n) => !mine.includes(n)));
      return [...own, ...others];
    } catch {
      return check(targets);
    }
  }
}

/** What tells a worker's config apart across instances (the endpoint carries no credentials). */
function fingerprint(worker: LlmWorker, limits: ResolvedLimits): WorkerFingerprint {
  let info: { kind?: string; models?: readonly string[]; endpoint?: string } = {};
  try {
    info = worker.info();
  } catch {
    // a worker whose info throws is matched by its limits only
  }
  const fin = (n: number): number | undefined => (n === Infinity ? undefined : n);
  return {
    kind: info.kind,
    model: info.models?.[0],
    endpoint: info.endpoint,
    maxConcurrent: fin(limits.maxConcurrent),
    rpm: fin(limits.rpm),
    tpm: fin(limits.tpm),
  };
}

/** An attempt's outcome as the store records it. */
export function toSettlement(outcome: AttemptOutcome, tokens: number | undefined, o: ResolvedPoolOptions): Settlement {
  const t = tokens !== undefined ? { tokens } : {};
  if (outcome.kind !== 'failure') return { kind: outcome.kind, ...t };
  const e = outcome.error;
  if (!isWorkerError(e)) return { kind: 'failure', error: 'error', ...t };
  if (e.kind === 'rate_limited') return { kind: 'rate_limited', restMs: e.retryAfterMs ?? o.defaultCooldownMs, reason: 'rate limited (429)', ...t };
  if (e.kind === 'auth' || e.kind === 'quota') {
    const reason = e.kind === 'quota' ? 'quota exhausted' : e.status !== undefined ? `rejected credentials (HTTP ${e.status})` : 'no credentials';
    return { kind: 'disabled', error: e.kind, restMs: o.disableMs, reason, ...t };
  }
  return { kind: 'failure', error: e.kind, ...t };
}

/** Why the shared state skipped a worker, as a request's failure list says it. */
function heldReason(h: Hold): AttemptFailure {
  if (h.kind === 'cooling') return { worker: h.worker, reason: `${h.reason}; cooling down for ${Math.ceil(h.ms)} ms (shared)` };
  if (h.kind === 'open') return { worker: h.worker, reason: `circuit open (shared) for ${Math.ceil(h.ms)} ms more` };
  return { worker: h.worker, reason: 'circuit half-open, trial request in flight (shared)' };
}
