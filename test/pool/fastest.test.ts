/**
 * The latency-aware strategy, `fastest`: pure, so driven here by hand (picks and the samples the
 * pool would report), with properties over random workers and speeds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastest, fastestStrategy, isInvalidArgumentError, startWorkers, type Candidate, type LatencySample, type SelectionStrategy } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const candidates = (n: number): Candidate[] => Array.from({ length: n }, (_, i) => ({ name: `w${i}`, priority: 1, inflight: 0 }));
const none = new Set<string>();

/** Runs `picks` picks, each followed by the sample `speed(name)` gives: how often each worker was picked. */
function drive(s: SelectionStrategy<unknown>, cs: Candidate[], picks: number, speed: (name: string) => LatencySample): Map<string, number> {
  const state = s.prepare(cs, undefined);
  const count = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const c = s.pick(state, none)!;
    count.set(c.name, (count.get(c.name) ?? 0) + 1);
    s.observed!(state, c.name, speed(c.name));
  }
  return count;
}

describe('fastest', () => {
  it('never picks an excluded worker; answers undefined only when all are excluded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (n, excl, picks) => {
        const s = fastest as SelectionStrategy<unknown>;
        const state = s.prepare(candidates(n), undefined);
        const exclude = new Set(excl.filter((i) => i < n).map((i) => `w${i}`));
        for (let i = 0; i < picks; i++) {
          const c = s.pick(state, exclude);
          if (exclude.size === n) expect(c).toBeUndefined();
          else expect(exclude.has(c!.name)).toBe(false);
        }
      }),
    );
  });

  it('sends most requests to the fastest worker, and still tries every worker now and then', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 2, maxLength: 5 }), (speeds) => {
        const s = fastestStrategy({ exploreEvery: 10 }) as SelectionStrategy<unknown>;
        const picks = 200;
        const count = drive(s, candidates(speeds.length), picks, (name) => ({ ok: true, firstChunkMs: speeds[Number(name.slice(1))]!, latencyMs: 2 * speeds[Number(name.slice(1))]! }));
        const best = `w${speeds.indexOf(Math.min(...speeds))}`;
        // Each unmeasured worker goes once, then 9 picks in 10 go to the fastest.
        expect(count.get(best)!).toBeGreaterThanOrEqual(Math.floor(0.9 * picks) - speeds.length);
        for (let i = 0; i < speeds.length; i++) expect(count.get(`w${i}`) ?? 0).toBeGreaterThanOrEqual(Math.floor(picks / 10 / speeds.length) - 1);
      }),
    );
  });

  it('moves away from a worker that fails, and back once it recovers', () => {
    const s = fastestStrategy({ exploreEvery: 5 }) as SelectionStrategy<unknown>;
    const state = s.prepare(candidates(2), undefined);
    let failing = false;
    const run = (n: number): Map<string, number> => {
      const count = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const c = s.pick(state, none)!;
        count.set(c.name, (count.get(c.name) ?? 0) + 1);
        const fast = c.name === 'w0';
        s.observed!(state, c.name, fast && failing ? { ok: false } : { ok: true, firstChunkMs: fast ? 10 : 100, latencyMs: fast ? 20 : 200 });
      }
      return count;
    };
    expect(run(50).get('w0')).toBeGreaterThan(35);
    failing = true;
    run(20);
    expect(run(50).get('w1')).toBeGreaterThan(35); // w0 is only explored
    failing = false;
    run(30); // explored, measured fast again, its average comes down
    expect(run(50).get('w0')).toBeGreaterThan(35);
  });

  it('keeps what it learned when the eligible set changes', () => {
    const s = fastest as SelectionStrategy<unknown>;
    let state = s.prepare(candidates(2), undefined);
    s.pick(state, none);
    s.observed!(state, 'w0', { ok: true, firstChunkMs: 500, latencyMs: 600 });
    s.observed!(state, 'w1', { ok: true, firstChunkMs: 5, latencyMs: 6 });
    state = s.prepare(candidates(2), state);
    expect(s.pick(state, none)!.name).toBe('w1');
  });

  it('refuses bad options', () => {
    for (const o of [{ alpha: 0 }, { alpha: 2 }, { exploreEvery: 1 }, { failurePenaltyMs: -1 }]) {
      let error: unknown;
      try {
        fastestStrategy(o);
      } catch (e) {
        error = e;
      }
      expect(isInvalidArgumentError(error)).toBe(true);
    }
  });

  it('is fed by the pool: each attempt\'s first chunk and duration, and failures', async () => {
    const samples: Array<[string, LatencySample]> = [];
    const spy: SelectionStrategy<unknown> = { ...(fastest as SelectionStrategy<unknown>), observed: (_s, name, sample) => void samples.push([name, sample]) };
    const cortex = await startWorkers({
      workers: [new MockWorker({ name: 'bad', priority: 1, failOnStart: 1 }), new MockWorker({ name: 'good', priority: 2, chunks: ['a', 'b'] })],
      strategy: spy as never,
      healthIntervalMs: 0,
    });
    await cortex.dispatcher.complete([{ role: 'user', content: 'x' }]);
    await cortex.stop();
    expect(samples.map(([n, s]) => [n, s.ok])).toEqual([
      ['bad', false],
      ['good', true],
    ]);
    expect(samples[1]![1].firstChunkMs).toBeGreaterThanOrEqual(0);
    expect(samples[1]![1].latencyMs).toBeGreaterThanOrEqual(samples[1]![1].firstChunkMs!);
  });
});
