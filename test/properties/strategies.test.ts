import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leastLoaded, roundRobin, type Candidate } from '../../src/index.js';
import { builtInStrategies } from '../pool/helpers.js';

const candidates = fc
  .uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,4}$/), priority: fc.integer({ min: 0, max: 3 }), inflight: fc.nat({ max: 5 }) }), {
    selector: (c) => c.name,
    minLength: 1,
    maxLength: 8,
  })
  .map((cs) => cs as Candidate[]);

describe.each(builtInStrategies)('properties of %s', (_n, strategy) => {
  it('picks an eligible, non-excluded worker whenever one exists, and only then', () => {
    fc.assert(
      fc.property(candidates, fc.array(fc.nat()), fc.nat({ max: 20 }), (cs, ex, rounds) => {
        const exclude = new Set(ex.map((i) => cs[i % cs.length]!.name));
        const state = strategy.prepare(cs, undefined);
        for (let i = 0; i <= rounds; i++) {
          const c = strategy.pick(state, exclude);
          if (cs.every((x) => exclude.has(x.name))) expect(c).toBeUndefined();
          else {
            expect(c).toBeDefined();
            expect(exclude.has(c!.name)).toBe(false);
            expect(cs.map((x) => x.name)).toContain(c!.name);
          }
        }
      }),
    );
  });
});

describe('round_robin is fair over any window', () => {
  it('every window of n picks holds each of the n workers once', () => {
    fc.assert(
      fc.property(candidates, fc.nat({ max: 30 }), fc.integer({ min: 1, max: 5 }), (cs, skip, k) => {
        const state = roundRobin.prepare(cs, undefined);
        for (let i = 0; i < skip; i++) roundRobin.pick(state, new Set());
        const picks = Array.from({ length: cs.length * k }, () => roundRobin.pick(state, new Set())!.name);
        for (let start = 0; start + cs.length <= picks.length; start++) {
          expect(new Set(picks.slice(start, start + cs.length)).size).toBe(cs.length);
        }
      }),
    );
  });
});

describe('least_loaded counts exactly', () => {
  it('picks a least-loaded worker and load never goes negative, over any sequence of starts and ends', () => {
    fc.assert(
      fc.property(candidates, fc.array(fc.oneof(fc.constant<'start'>('start'), fc.nat({ max: 7 })), { maxLength: 60 }), (cs, ops) => {
        const zero = cs.map((c) => ({ ...c, inflight: 0 }));
        const state = leastLoaded.prepare(zero, undefined);
        const load = new Map(zero.map((c) => [c.name, 0]));
        for (const op of ops) {
          if (op === 'start') {
            const c = leastLoaded.pick(state, new Set())!;
            expect(load.get(c.name)).toBe(Math.min(...load.values()));
            load.set(c.name, load.get(c.name)! + 1);
            leastLoaded.loadChanged!(state, c.name, load.get(c.name)!);
          } else {
            const name = zero[op % zero.length]!.name;
            if (load.get(name)! === 0) continue; // nothing in flight there: a release cannot happen
            load.set(name, load.get(name)! - 1);
            leastLoaded.loadChanged!(state, name, load.get(name)!);
          }
          for (const v of load.values()) expect(v).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});
