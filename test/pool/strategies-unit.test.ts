/**
 * The selection strategies alone, at their edges: the order candidates are given in, ties,
 * the decaying averages of `fastest` to the number, option refusals by field, and the shape
 * checks of a custom strategy.
 *
 * Survivors of mutation testing left as equivalent: round_robin's `%` that keeps the cursor in
 * range when the set changes (`takeFrom` takes the index modulo the ring's size anyway);
 * least_loaded raising its floor when the lowest bucket empties, or an empty bucket scanned as
 * one with names (only saves the scan of that bucket on later picks: the same worker is picked),
 * its early answer for an empty set (the scan finds nothing either), `<=` on the floor (the same
 * floor), the optional chaining on a bucket that always exists; `fastest`: a new worker marked
 * as recovered (its averages are empty anyway), the time after the first chunk as a sum
 * instead of a difference (compared only between equal first-chunk times: the same order), the
 * guards of `faster` on an unmeasured `b` (the comparison that follows answers the same), `<`
 * vs `<=` on first-chunk times already known to differ; `resolveStrategy` without its
 * `typeof === 'object'` (the checks of `prepare` and `pick` refuse the same values).
 */
import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError, type InvalidArgumentError } from '../../src/index.js';
import {
  fastestStrategy,
  leastLoaded,
  localFirst,
  resolveStrategy,
  roundRobin,
  type Candidate,
  type LatencySample,
  type SelectionStrategy,
} from '../../src/pool/strategies.js';

const c = (name: string, priority = 10, inflight = 0): Candidate => ({ name, priority, inflight });
const none = new Set<string>();

function picks<S>(s: SelectionStrategy<S>, candidates: Candidate[], n: number): (string | undefined)[] {
  const state = s.prepare(candidates, undefined);
  return Array.from({ length: n }, () => s.pick(state, none)?.name);
}

function refusal(f: () => unknown): InvalidArgumentError {
  try {
    f();
  } catch (e) {
    if (isInvalidArgumentError(e)) return e;
    throw e;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('candidates given out of order', () => {
  it('each strategy orders equal candidates by name', () => {
    const unordered = [c('c'), c('a'), c('b')];
    expect(picks(roundRobin, unordered, 3)).toEqual(['a', 'b', 'c']);
    expect(picks(localFirst, unordered, 3)).toEqual(['a', 'b', 'c']);
    expect(picks(leastLoaded, unordered, 3)).toEqual(['a', 'b', 'c']);
    expect(picks(fastestStrategy(), unordered, 1)).toEqual(['a']); // all unmeasured: a tie, broken by name
  });
  it('local_first orders priority groups by number, not by the order they come in', () => {
    expect(picks(localFirst, [c('x', 30), c('y', 5), c('z', 20)], 1)).toEqual(['y']);
  });
});

describe('local_first keeps its place', () => {
  it('when the set is rebuilt, rotation within a tier goes on where it was', () => {
    const state = localFirst.prepare([c('a'), c('b'), c('c')], undefined);
    localFirst.pick(state, none);
    const next = localFirst.prepare([c('a'), c('b'), c('c')], state);
    expect(localFirst.pick(next, none)?.name).toBe('b');
  });
});

describe('least_loaded at its edges', () => {
  it('ignores a load change for a name it does not know', () => {
    const state = leastLoaded.prepare([c('a'), c('b')], undefined);
    leastLoaded.loadChanged!(state, 'ghost', 5);
    expect([leastLoaded.pick(state, none)?.name, leastLoaded.pick(state, none)?.name]).toEqual(['a', 'b']);
  });
  it('a change to the same load keeps the worker\'s place in its tie group', () => {
    const state = leastLoaded.prepare([c('a'), c('b')], undefined);
    leastLoaded.loadChanged!(state, 'a', 0);
    expect(leastLoaded.pick(state, none)?.name).toBe('a');
  });
  it('a worker whose load drops below every other is picked next', () => {
    const state = leastLoaded.prepare([c('a', 10, 2), c('b', 10, 1)], undefined);
    leastLoaded.loadChanged!(state, 'a', 0);
    expect(leastLoaded.pick(state, none)?.name).toBe('a');
  });
  it('climbs past empty loads to the next worker', () => {
    const state = leastLoaded.prepare([c('a'), c('b', 10, 3)], undefined);
    leastLoaded.loadChanged!(state, 'a', 5);
    expect(leastLoaded.pick(state, none)?.name).toBe('b');
    expect(leastLoaded.pick(state, new Set(['b']))?.name).toBe('a');
  });
});

describe('fastest to the number', () => {
  /** A `fastest` state with two workers, `a` and `b`, fed the given samples. */
  function fed(options: Parameters<typeof fastestStrategy>[0], samples: Array<[string, LatencySample]>): string | undefined {
    const s = fastestStrategy({ exploreEvery: 1000, ...options });
    const state = s.prepare([c('a'), c('b')], undefined);
    for (const [name, sample] of samples) s.observed!(state, name, sample);
    return s.pick(state, none)?.name;
  }
  const ok = (firstChunkMs: number, latencyMs = firstChunkMs): LatencySample => ({ ok: true, firstChunkMs, latencyMs });

  it('decays: a second sample moves the average by alpha of the difference', () => {
    // a: 100 then 200 at alpha 0.5 -> 150.
    expect(fed({ alpha: 0.5 }, [['a', ok(100)], ['a', ok(200)], ['b', ok(149)]])).toBe('b');
    expect(fed({ alpha: 0.5 }, [['a', ok(100)], ['a', ok(200)], ['b', ok(151)]])).toBe('a');
  });
  it('alpha 1 keeps only the newest sample', () => {
    expect(fed({ alpha: 1 }, [['a', ok(100)], ['a', ok(300)], ['b', ok(200)]])).toBe('b');
  });
  it('breaks a tie on first chunk by the time after it, then by name', () => {
    expect(fed({}, [['a', ok(100, 300)], ['b', ok(100, 200)]])).toBe('b');
    expect(fed({}, [['a', ok(100, 200)], ['b', ok(100, 300)]])).toBe('a');
    expect(fed({}, [['a', ok(100, 200)], ['b', ok(100, 200)]])).toBe('a');
    // No time after the first chunk measured counts as none.
    expect(fed({}, [['a', { ok: true, firstChunkMs: 100 }], ['b', ok(100, 101)]])).toBe('a');
  });
  it('a success without a first chunk counts as the failure penalty', () => {
    expect(fed({ failurePenaltyMs: 1000 }, [['a', { ok: true }], ['b', ok(999)]])).toBe('b');
    expect(fed({ failurePenaltyMs: 1000 }, [['a', { ok: true }], ['b', ok(1001)]])).toBe('a');
  });
  it('a failure counts as the penalty, or its own wait when that was longer', () => {
    expect(fed({ failurePenaltyMs: 1000 }, [['a', { ok: false }], ['b', ok(999)]])).toBe('b');
    expect(fed({ failurePenaltyMs: 1000 }, [['a', { ok: false }], ['b', ok(1001)]])).toBe('a');
    expect(fed({ failurePenaltyMs: 1000 }, [['a', { ok: false, firstChunkMs: 5000 }], ['b', ok(4000)]])).toBe('b');
  });
  it('the first success after a failure starts the averages afresh', () => {
    // Without the fresh start a's average would mix in the failure (at alpha 0.3: about 2 150).
    expect(fed({}, [['a', ok(50, 60)], ['a', { ok: false }], ['a', ok(100, 500)], ['b', ok(150)]])).toBe('a');
    // Its time after the first chunk starts afresh too: 400, not 205 (a mix with the old 10).
    expect(fed({ alpha: 0.5 }, [['a', ok(50, 60)], ['a', { ok: false }], ['a', ok(100, 500)], ['b', ok(100, 400)]])).toBe('b');
  });
  it('a failure is remembered across a rebuild of the set: the next success still starts afresh', () => {
    const s = fastestStrategy();
    let state = s.prepare([c('a'), c('b')], undefined);
    s.observed!(state, 'a', ok(50, 60));
    s.observed!(state, 'a', { ok: false });
    state = s.prepare([c('a'), c('b')], state);
    s.observed!(state, 'a', ok(100, 500));
    s.observed!(state, 'b', ok(150));
    expect(s.pick(state, none)?.name).toBe('a');
  });
  it('the time after the first chunk is measured only when both times are known', () => {
    // a: first 1000, 50 after it. b: first 1000 too (a success without a first chunk counts
    // as the penalty), its time after unknown: counted as none, so b goes first.
    expect(fed({ failurePenaltyMs: 1000 }, [['a', ok(1000, 1050)], ['b', { ok: true, latencyMs: 10 }]])).toBe('b');
    expect(fed({}, [['a', ok(1000, 1050)], ['b', { ok: true, firstChunkMs: 1000 }]])).toBe('b');
  });
  it('an unmeasured worker goes before a measured one, whatever their names', () => {
    expect(fed({}, [['a', ok(1)]])).toBe('b');
    expect(fed({}, [['b', ok(1)]])).toBe('a');
  });
  it('ignores samples for a name it does not know', () => {
    expect(fed({}, [['ghost', ok(1)], ['a', ok(100)], ['b', ok(50)]])).toBe('b');
  });
  it('every exploreEvery-th pick goes to the worker picked least recently', () => {
    const s = fastestStrategy({ exploreEvery: 2 });
    const state = s.prepare([c('a'), c('b'), c('c')], undefined);
    s.observed!(state, 'a', ok(10));
    s.observed!(state, 'b', ok(20));
    s.observed!(state, 'c', ok(30));
    // picks 1..6: 1 a (fastest), 2 explores b (never picked, b before c by name), 3 a, 4 explores c, 5 a, 6 explores b.
    expect(Array.from({ length: 6 }, () => s.pick(state, none)?.name)).toEqual(['a', 'b', 'a', 'c', 'a', 'b']);
  });
  it('refuses each bad option by name, and accepts the edges', () => {
    expect(refusal(() => fastestStrategy({ alpha: 0 })).field).toBe('alpha');
    expect(refusal(() => fastestStrategy({ alpha: 1.01 })).message).toBe('invalid alpha: expected a number in (0, 1], received 1.01');
    expect(refusal(() => fastestStrategy({ alpha: Number.NaN })).field).toBe('alpha');
    expect(refusal(() => fastestStrategy({ exploreEvery: 1 })).message).toBe('invalid exploreEvery: expected a whole number >= 2, received 1');
    expect(refusal(() => fastestStrategy({ exploreEvery: 2.5 })).field).toBe('exploreEvery');
    expect(refusal(() => fastestStrategy({ failurePenaltyMs: 0 })).message).toBe('invalid failurePenaltyMs: expected a number of ms > 0, received 0');
    expect(refusal(() => fastestStrategy({ failurePenaltyMs: Infinity })).field).toBe('failurePenaltyMs');
    expect(fastestStrategy({ alpha: 1, exploreEvery: 2, failurePenaltyMs: 1 }).name).toBe('fastest');
  });
});

describe('resolveStrategy', () => {
  it('maps each name to its built-in, and no name to local_first', () => {
    expect(['local_first', 'round_robin', 'least_loaded', 'fastest', undefined].map((n) => resolveStrategy(n as never).name)).toEqual([
      'local_first',
      'round_robin',
      'least_loaded',
      'fastest',
      'local_first',
    ]);
  });
  it('gives each pool its own fastest state holder', () => {
    expect(resolveStrategy('fastest')).not.toBe(resolveStrategy('fastest'));
  });
  it('takes a custom strategy as it is', () => {
    const custom: SelectionStrategy<null> = { name: 'mine', prepare: () => null, pick: () => undefined };
    expect(resolveStrategy(custom as SelectionStrategy<never>)).toBe(custom);
  });
  it('refuses an unknown name, null, and an object without prepare or pick', () => {
    const expected = "invalid strategy: expected 'local_first', 'round_robin', 'least_loaded', 'fastest' or a SelectionStrategy, received";
    for (const bad of ['fastest_first', null, { name: 'x', pick: () => undefined }, { name: 'x', prepare: () => null }, { name: 'x', prepare: 1, pick: () => undefined }]) {
      const e = refusal(() => resolveStrategy(bad as never));
      expect(e.field).toBe('strategy');
      expect(e.message.startsWith(expected)).toBe(true);
    }
  });
});
