import type { CompletionChunk } from '../behaviour/types.js';
import type { InspectionEvent } from '../events.js';
import type { Clock } from '../runtime/clock.js';
import type { EventStream } from '../runtime/inspection.js';
import type { AttemptOutcome, Checkout, Lease } from '../pool/types.js';
import { Attempt, ENDED } from './attempt.js';
import type { RequestPolicy } from './policy.js';

/** The abort reason of a hedge race's loser. @internal */
export const HEDGE_LOST = Object.freeze({ name: 'HedgeLost', message: 'another worker sent its first chunk first' });

/** Most hedges that may be saved up in a quiet spell (a burst bound). */
const MAX_SAVED = 10;
/** Hedges a second allowed whatever the traffic (the budget's floor for a quiet pool). */
const MIN_PER_SECOND = 1;

/**
 * How many extra requests hedging may still start, a token bucket as Finagle's retry budget:
 * each request earns `fraction` of a hedge, each hedge spends one, and time adds a minimum rate
 * (`perSecond`, so that a quiet pool may still hedge its rare slow answer); at most
 * {@link MAX_SAVED} are saved up, so a quiet spell never allows a burst. Hedges stay at most
 * `fraction` of requests plus `perSecond` a second. It starts empty.
 * @internal
 */
export class HedgeBudget {
  /** In millionths of a hedge (whole numbers: ten requests at 0.1 earn exactly one). */
  #balance = 0;
  #refilledAt: number | undefined = undefined;

  constructor(
    private readonly now: () => number,
    private readonly perSecond: number = MIN_PER_SECOND,
  ) {}

  /** A hedging request started: it earns its share. */
  earn(fraction: number): void {
    this.#balance = Math.min(MAX_SAVED * UNIT, this.#balance + Math.round(fraction * UNIT));
  }

  /** Takes one hedge if the budget has it. */
  trySpend(): boolean {
    this.#refill();
    if (this.#balance < UNIT) return false;
    this.#balance -= UNIT;
    return true;
  }

  /** What the minimum rate added since the last look. */
  #refill(): void {
    const t = this.now();
    if (this.#refilledAt !== undefined && t > this.#refilledAt) {
      this.#balance = Math.min(MAX_SAVED * UNIT, this.#balance + Math.floor(((t - this.#refilledAt) * this.perSecond * UNIT) / 1000));
    }
    this.#refilledAt = t;
  }

  /** Gives back a hedge that could not start (no other worker had room). */
  refund(): void {
    this.#balance = Math.min(MAX_SAVED * UNIT, this.#balance + UNIT);
  }
}

const UNIT = 1_000_000;

/** An attempt whose worker accepted the request and sent its first chunk (or ended). @internal */
export interface Opened {
  readonly a: Attempt;
  readonly iterator: AsyncIterator<CompletionChunk>;
  /** Reads are guarded against a worker that ignores its signal. */
  readonly guarded: boolean;
  readonly first: IteratorResult<CompletionChunk>;
}

/** How one side of a race ended. */
type Settled = { readonly ok: true; readonly opened: Opened } | { readonly ok: false; readonly a: Attempt; readonly error: unknown };

/** `p` as a settled outcome of `a` (never rejects). @internal */
export function settle(a: Attempt, p: Promise<Opened>): Promise<Settled> {
  return p.then(
    (opened) => ({ ok: true, opened }),
    (error: unknown) => ({ ok: false, a, error }),
  );
}

/**
 * Ends the loser of a race: its worker's request is aborted, its slot given back untouched
 * (a primary beaten by its hedge with `atLeastMs`, its silence so far), its stream closed if it
 * opened. @internal
 */
export function dropLoser(loser: Attempt, pending: Promise<Opened>, atLeastMs?: number): void {
  loser.release(atLeastMs === undefined ? { kind: 'cancelled' } : { kind: 'cancelled', atLeastMs });
  loser.abort(HEDGE_LOST);
  pending.then(
    (o) => void Promise.resolve(o.iterator.return?.()).catch(() => {}),
    () => {},
  );
}

/** How a request's end was decided inside a hedge race: its loop throws it as it is. @internal */
export class Final {
  constructor(readonly error: unknown) {}
}

/**
 * What a hedge race needs of its request (the `Request` is one): its attempts, how they open,
 * fail and start, its events and its budget. @internal
 */
export interface HedgeRacer {
  readonly id: number;
  readonly ended: unknown;
  current: Attempt | null;
  hedge: Attempt | null;
  pendingFailover: unknown;
  readonly env: {
    readonly system: { readonly clock: Clock; readonly events: EventStream<InspectionEvent> };
    readonly hedges?: HedgeBudget | undefined;
    readonly report: (name: string, outcome: AttemptOutcome) => void;
  };
  openFirst(a: Attempt): Promise<Opened>;
  hedgeDelay(a: Attempt): number;
  checkoutHedge(a: Attempt): Promise<{ checkout: Checkout } | undefined>;
  failed(a: Attempt, e: unknown, segmentChars: number): void;
  startHedge(got: { checkout: Checkout }): Attempt;
  note(lent: Lease): void;
}

/** The percentile a hedge's delay is, for the checkout to report (none for a fixed delay). @internal */
export function percentileOf(h: RequestPolicy['hedge']): { percentile?: number } {
  if (h === false || typeof h.afterMs === 'number') return {};
  return { percentile: Number(h.afterMs.slice(1)) / 100 };
}


/**
 * Opens `a` and, if it sends no first chunk within the hedge delay, starts the same request on
 * another worker with room (budget permitting): the first to send a chunk wins and the other is
 * dropped (aborted, its slot given back untouched). If one fails, the other goes on alone; if
 * both fail, the last failure is thrown with `r.current` set to its attempt (the first was
 * recorded as failed already).
 */
export async function hedgedFirst(r: HedgeRacer, a: Attempt): Promise<Opened> {
  const primary = r.openFirst(a);
  const delay = r.hedgeDelay(a);
  const clock = r.env.system.clock;
  let timer: unknown;
  const fired = new Promise<'hedge'>((resolve) => (timer = clock.setTimeout(() => resolve('hedge'), Math.max(1, delay))));
  const early = await Promise.race([settle(a, primary), fired]);
  clock.clearTimeout(timer);
  if (early !== 'hedge') return outcome(early);
  if (r.ended !== null || !r.env.hedges!.trySpend()) return primary;
  const got = await r.checkoutHedge(a);
  if (got === undefined || r.ended !== null) {
    r.env.hedges!.refund();
    if (got?.checkout.ok) new Attempt(got.checkout.lease, clock, Infinity, Infinity, r.env.report).release({ kind: 'cancelled' });
    return primary;
  }
  const b = r.startHedge(got);
  const events = r.env.system.events;
  if (events.listening) events.emit(() => ({ type: 'pool.hedge_started', requestId: r.id, worker: a.name, hedge: b.name, afterMs: delay }));
  const second = r.openFirst(b);
  return race(r, [a, primary], [b, second]);
}

/** The first of two attempts to send a chunk; the loser dropped. */
async function race(r: HedgeRacer, [a, pa]: [Attempt, Promise<Opened>], [b, pb]: [Attempt, Promise<Opened>]): Promise<Opened> {
  const one = await Promise.race([settle(a, pa), settle(b, pb)]);
  if (r.ended !== null) throw ENDED; // both were ended with the request
  const first = one.ok ? one.opened.a : one.a;
  const [other, pending] = first === a ? [b, pb] : [a, pa];
  if (one.ok) {
    // A primary beaten by its hedge was silent this long at least: its percentile must see that.
    dropLoser(other, pending, other === a ? r.env.system.clock.now() - a.started : undefined);
    return won(r, one.opened, first === b ? 'hedge_won' : 'primary_won');
  }
  // One failed: it is recorded, and the other goes on alone.
  r.current = first;
  r.hedge = null;
  try {
    r.failed(first, one.error, 0);
  } catch (final) {
    dropLoser(other, pending); // the request ends here (the caller's mistake): the other is not waited for
    throw new Final(final);
  }
  r.pendingFailover = undefined; // the other attempt was already running: no attempt starts
  r.current = other;
  const last = await settle(other, pending);
  if (last.ok) return won(r, last.opened, other === b ? 'hedge_won' : 'primary_won');
  settled(r, undefined, 'both_failed');
  throw last.error;
}

function won(r: HedgeRacer, o: Opened, result: 'hedge_won' | 'primary_won'): Opened {
  r.current = o.a;
  r.hedge = null;
  r.note(o.a.lease);
  settled(r, o.a.name, result);
  return o;
}

function settled(r: HedgeRacer, winner: string | undefined, result: 'hedge_won' | 'primary_won' | 'both_failed'): void {
  const events = r.env.system.events;
  if (events.listening) events.emit(() => ({ type: 'pool.hedge_settled', requestId: r.id, winner, result }));
}

function outcome(s: Awaited<ReturnType<typeof settle>>): Opened {
  if (s.ok) return s.opened;
  throw s.error;
}
