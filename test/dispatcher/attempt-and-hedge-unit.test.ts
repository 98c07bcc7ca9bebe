/**
 * One attempt and the hedge race, on their own: an `Attempt` over a fake lease on a simulated
 * clock, the hedge budget, and `hedgedFirst` driven through a scripted `HedgeRacer` (what a
 * request is to the race). The same behaviour through real requests is test/pool/hedge.test.ts.
 *
 * Mutation testing (npm run mutate; attempt.ts 89.6 %, hedge.ts 92.2 %): survivors left as
 * equivalent: `if (events.listening)` -> `true` before an emit (an event stream with no listener
 * drops what it is given); the frozen abort reasons' texts (`ENDED`, `ATTEMPT_OVER`,
 * `HEDGE_LOST`: markers compared by identity); `Attempt.abort`'s early return (a second
 * `AbortController.abort` is a no-op, and the read it would wake was woken); `due`'s
 * `limit === Infinity` shortcut (the sum it skips is Infinity too); `r.ended !== null` before
 * spending a hedge (an ended request refunds the hedge right after); `t > refilledAt` -> `>=`
 * in the budget (an equal time adds 0).
 */
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from '../../src/index.js';
import type { CompletionChunk } from '../../src/behaviour/types.js';
import type { InspectionEvent } from '../../src/events.js';
import { Attempt, ATTEMPT_OVER, ENDED } from '../../src/dispatcher/attempt.js';
import { dropLoser, Final, HEDGE_LOST, HedgeBudget, hedgedFirst, percentileOf, type HedgeRacer, type Opened } from '../../src/dispatcher/hedge.js';
import type { AttemptOutcome, Checkout, Lease } from '../../src/pool/types.js';
import { EventStream } from '../../src/runtime/inspection.js';

interface Recorded {
  readonly released: Array<{ name: string; tokens: number | undefined }>;
  readonly reported: Array<{ name: string; outcome: AttemptOutcome }>;
}

function lease(name: string, rec: Recorded): Lease {
  return {
    ticket: { worker: name } as never,
    name,
    worker: {} as never,
    kind: 'mock',
    model: undefined,
    alternatives: 1,
    store: { release: (_t: unknown, tokens: number | undefined) => void rec.released.push({ name, tokens }) } as never,
  };
}

function setup(): { clock: SimulatedClock; rec: Recorded; attempt(name: string, first?: number, idle?: number): Attempt } {
  const clock = new SimulatedClock();
  const rec: Recorded = { released: [], reported: [] };
  const report = (name: string, outcome: AttemptOutcome): void => void rec.reported.push({ name, outcome });
  return { clock, rec, attempt: (name, first = Infinity, idle = Infinity) => new Attempt(lease(name, rec), clock, first, idle, report) };
}

describe('Attempt', () => {
  it('gives its slot back and reports once, however often it is released', () => {
    const { rec, attempt } = setup();
    const a = attempt('w');
    expect(a.released).toBe(false);
    a.release({ kind: 'cancelled' }, 12);
    a.release({ kind: 'failure', error: new Error('late') });
    expect(a.released).toBe(true);
    expect(rec.released).toEqual([{ name: 'w', tokens: 12 }]);
    expect(rec.reported).toEqual([{ name: 'w', outcome: { kind: 'cancelled' } }]);
  });

  it('an abort wakes a read in progress, even when the worker ignores its signal; a second abort keeps the first reason', async () => {
    const { attempt } = setup();
    const a = attempt('w');
    const read = a.read(new Promise(() => {})); // a worker that never answers
    a.abort('first');
    a.abort('second');
    await expect(read).rejects.toBe('first');
    expect(a.ctl.signal.reason).toBe('first');
  });

  it('a read after the abort rejects at once, and the worker\'s late rejection is not left unhandled', async () => {
    const { attempt } = setup();
    const a = attempt('w');
    a.abort('over');
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await expect(a.read(Promise.reject(new Error('late')))).rejects.toBe('over');
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('the watchdog: the first-chunk limit before a chunk, the idle limit after, none while the consumer holds a chunk', async () => {
    const { clock, attempt } = setup();
    const a = attempt('w', 100, 50);
    expect(a.due(clock.now())).toBe(100);
    await clock.advance(100);
    const early = a.due(clock.now());
    expect(early).toMatchObject({ kind: 'first_chunk_timeout', message: expect.stringContaining('no first chunk within 100 ms') });
    const b = attempt('w', 100, 50);
    b.chunk(clock.now());
    expect(b.due(clock.now() + 1000)).toBe(clock.now() + 1000 + 50); // the consumer holds the chunk: not the worker's time
    b.resume(clock.now());
    await clock.advance(50);
    expect(b.due(clock.now())).toMatchObject({ kind: 'idle_timeout', message: expect.stringContaining('no chunk for 50 ms') });
  });

  it('no limit applies when the limit is Infinity, nor once the attempt is aborted', async () => {
    const { clock, attempt } = setup();
    const free = attempt('w', Infinity, Infinity);
    await clock.advance(1e9);
    expect(free.due(clock.now())).toBe(Infinity);
    const aborted = attempt('w', 10, 10);
    aborted.abort('x');
    await clock.advance(100);
    expect(aborted.due(clock.now())).toBe(Infinity);
  });

  it('close: unreleased, it is cancelled and aborted (the consumer stopped early)', () => {
    const { rec, attempt } = setup();
    const a = attempt('w');
    a.close(false);
    expect(rec.reported).toEqual([{ name: 'w', outcome: { kind: 'cancelled' } }]);
    expect(a.ctl.signal.reason).toBe(ATTEMPT_OVER);
  });

  it('close: released after a break, an accepted stream is aborted (it may hold its connection); a completed or never-accepted one is not', () => {
    const { attempt } = setup();
    const broke = attempt('w');
    broke.accepted = true;
    broke.release({ kind: 'failure', error: new Error('reset') });
    broke.close(false);
    expect(broke.ctl.signal.reason).toBe(ATTEMPT_OVER);
    const done = attempt('w');
    done.accepted = true;
    done.release({ kind: 'success', firstChunkMs: 1, latencyMs: 2 });
    done.close(true);
    expect(done.ctl.signal.aborted).toBe(false);
    const refused = attempt('w');
    refused.release({ kind: 'failure', error: new Error('refused') });
    refused.close(false);
    expect(refused.ctl.signal.aborted).toBe(false);
    const aborted = attempt('w');
    aborted.accepted = true;
    aborted.abort('mine');
    aborted.release({ kind: 'cancelled' });
    aborted.close(false);
    expect(aborted.ctl.signal.reason).toBe('mine'); // not aborted again
  });
});

describe('HedgeBudget', () => {
  it('starts empty; requests earn their fraction; a hedge spends one', () => {
    const budget = new HedgeBudget(() => 0, 0);
    expect(budget.trySpend()).toBe(false);
    for (let i = 0; i < 9; i++) budget.earn(0.1);
    expect(budget.trySpend()).toBe(false);
    budget.earn(0.1); // ten requests at 0.1 earn exactly one
    expect(budget.trySpend()).toBe(true);
    expect(budget.trySpend()).toBe(false);
  });

  it('time adds perSecond hedges a second, from the first look on', () => {
    let t = 5_000;
    const budget = new HedgeBudget(() => t, 2);
    expect(budget.trySpend()).toBe(false); // the first look only starts the clock
    t += 499;
    expect(budget.trySpend()).toBe(false); // 0.998 of a hedge
    t += 1;
    expect(budget.trySpend()).toBe(true); // 1.0
    t += 1500;
    expect(budget.trySpend()).toBe(true);
    expect(budget.trySpend()).toBe(true);
    expect(budget.trySpend()).toBe(true);
    expect(budget.trySpend()).toBe(false);
  });

  it('a clock that goes back adds nothing, and takes nothing away', () => {
    let t = 10_000;
    const budget = new HedgeBudget(() => t, 1);
    budget.trySpend();
    budget.earn(1);
    t -= 5_000;
    expect(budget.trySpend()).toBe(true); // the earned hedge is still there
    t += 5_000;
    t -= 5_000;
    expect(budget.trySpend()).toBe(false);
    t += 999; // still before the last look
    expect(budget.trySpend()).toBe(false);
  });

  it('saves up at most 10, from earnings, time or refunds', () => {
    let t = 0;
    const budget = new HedgeBudget(() => t, 1);
    budget.trySpend();
    t += 60_000;
    let n = 0;
    while (budget.trySpend()) n++;
    expect(n).toBe(10);
    for (let i = 0; i < 15; i++) budget.refund();
    n = 0;
    while (budget.trySpend()) n++;
    expect(n).toBe(10);
    budget.refund();
    expect(budget.trySpend()).toBe(true); // a refund gives back one
  });
});

describe('percentileOf', () => {
  it('a percentile delay names it; a fixed delay or no hedging names none', () => {
    expect(percentileOf({ afterMs: 'p90', fallbackMs: 1000, budget: 0.2 })).toEqual({ percentile: 0.9 });
    expect(percentileOf({ afterMs: 'p50', fallbackMs: 1000, budget: 0.2 })).toEqual({ percentile: 0.5 });
    expect(percentileOf({ afterMs: 200, fallbackMs: 1000, budget: 0.2 })).toEqual({});
    expect(percentileOf(false)).toEqual({});
  });
});

/** A scripted race: each attempt's opening is a promise the test settles. */
function racer(opts: { budget?: number; checkout?: 'none' | 'refused'; failedThrows?: unknown } = {}) {
  const { clock, rec, attempt } = setup();
  const events = new EventStream<InspectionEvent>();
  const seen: InspectionEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const budget = new HedgeBudget(() => clock.now(), 0);
  for (let i = 0; i < (opts.budget ?? 1); i++) budget.earn(1);
  interface Opening {
    readonly a: Attempt;
    resolve(o: Opened): void;
    reject(e: unknown): void;
    returned: number;
  }
  const openings = new Map<string, Opening>();
  const failed: string[] = [];
  const noted: string[] = [];
  const report = (name: string, outcome: AttemptOutcome): void => void rec.reported.push({ name, outcome });
  const r: HedgeRacer & { ended: unknown } = {
    id: 7,
    ended: null,
    current: null,
    hedge: null,
    pendingFailover: 'pending',
    env: { system: { clock, events }, hedges: budget, report },
    openFirst: (a) =>
      new Promise<Opened>((resolve, reject) => {
        openings.set(a.name, { a, resolve, reject, returned: 0 });
      }),
    hedgeDelay: () => 200,
    checkoutHedge: async () => {
      if (opts.checkout === 'none') return undefined;
      const checkout: Checkout = opts.checkout === 'refused' ? { ok: false, kind: 'none', skipped: [] } : { ok: true, lease: lease('b', rec) };
      return { checkout };
    },
    failed: (a) => {
      failed.push(a.name);
      if (opts.failedThrows !== undefined) throw opts.failedThrows;
    },
    startHedge: (got) => new Attempt((got.checkout as { lease: Lease }).lease, clock, Infinity, Infinity, report),
    note: (l) => void noted.push(l.name),
  };
  /** Settles `name`'s opening with a first chunk. */
  const open = (name: string): Opened => {
    const o = openings.get(name)!;
    const iterator: AsyncIterator<CompletionChunk> = {
      next: async () => ({ done: true, value: undefined }),
      return: async () => {
        o.returned++;
        return { done: true, value: undefined };
      },
    };
    const opened: Opened = { a: o.a, iterator, guarded: false, first: { done: false, value: { text: name } } };
    o.resolve(opened);
    return opened;
  };
  const hedgeEvents = (): InspectionEvent[] => seen.filter((e) => e.type.startsWith('pool.hedge'));
  return { clock, rec, r, failed, noted, openings, open, budget, attempt, hedgeEvents };
}

/** Lets the race's awaits run. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('hedgedFirst: the race', () => {
  it('a first chunk before the delay: no hedge, and the delay timer is cleared', async () => {
    const t = racer();
    const p = hedgedFirst(t.r, t.attempt('a'));
    const o = t.open('a');
    await expect(p).resolves.toBe(o);
    expect(t.clock.pendingTimers).toBe(0);
    expect(t.hedgeEvents()).toEqual([]);
  });

  it('a failure before the delay is thrown as it is', async () => {
    const t = racer();
    const p = hedgedFirst(t.r, t.attempt('a'));
    t.openings.get('a')!.reject(new Error('refused'));
    await expect(p).rejects.toThrow('refused');
  });

  it('the hedge wins: the primary is dropped (aborted, its slot back untouched with how long it was silent, its stream closed)', async () => {
    const t = racer();
    await t.clock.advance(1_000); // the race starts at 1 000: the silence is counted from the primary's start
    const a = t.attempt('a');
    const p = hedgedFirst(t.r, a);
    await t.clock.advance(200);
    await flush();
    expect(t.hedgeEvents()).toEqual([{ type: 'pool.hedge_started', requestId: 7, worker: 'a', hedge: 'b', afterMs: 200 }]);
    await t.clock.advance(50);
    const won = t.open('b');
    await expect(p).resolves.toBe(won);
    expect(a.ctl.signal.reason).toBe(HEDGE_LOST);
    expect(t.rec.reported).toEqual([{ name: 'a', outcome: { kind: 'cancelled', atLeastMs: 250 } }]);
    expect(t.r.current).toBe(won.a);
    expect(t.r.hedge).toBeNull();
    expect(t.noted).toEqual(['b']);
    expect(t.hedgeEvents().at(-1)).toEqual({ type: 'pool.hedge_settled', requestId: 7, winner: 'b', result: 'hedge_won' });
    t.open('a'); // the primary answers late: its stream is closed
    await flush();
    expect(t.openings.get('a')!.returned).toBe(1);
  });

  it('the primary wins: the hedge is dropped without a silence bound', async () => {
    const t = racer();
    const a = t.attempt('a');
    const p = hedgedFirst(t.r, a);
    await t.clock.advance(200);
    await flush();
    const won = t.open('a');
    await expect(p).resolves.toBe(won);
    const b = t.openings.get('b')!.a;
    expect(b.ctl.signal.reason).toBe(HEDGE_LOST);
    expect(t.rec.reported).toStrictEqual([{ name: 'b', outcome: { kind: 'cancelled' } }]); // no atLeastMs key at all
    expect(t.hedgeEvents().at(-1)).toMatchObject({ winner: 'a', result: 'primary_won' });
    expect(t.noted).toEqual(['a']);
  });

  it('one fails: it is recorded, no failover is pending, and the other goes on alone to win', async () => {
    const t = racer();
    const a = t.attempt('a');
    const p = hedgedFirst(t.r, a);
    await t.clock.advance(200);
    await flush();
    t.openings.get('a')!.reject(new Error('reset'));
    await flush();
    expect(t.failed).toEqual(['a']);
    expect(t.r.pendingFailover).toBeUndefined();
    expect(t.r.current).toBe(t.openings.get('b')!.a);
    const won = t.open('b');
    await expect(p).resolves.toBe(won);
    expect(t.hedgeEvents().at(-1)).toMatchObject({ winner: 'b', result: 'hedge_won' });
  });

  it('the hedge fails and the primary wins after it', async () => {
    const t = racer();
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    t.openings.get('b')!.reject(new Error('hedge refused'));
    await flush();
    expect(t.failed).toEqual(['b']);
    t.open('a');
    await p;
    expect(t.hedgeEvents().at(-1)).toMatchObject({ winner: 'a', result: 'primary_won' });
  });

  it('both fail: the last failure is thrown, the race settled as both_failed', async () => {
    const t = racer();
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    t.openings.get('a')!.reject(new Error('first'));
    await flush();
    t.openings.get('b')!.reject(new Error('second'));
    await expect(p).rejects.toThrow('second');
    expect(t.hedgeEvents().at(-1)).toEqual({ type: 'pool.hedge_settled', requestId: 7, winner: undefined, result: 'both_failed' });
  });

  it("a failure that ends the request (the caller's mistake) ends the race: the other is dropped, not waited for", async () => {
    const mistake = new Error('400: bad tool schema');
    const t = racer({ failedThrows: mistake });
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    t.openings.get('a')!.reject(new Error('400'));
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Final);
    expect((e as Final).error).toBe(mistake);
    expect(t.openings.get('b')!.a.ctl.signal.reason).toBe(HEDGE_LOST);
  });

  it('the request ended during the race: ENDED is thrown', async () => {
    const t = racer();
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    t.r.ended = 'caller';
    t.open('a');
    await expect(p).rejects.toBe(ENDED);
  });

  it('no budget: no hedge, the primary is waited for', async () => {
    const t = racer({ budget: 0 });
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    expect(t.openings.has('b')).toBe(false);
    const o = t.open('a');
    await expect(p).resolves.toBe(o);
    expect(t.hedgeEvents()).toEqual([]);
  });

  it('ended before the delay: no hedge is started, nothing is spent', async () => {
    const t = racer();
    const p = hedgedFirst(t.r, t.attempt('a'));
    t.r.ended = 'deadline';
    await t.clock.advance(200);
    await flush();
    expect(t.openings.has('b')).toBe(false);
    t.open('a');
    await p;
    expect(t.budget.trySpend()).toBe(true); // the one hedge is still there
  });

  it('no worker with room for the hedge: the hedge is refunded and the primary waited for', async () => {
    const t = racer({ checkout: 'none' });
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    t.open('a');
    await p;
    expect(t.budget.trySpend()).toBe(true); // refunded
    expect(t.rec.reported).toEqual([]);
  });

  it('a hedge slot that came when the request had ended is given back, cancelled, and the hedge refunded', async () => {
    const t = racer();
    t.r.checkoutHedge = async () => {
      t.r.ended = 'caller';
      return { checkout: { ok: true, lease: lease('b', t.rec) } };
    };
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    expect(t.rec.reported).toEqual([{ name: 'b', outcome: { kind: 'cancelled' } }]);
    expect(t.rec.released).toEqual([{ name: 'b', tokens: undefined }]);
    expect(t.budget.trySpend()).toBe(true);
    t.open('a');
    await p;
  });

  it('a refused hedge checkout takes no slot and refunds the hedge', async () => {
    const t = racer({ checkout: 'refused' });
    t.r.checkoutHedge = async () => {
      t.r.ended = 'caller';
      return { checkout: { ok: false, kind: 'none', skipped: [] } };
    };
    const p = hedgedFirst(t.r, t.attempt('a'));
    await t.clock.advance(200);
    await flush();
    expect(t.rec.released).toEqual([]);
    expect(t.budget.trySpend()).toBe(true);
    t.open('a');
    await p;
  });
});

describe('dropLoser', () => {
  it('a loser that never opened: aborted and released; its failed opening is swallowed', async () => {
    const { rec, attempt } = setup();
    const a = attempt('a');
    dropLoser(a, Promise.reject(new Error('late failure')));
    await flush();
    expect(a.ctl.signal.reason).toBe(HEDGE_LOST);
    expect(rec.reported).toEqual([{ name: 'a', outcome: { kind: 'cancelled' } }]);
  });

  it('a loser whose iterator has no return() is left as it is', async () => {
    const { attempt } = setup();
    const a = attempt('a');
    const opened: Opened = { a, iterator: { next: async () => ({ done: true, value: undefined }) }, guarded: false, first: { done: true, value: undefined } };
    dropLoser(a, Promise.resolve(opened), 5);
    await flush();
    expect(a.released).toBe(true);
  });
});
