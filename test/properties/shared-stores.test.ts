/**
 * The two shared stores, one contract, on random histories: groups of admissions and releases
 * asked at the same moment (the Redis store sends each group in one script call), time moving
 * between groups. MemoryStore is the reference; a real redis-server must give every admission
 * and release the same answer, in the same order. Leases are compared by the order they were
 * taken, not by their ids. Time jumps past the lease time too (as for an instance that died):
 * leases are 30 s, so the heartbeat (every 10 s of real time) renews none during a run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useRedisServer } from '../support/redis.js';
import { fuzz } from '../support/fuzz.js';
import { MemoryStore, RedisStore, type Admission, type ResolvedLimits, type Settlement, type SharedLease, type SharedStore } from '../../src/index.js';

const redis = useRedisServer();
const RULES = { failureThreshold: 2, resetMs: 500 };
const WORKERS = ['w0', 'w1', 'w2'];

type Op =
  | { readonly op: 'admit'; readonly workers: readonly number[]; readonly tokens: number; readonly waits: boolean }
  | { readonly op: 'release'; readonly lease: number; readonly settlement: Settlement };

const settlement: fc.Arbitrary<Settlement> = fc.oneof(
  fc.record({ kind: fc.constant('success' as const), tokens: fc.integer({ min: 0, max: 50 }) }),
  fc.constant({ kind: 'cancelled' as const }),
  fc.constant({ kind: 'unused' as const }),
  fc.record({ kind: fc.constant('failure' as const), error: fc.constantFrom('http', 'connection') }),
  fc.record({ kind: fc.constant('rate_limited' as const), restMs: fc.integer({ min: 1, max: 300 }), reason: fc.constant('429') }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('admit' as const), workers: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }), tokens: fc.integer({ min: 1, max: 40 }), waits: fc.boolean() }),
  fc.record({ op: fc.constant('release' as const), lease: fc.nat(), settlement }),
);
/** Groups of operations asked together, and the time that passes after each group. */
const history = fc.array(fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 6 }), then: fc.constantFrom(0, 1, 50, 300, 1_000, 61_000) }), { minLength: 1, maxLength: 12 });
const limitsOf = fc.array(fc.record({ maxConcurrent: fc.constantFrom(1, 2, 3, Infinity), rpm: fc.constantFrom(2, 5, Infinity), tpm: fc.constantFrom(30, 100, Infinity) }), { minLength: 3, maxLength: 3 });

/** Plays a history on one store; returns every answer, leases named by the order they were taken. */
async function play(store: SharedStore, steps: Array<{ ops: Op[]; then: number }>, limits: ResolvedLimits[], clock: { t: number }): Promise<unknown[]> {
  const leases: SharedLease[] = [];
  const released = new Set<number>();
  const out: unknown[] = [];
  const name = (a: Admission): unknown => (a.kind === 'admitted' ? { ...a, lease: leases.push(a.lease) - 1 } : a);
  for (const step of steps) {
    const asked = step.ops.map((o) => {
      if (o.op === 'admit') return store.admit({ candidates: o.workers.map((i) => ({ name: WORKERS[i]!, limits: limits[i]! })), tokens: o.tokens, waits: o.waits }).then(name);
      const i = leases.length === 0 ? -1 : o.lease % leases.length;
      if (i < 0 || released.has(i)) return Promise.resolve('no lease');
      released.add(i);
      return store.release(leases[i]!, o.settlement, RULES);
    });
    out.push(await Promise.all(asked));
    clock.t += step.then;
  }
  out.push(await store.counters(WORKERS));
  return out;
}

describe('MemoryStore and RedisStore, property', () => {
  let prefix = 0;
  it('answer every admission and release alike, in order, whether asked one by one or together', async () => {
    await fc.assert(
      fc.asyncProperty(history, limitsOf, async (steps, limits) => {
        const memClock = { t: 1_700_000_000_000 };
        const redisClock = { t: 1_700_000_000_000 };
        const memory = new MemoryStore({ now: () => memClock.t, leaseMs: 30_000 });
        const shared = new RedisStore({ url: redis().url, prefix: `prop${++prefix}`, now: () => redisClock.t, leaseMs: 30_000, timeoutMs: 2_000 });
        try {
          expect(await shared.ready()).toBe(true);
          const resolved = limits as ResolvedLimits[];
          expect(await play(shared, steps, resolved, redisClock)).toEqual(await play(memory, steps, resolved, memClock));
        } finally {
          await memory.close();
          await shared.close();
        }
      }),
      fuzz(40),
    );
  });
});
