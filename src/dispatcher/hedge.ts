import type { CompletionChunk } from '../behaviour/types.js';
import type { Attempt } from './attempt.js';

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
