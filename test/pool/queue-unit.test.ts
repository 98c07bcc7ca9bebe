/**
 * The wait queue's pass over its waiters when capacity frees: every kind of waiter is asked, but
 * one found full is not asked again for each waiter just like it (the same workers open to it,
 * as many tokens or more): a release costs a checkout per kind of waiter, not per waiter.
 */
import { describe, expect, it } from 'vitest';
import { WaitQueue } from '../../src/pool/queue.js';
import type { Checkout, CheckoutRequest } from '../../src/pool/types.js';
import type { From } from '../../src/runtime/types.js';

/** A waiting caller: what it was answered, if anything. */
function caller(): From<Checkout> & { answer?: Checkout } {
  const c: From<Checkout> & { answer?: Checkout } = {
    signal: new AbortController().signal,
    get settled() {
      return c.answer !== undefined;
    },
    reply(value) {
      c.answer = value;
    },
  };
  return c;
}

const request = (over: Partial<CheckoutRequest> = {}): CheckoutRequest => ({ type: 'checkout', exclude: [], tokens: 10, priority: 0, ...over });
const lent = (name: string): Checkout => ({ ok: true, lease: { name } as never });
const fit = (r: CheckoutRequest): string => `${r.exclude.join(',')}|${r.route ?? ''}`;

describe('a pass over the wait queue', () => {
  it('asks one waiter of a kind found full, not all of them, and serves as many as there is room for', () => {
    const q = new WaitQueue();
    const callers = Array.from({ length: 1_000 }, () => caller());
    for (const c of callers) q.add(c, request(), Infinity);
    let room = 2;
    let asked = 0;
    const left = q.serve(() => {
      asked++;
      return room-- > 0 ? lent('w') : 'full';
    }, fit);
    expect(callers.filter((c) => c.answer !== undefined)).toHaveLength(2);
    expect(asked).toBe(3); // two served, one found full: the 997 like it are not asked
    expect(left).toBe(998);
  });

  it('still asks a waiter of another kind (it tried other workers, or routes elsewhere), and one with fewer tokens', () => {
    const q = new WaitQueue();
    const same = caller();
    const tried = caller();
    const routed = caller();
    const smaller = caller();
    q.add(caller(), request(), Infinity); // found full first
    q.add(same, request({ tokens: 20 }), Infinity);
    q.add(tried, request({ exclude: ['a'] }), Infinity);
    q.add(routed, request({ route: 'gpu' }), Infinity);
    q.add(smaller, request({ tokens: 5 }), Infinity);
    const asked: CheckoutRequest[] = [];
    q.serve((r) => {
      asked.push(r);
      if (r.exclude.length > 0) return lent('b'); // the worker it has not tried has room
      return r.tokens < 10 ? lent('a') : 'full'; // a tpm limit: the small one fits
    }, fit);
    expect(asked.map((r) => [r.exclude.join(','), r.route ?? '', r.tokens])).toEqual([
      ['', '', 10],
      ['a', '', 10],
      ['', 'gpu', 10],
      ['', '', 5],
    ]);
    expect(same.answer).toBeUndefined();
    expect(tried.answer).toEqual(lent('b'));
    expect(smaller.answer).toEqual(lent('a'));
  });

  it('without a fit, asks every waiter (as before)', () => {
    const q = new WaitQueue();
    for (let i = 0; i < 10; i++) q.add(caller(), request(), Infinity);
    let asked = 0;
    q.serve(() => {
      asked++;
      return 'full';
    });
    expect(asked).toBe(10);
  });

  it('stops once the pool is exhausted, when nothing changed since every waiter was found full; asks all again after a change', () => {
    const q = new WaitQueue();
    const pool = { epoch: 1, inflight: 1, get exhausted() { return this.inflight >= 1; } };
    const callers = Array.from({ length: 1_000 }, () => caller());
    for (const c of callers) q.add(c, request({ exclude: [`w${callers.indexOf(c) % 3}`] }), Infinity, Infinity, pool.epoch); // found full on arrival
    let asked = 0;
    const checkout = (): Checkout | 'full' => {
      asked++;
      if (pool.inflight >= 1) return 'full';
      pool.inflight++;
      return lent('w');
    };
    pool.inflight = 0; // a release
    expect(q.serve(checkout, fit, pool)).toBe(999);
    expect(asked).toBe(1); // the head took the slot; the rest would be full again
    expect(callers[0]!.answer).toEqual(lent('w'));
    pool.epoch = 2; // a worker came or went: each kind is asked again
    pool.inflight = 0;
    asked = 0;
    q.serve(checkout, fit, pool);
    expect(asked).toBe(4); // one served, then one of each of the three kinds found full
    expect(callers[1]!.answer).toEqual(lent('w'));
    pool.inflight = 0; // the last pass found every waiter full at epoch 2: one checkout again
    asked = 0;
    q.serve(checkout, fit, pool);
    expect(asked).toBe(1);
    expect(callers.filter((c) => c.answer !== undefined)).toHaveLength(3);
  });

  it('a waiter queued without the epoch it was found full at (a shared store decided) makes the next pass ask every kind', () => {
    const q = new WaitQueue();
    const pool = { epoch: 1, exhausted: true };
    q.add(caller(), request(), Infinity, Infinity, 1);
    q.add(caller(), request({ route: 'gpu' }), Infinity); // no epoch
    let asked = 0;
    q.serve(() => (asked++, lent('w')), fit, pool);
    expect(asked).toBe(2);
  });
});
