import { describe, expect, it } from 'vitest';
import { leastLoaded, localFirst, roundRobin, type Candidate, type SelectionStrategy } from '../../src/index.js';
import { builtInStrategies } from './helpers.js';

const c = (name: string, priority = 10, inflight = 0): Candidate => ({ name, priority, inflight });
const none = new Set<string>();

function picks<S>(s: SelectionStrategy<S>, candidates: Candidate[], n: number, exclude = none): (string | undefined)[] {
  const state = s.prepare(candidates, undefined);
  return Array.from({ length: n }, () => s.pick(state, exclude)?.name);
}

describe.each(builtInStrategies)('every strategy: %s', (_name, s) => {
  it('picks nothing from an empty set', () => {
    expect(picks(s, [], 1)).toEqual([undefined]);
  });
  it('never picks an excluded candidate', () => {
    expect(picks(s, [c('a'), c('b'), c('c')], 6, new Set(['a', 'c']))).toEqual(Array(6).fill('b'));
  });
  it('picks nothing when every candidate is excluded', () => {
    expect(picks(s, [c('a'), c('b')], 1, new Set(['a', 'b']))).toEqual([undefined]);
  });
  it('spreads equal candidates instead of always taking the first', () => {
    expect(new Set(picks(s, [c('a'), c('b'), c('c')], 3))).toEqual(new Set(['a', 'b', 'c']));
  });
});

describe('round_robin', () => {
  it('rotates truly: 1 to A, 2 to B, 3 to C, 4 to A', () => {
    expect(picks(roundRobin, [c('a'), c('b', 99), c('c', 1)], 4)).toEqual(['a', 'b', 'c', 'a']);
  });
  it('keeps its place when the set changes', () => {
    const state = roundRobin.prepare([c('a'), c('b'), c('c')], undefined);
    roundRobin.pick(state, none);
    const next = roundRobin.prepare([c('a'), c('b'), c('c'), c('d')], state);
    expect(roundRobin.pick(next, none)?.name).toBe('b');
  });
});

describe('local_first', () => {
  it('prefers the lowest priority number and rotates ties', () => {
    expect(picks(localFirst, [c('cloud', 50), c('l2', 10), c('l1', 10)], 4)).toEqual(['l1', 'l2', 'l1', 'l2']);
  });
  it('falls to the next priority when the preferred are excluded', () => {
    expect(picks(localFirst, [c('cloud', 50), c('local', 10)], 1, new Set(['local']))).toEqual(['cloud']);
  });
});

describe('least_loaded', () => {
  it('picks the worker with the fewest streams in flight', () => {
    expect(picks(leastLoaded, [c('a', 10, 3), c('b', 10, 1), c('c', 10, 2)], 1)).toEqual(['b']);
  });
  it('follows load changes exactly', () => {
    const state = leastLoaded.prepare([c('a'), c('b')], undefined);
    const first = leastLoaded.pick(state, none)!.name;
    leastLoaded.loadChanged!(state, first, 1);
    const second = leastLoaded.pick(state, none)!.name;
    expect(second).not.toBe(first);
    leastLoaded.loadChanged!(state, second, 2);
    expect(leastLoaded.pick(state, none)!.name).toBe(first);
    leastLoaded.loadChanged!(state, second, 0);
    expect(leastLoaded.pick(state, none)!.name).toBe(second);
  });
});
