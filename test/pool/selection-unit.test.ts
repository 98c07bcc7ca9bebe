/**
 * The selection (`Selection`) alone: the strategy's choice, admission's refusals, the busy
 * workers last, the plan a shared store admits from, and how many alternatives a request has.
 *
 * Survivors of mutation testing left as equivalent: `excluding([])` building an empty set
 * instead of the shared empty `NONE` (the same answers), `NONE.has` answering undefined (falsy,
 * as false), the tiers' initial value before the first `prepare` (the pool prepares before any
 * plan), and skipping a busy worker already marked full (a busy worker is never eligible, so
 * never marked full before the busy pass).
 */
import { describe, expect, it } from 'vitest';
import { type Candidate, type SelectionStrategy } from '../../src/pool/strategies.js';
import { Selection, excluding } from '../../src/pool/selection.js';

const c = (name: string, priority = 10): Candidate => ({ name, priority, inflight: 0 });

/** Picks the first candidate not excluded, in the order given: the test says what the strategy prefers. */
const inOrder: SelectionStrategy<readonly Candidate[]> = {
  name: 'in_order',
  prepare: (cs) => cs,
  pick: (cs, exclude) => cs?.find((x) => !exclude.has(x.name)),
};

function selection(eligible: Candidate[], busy: Candidate[] = [], strategy: SelectionStrategy<never> = inOrder as never): Selection {
  const s = new Selection(strategy as SelectionStrategy<unknown>);
  s.prepare(eligible, busy);
  return s;
}
const admitAll = (x: Candidate): string => `ticket:${x.name}`;

describe('Selection.pick', () => {
  it('before any prepare there is nothing to pick', () => {
    const s = new Selection(inOrder as SelectionStrategy<unknown>);
    expect(s.pick(excluding([]), admitAll, false)).toEqual({ kind: 'none' });
  });

  it("with overflow 'wait', a full worker does not hold back another of the same tier", () => {
    const s = selection([c('a'), c('b'), c('cloud', 60)]);
    expect(s.pick(excluding([]), (x) => (x.name === 'a' ? undefined : admitAll(x)), true)).toMatchObject({ kind: 'picked', candidate: { name: 'b' } });
  });

  it('busy workers come last, admitted like the others', () => {
    const s = selection([c('a')], [c('slow')]);
    expect(s.pick(excluding([]), (x) => (x.name === 'a' ? undefined : admitAll(x)), false)).toEqual({ kind: 'picked', candidate: c('slow'), admitted: 'ticket:slow' });
  });

  it('a busy worker that is excluded is not tried; one at its limits makes the pick full', () => {
    const tried: string[] = [];
    const s = selection([], [c('slow')]);
    expect(s.pick(excluding(['slow']), (x) => (tried.push(x.name), admitAll(x)), false)).toEqual({ kind: 'none' });
    expect(tried).toEqual([]);
    expect(s.pick(excluding([]), () => undefined, false)).toEqual({ kind: 'full' });
  });

  it('tells the strategy of load and latency only when it listens', () => {
    const s = selection([c('a')]);
    expect(s.loadAware).toBe(false);
    s.loadChanged('a', 3);
    s.observed('a', { ok: true, firstChunkMs: 1, latencyMs: 2 });
    expect(s.name).toBe('in_order');
  });
});

describe('Selection.plan (for a shared store that admits the first with room)', () => {
  it("the strategy's choice first, then the other eligible workers by priority and name, then the busy ones", () => {
    const s = selection([c('z', 10), c('cloud-b', 60), c('m', 10), c('cloud-a', 60), c('a', 10)], [c('slow')]);
    // The strategy prefers z (first given); the rest follow by tier, then name.
    expect(s.plan(excluding([]), false).map((x) => x.name)).toEqual(['z', 'a', 'm', 'cloud-a', 'cloud-b', 'slow']);
  });

  it('leaves out excluded workers, and never lists the first twice', () => {
    const s = selection([c('a'), c('b'), c('c')], [c('slow'), c('slower')]);
    expect(s.plan(excluding(['b', 'slower']), false).map((x) => x.name)).toEqual(['a', 'c', 'slow']);
  });

  it("with overflow 'wait', nothing from a worse tier than the strategy's choice, and no busy worker", () => {
    const s = selection([c('a', 10), c('b', 10), c('cloud', 60)], [c('slow')]);
    expect(s.plan(excluding([]), true).map((x) => x.name)).toEqual(['a', 'b']);
    // With the local tier tried, the cloud is the choice and the plan.
    expect(s.plan(excluding(['a', 'b']), true).map((x) => x.name)).toEqual(['cloud']);
  });

  it('only busy workers when nothing eligible is left', () => {
    const s = selection([c('a')], [c('slow'), c('slower')]);
    expect(s.plan(excluding(['a', 'slower']), false).map((x) => x.name)).toEqual(['slow']);
    expect(selection([]).plan(excluding([]), false)).toEqual([]);
  });
});

describe('Selection.alternatives', () => {
  it('counts the eligible workers a request has not tried, besides the one it uses', () => {
    const s = selection([c('a'), c('b'), c('c')]);
    expect(s.alternatives([], 'a')).toBe(2);
    expect(s.alternatives(['b'], 'a')).toBe(1);
    expect(s.alternatives(['a', 'b'], 'a')).toBe(1); // the one in use counts once
    expect(s.alternatives(['gone', 'b'], 'a')).toBe(1); // a worker no longer eligible is not subtracted
    expect(s.alternatives([], 'busy-one')).toBe(3); // using a worker outside the eligible set
    expect(s.alternatives(['a', 'b', 'c'], 'x')).toBe(0);
  });
});
