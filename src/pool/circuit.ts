import type CircuitBreaker from 'opossum';
import { onFirstUse } from '../lazy-require.js';
import { EventEmitter } from 'node:events';

/** State of a worker's circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * A worker's circuit as the pool sees it: a tagged union. `half_open` lets one trial request
 * through; while it runs, `trial` is true and nobody else is let in.
 * @internal
 */
export type CircuitView =
  | { readonly kind: 'closed'; readonly failures: number }
  | { readonly kind: 'open' }
  | { readonly kind: 'half_open'; readonly trial: boolean };

/** opossum, required when the first circuit is made: importing cortex does not pay for it. */
const breakerClass = onFirstUse<typeof CircuitBreaker>('opossum');

// Shared, never-emitting controller: opossum then keeps no rolling-window interval per breaker.
const noRotation = new EventEmitter().setMaxListeners(0);
/** opossum's reset timer is never started (its `open` listeners are dropped); out of reach all the same. */
const NEVER = 2 ** 31 - 1;

/**
 * One worker's circuit. opossum holds the state (closed, open, half-open) and emits its
 * changes; the pool drives it by its own rules (ADR 0004): consecutive failures open it, the
 * reset time (on the pool's clock) or a passing health check make it half-open, and only a
 * successful request closes it. Beside opossum it keeps only what opossum has no notion of:
 * the consecutive failures of a stream (whose outcome is known at its end) and the trial in flight.
 * @internal
 */
export class Circuit {
  #breaker: CircuitBreaker;
  #failures = 0;
  #trial = false;
  #opens = 0;

  /** @param changed told of every change of state (from opossum's events, and half-opening). */
  constructor(private readonly changed: (state: CircuitState) => void) {
    this.#breaker = this.#make(false);
  }

  get view(): CircuitView {
    const b = this.#breaker;
    if (b.opened) return { kind: 'open' };
    if (b.halfOpen) return { kind: 'half_open', trial: this.#trial };
    return { kind: 'closed', failures: this.#failures };
  }

  get state(): CircuitState {
    return this.#breaker.opened ? 'open' : this.#breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** How many times it opened: tells a reset timer of this opening from an older one. */
  get opens(): number {
    return this.#opens;
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Not to be picked: open, or half-open with its trial in flight. */
  get holding(): boolean {
    return this.#breaker.opened || (this.#breaker.halfOpen && this.#trial);
  }

  /** A request was let in: in half-open state, it is the trial. */
  admitted(): void {
    if (this.#breaker.halfOpen) this.#trial = true;
  }

  /** A request through this worker completed. Closes a circuit that was not closed. */
  succeeded(): void {
    this.#failures = 0;
    this.#trial = false;
    if (!this.#breaker.closed) this.#breaker.close();
  }

  /** A request failed. Opens the circuit at `threshold` consecutive failures, or on a failed trial. */
  failed(threshold: number): void {
    this.#failures++;
    const wasTrial = this.#trial;
    this.#trial = false;
    if ((wasTrial || this.#failures >= threshold) && !this.#breaker.opened) this.#breaker.open();
  }

  /** A request ended without a verdict (cancelled by its caller): a trial may be tried again. */
  released(): void {
    this.#trial = false;
  }

  /** Opens at once (a bad key, an exhausted quota). */
  trip(): void {
    if (!this.#breaker.opened) this.#breaker.open();
  }

  /** The reset time passed, or a health check passed: one trial may go. No-op unless open. */
  halfOpen(): boolean {
    if (!this.#breaker.opened) return false;
    this.#breaker.shutdown();
    this.#breaker = this.#make(true);
    this.#trial = false;
    this.changed('half_open');
    return true;
  }

  /** Releases opossum's listeners. */
  dispose(): void {
    this.#breaker.shutdown();
  }

  #make(halfOpen: boolean): CircuitBreaker {
    const breaker = new (breakerClass())(async () => undefined, {
      timeout: false,
      resetTimeout: NEVER,
      rotateBucketController: noRotation,
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
      ...(halfOpen ? { state: { closed: false, halfOpen: true } } : {}),
    });
    // opossum starts its own reset timer on 'open' (global setTimeout): drop its listeners, so a
    // breaker holds no timer and a killed pool (no terminate, no shutdown) leaks none.
    breaker.removeAllListeners('open');
    breaker.on('open', () => {
      this.#opens++;
      this.changed('open');
    });
    breaker.on('close', () => this.changed('closed'));
    return breaker;
  }
}
