/**
 * The requests' watchdogs on one timer (`Watchdogs`): each request is looked at when it asked,
 * no sooner; moving it sooner or later, or removing it, is honoured; the clock holds one timer
 * however many requests are watched, and none once none is. A property test checks the heap
 * against a plain list under any sequence of sets, removals and time passing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/index.js';
import { Watchdogs, type Watched } from '../../src/dispatcher/watchdogs.js';

function watched(name: string, seen: Array<[string, number]>, clock: SimulatedClock, then?: (w: Watched) => void): Watched & { name: string } {
  const w = {
    name,
    watchAt: Infinity,
    watchIndex: -1,
    onWatch() {
      seen.push([name, clock.now()]);
      then?.(w);
    },
  };
  return w;
}

describe('Watchdogs', () => {
  it('looks at each at its time, in time order, on one clock timer', async () => {
    const clock = new SimulatedClock();
    const dogs = new Watchdogs(clock);
    const seen: Array<[string, number]> = [];
    for (const [name, at] of [['c', 30], ['a', 10], ['b', 20], ['d', 30]] as const) dogs.set(watched(name, seen, clock), at);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(9);
    expect(seen).toEqual([]);
    await clock.advance(21);
    expect(seen.slice(0, 2)).toEqual([['a', 10], ['b', 20]]);
    expect(seen.slice(2).sort()).toEqual([['c', 30], ['d', 30]]); // a tie: either first
    expect(dogs.size).toBe(0);
    expect(clock.pendingTimers).toBe(0); // nothing watched: no timer left
  });

  it('moves a request sooner or later, and forgets a removed one; the last removal clears the timer', async () => {
    const clock = new SimulatedClock();
    const dogs = new Watchdogs(clock);
    const seen: Array<[string, number]> = [];
    const a = watched('a', seen, clock);
    const b = watched('b', seen, clock);
    const c = watched('c', seen, clock);
    dogs.set(a, 50);
    dogs.set(b, 60);
    dogs.set(c, 70);
    dogs.set(c, 5); // sooner
    dogs.set(a, 100); // later
    dogs.remove(b);
    dogs.remove(b); // twice: nothing
    await clock.advance(200);
    expect(seen).toEqual([['c', 5], ['a', 100]]);
    dogs.set(a, 300);
    dogs.remove(a);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a request may set itself again when looked at; one set sooner while a timer is armed for later re-arms it', async () => {
    const clock = new SimulatedClock();
    const dogs = new Watchdogs(clock);
    const seen: Array<[string, number]> = [];
    let looks = 0;
    const again = watched('again', seen, clock, (w) => {
      if (++looks < 3) dogs.set(w, clock.now() + 10);
    });
    dogs.set(again, 100);
    dogs.set(watched('early', seen, clock), 40);
    await clock.advance(200);
    expect(seen).toEqual([['early', 40], ['again', 100], ['again', 110], ['again', 120]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('matches a plain list under any sequence of sets, removals and time passing (property)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), who: fc.nat({ max: 7 }), at: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ kind: fc.constant('remove' as const), who: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const clock = new SimulatedClock();
        const dogs = new Watchdogs(clock);
        const seen: Array<[string, number]> = [];
        const all = Array.from({ length: 8 }, (_, i) => watched(String(i), seen, clock));
        const model = new Map<number, number>(); // who -> when
        const expected: Array<[string, number]> = [];
        for (const o of ops) {
          if (o.kind === 'set') {
            const at = Math.max(o.at, clock.now() + 1);
            dogs.set(all[o.who]!, at);
            model.set(o.who, at);
          } else if (o.kind === 'remove') {
            dogs.remove(all[o.who]!);
            model.delete(o.who);
          } else {
            const until = clock.now() + o.ms;
            const due = [...model].filter(([, at]) => at <= until).sort((x, y) => x[1] - y[1]);
            for (const [who, at] of due) {
              expected.push([String(who), at]);
              model.delete(who);
            }
            await clock.advance(o.ms);
          }
        }
        // Each looked at once, at its time (ties in any order), and the rest still watched.
        const byTime = (xs: Array<[string, number]>) => [...xs].sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
        expect(byTime(seen)).toEqual(byTime(expected));
        expect(dogs.size).toBe(model.size);
        expect(clock.pendingTimers).toBe(model.size > 0 ? 1 : 0);
      }),
      { numRuns: 200 },
    );
  });
});
