/**
 * The wait queue against its plain definition, on random histories: requests arrive (queued
 * only when every worker open to them is full, as the pool does), callers give up, slots are
 * freed, workers leave and come back (the pool's epoch moves). The queue skips waiters it
 * knows are full (one of their kind was, in this pass; or the pool is exhausted and nothing
 * changed since every waiter was found full); the definition asks every waiter in order, each
 * time, and places a new one by priority and tenants' turns by scanning the list. Both must
 * answer the same callers with the same workers, in the same order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WaitQueue } from '../../src/pool/queue.js';
import type { Checkout, CheckoutRequest } from '../../src/pool/types.js';
import type { From } from '../../src/runtime/types.js';
import { fuzz } from '../support/fuzz.js';

const WORKERS = 3;

/** A pool of three workers with slots; a request may not use the workers it excludes, nor one that left. */
class PoolModel {
  readonly inflight = [0, 0, 0];
  readonly present = [true, true, true];
  epoch = 0;
  constructor(readonly caps: number[]) {}

  checkout(req: CheckoutRequest): Checkout | 'full' {
    const open = [...Array(WORKERS).keys()].filter((i) => this.present[i] && !req.exclude.includes(`w${i}`));
    if (open.length === 0) return { ok: false, kind: 'none', skipped: [] };
    const i = open.find((w) => this.inflight[w]! < this.caps[w]!);
    if (i === undefined) return 'full';
    this.inflight[i]!++;
    return { ok: true, lease: { name: `w${i}` } as never };
  }

  get exhausted(): boolean {
    return this.inflight.every((n, i) => n >= this.caps[i]!);
  }
}

interface Caller extends From<Checkout> {
  readonly id: number;
  gaveUp: boolean;
}

/** The definition: a list scanned in full for every placement and every pass. */
class DefinedQueue {
  list: Array<{ from: Caller; request: CheckoutRequest }> = [];

  add(from: Caller, request: CheckoutRequest): void {
    this.list = this.list.filter((w) => !w.from.settled);
    const tenant = request.tenant ?? '';
    const mine = this.list.filter((w) => w.request.priority === request.priority && (w.request.tenant ?? '') === tenant).length;
    const turns = new Map<string, number>();
    let at = this.list.length;
    for (let i = 0; i < this.list.length; i++) {
      const r = this.list[i]!.request;
      if (r.priority > request.priority) continue;
      if (r.priority < request.priority) {
        at = i;
        break;
      }
      const turn = turns.get(r.tenant ?? '') ?? 0;
      turns.set(r.tenant ?? '', turn + 1);
      if (turn > mine) {
        at = i;
        break;
      }
    }
    this.list.splice(at, 0, { from, request });
  }

  serve(checkout: (r: CheckoutRequest) => Checkout | 'full'): void {
    this.list = this.list.filter((w) => {
      if (w.from.settled) return false;
      const got = checkout(w.request);
      if (got === 'full') return true;
      w.from.reply(got);
      return false;
    });
  }
}

type Step =
  | { op: 'arrive'; priority: number; tenant: string | undefined; exclude: number; tokens: number }
  | { op: 'give_up'; which: number }
  | { op: 'free'; worker: number }
  | { op: 'leave'; worker: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('arrive' as const), priority: fc.integer({ min: 0, max: 1 }), tenant: fc.constantFrom(undefined, 'a', 'b'), exclude: fc.integer({ min: -1, max: WORKERS - 1 }), tokens: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('give_up' as const), which: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('free' as const), worker: fc.integer({ min: 0, max: WORKERS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), worker: fc.integer({ min: 0, max: WORKERS - 1 }) }) },
);

/** Plays `steps` on one queue; returns who was answered what, in order. */
function play(steps: Step[], caps: number[], defined: boolean): string[] {
  const pool = new PoolModel(caps);
  const log: string[] = [];
  const callers: Caller[] = [];
  const queue = new WaitQueue();
  const reference = new DefinedQueue();
  const fit = (r: CheckoutRequest): string => r.exclude.join(',');
  const serve = (): void => {
    const checkout = (r: CheckoutRequest): Checkout | 'full' => pool.checkout(r);
    if (defined) reference.serve(checkout);
    else queue.serve(checkout, fit, pool);
  };
  const caller = (id: number): Caller => {
    const c: Caller = {
      id,
      gaveUp: false,
      signal: new AbortController().signal,
      get settled() {
        return c.gaveUp || log.some((l) => l.startsWith(`${id}:`));
      },
      reply: (got) => log.push(`${id}:${got.ok ? got.lease.name : got.kind}`),
    };
    return c;
  };
  for (const s of steps) {
    if (s.op === 'arrive') {
      const c = caller(callers.length);
      callers.push(c);
      const request: CheckoutRequest = { type: 'checkout', exclude: s.exclude < 0 ? [] : [`w${s.exclude}`], tokens: s.tokens, priority: s.priority, ...(s.tenant !== undefined ? { tenant: s.tenant } : {}) };
      const got = pool.checkout(request);
      if (got !== 'full') c.reply(got);
      else if (defined) reference.add(c, request);
      else queue.add(c, request, Infinity, Infinity, pool.epoch);
    } else if (s.op === 'give_up') {
      if (callers.length > 0) callers[s.which % callers.length]!.gaveUp = true;
    } else if (s.op === 'free') {
      if (pool.inflight[s.worker]! > 0) pool.inflight[s.worker]!--;
      serve();
    } else {
      pool.present[s.worker] = !pool.present[s.worker];
      pool.epoch++;
      serve();
    }
  }
  // Then room for all: whoever still waits is answered in the queue's order.
  pool.caps.fill(Infinity);
  pool.present.fill(true);
  pool.epoch++;
  serve();
  return log;
}

describe('the wait queue, property', () => {
  it('answers the same callers with the same workers in the same order as its plain definition', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 150, size: 'max' }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: WORKERS, maxLength: WORKERS }), (steps, caps) => {
        expect(play(steps, [...caps], false)).toEqual(play(steps, [...caps], true));
      }),
      fuzz(300),
    );
  });
});
