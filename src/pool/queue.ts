import type { From } from '../runtime/types.js';
import type { Checkout, CheckoutRequest } from './types.js';

/** A checkout waiting for a slot. */
interface Waiter {
  readonly from: From<Checkout>;
  readonly request: CheckoutRequest;
}

/**
 * The pool's wait queue: checkouts that found every worker that could answer at its limits.
 * Higher `priority` first, arrival order within one; a waiter whose caller gave up (timed out,
 * aborted) is dropped, so it never holds a place nor a slot.
 * @internal
 */
export class WaitQueue {
  #waiters: Waiter[] = [];

  /** Waiting now (callers that gave up are dropped first). */
  get depth(): number {
    if (this.#waiters.some((w) => w.from.settled)) this.#waiters = this.#waiters.filter((w) => !w.from.settled);
    return this.#waiters.length;
  }

  /** Queues `from` (answered later by `serve`); false when `max` are already waiting. */
  add(from: From<Checkout>, request: CheckoutRequest, max: number): boolean {
    if (this.depth >= max) return false;
    let at = this.#waiters.length;
    while (at > 0 && this.#waiters[at - 1]!.request.priority < request.priority) at--;
    this.#waiters.splice(at, 0, { from, request });
    return true;
  }

  /** The first waiter whose caller still waits. */
  first(): Waiter | undefined {
    while (this.#waiters.length > 0 && this.#waiters[0]!.from.settled) this.#waiters.shift();
    return this.#waiters[0];
  }

  /** Takes `from` out of the queue (it was answered). */
  remove(from: From<Checkout>): void {
    const i = this.#waiters.findIndex((w) => w.from === from);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /**
   * Offers capacity to the waiters, in order; `checkout` answers one or says `'full'`. A later
   * waiter may fit where an earlier one does not (it excludes the workers it tried), so all are
   * asked. Returns how many are still waiting.
   */
  serve(checkout: (request: CheckoutRequest) => Checkout | 'full'): number {
    if (this.#waiters.length === 0) return 0;
    const left: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.from.settled) continue;
      const got = checkout(w.request);
      if (got === 'full') left.push(w);
      else w.from.reply(got);
    }
    this.#waiters = left;
    return left.length;
  }
}

/** The answer to a `noWait` checkout when every worker it may use is at its limits: it is not queued. @internal */
export const NO_ROOM: Checkout = Object.freeze({ ok: false, kind: 'none', skipped: [{ worker: '(pool)', reason: 'no other worker has room now' }] });
