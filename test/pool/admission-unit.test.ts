/**
 * The admission store, the selection and one attempt, each alone.
 *
 * Survivors of mutation testing left as equivalent in `MemoryAdmissionStore`: the conditions of
 * the log's compaction (when to drop the entries that left the window from the array: memory
 * only, every count is the same), the window checks entered for a worker without rate limits
 * (every comparison with `Infinity` passes), and ticket ids counted down instead of up (still
 * unique).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAdmissionStore, RATE_WINDOW_MS, estimateTokens, localFirst, roundRobin, SimulatedClock, WorkerError, type Ticket } from '../../src/index.js';
import { resolveLimits } from '../../src/pool/admission.js';
import { Selection, excluding } from '../../src/pool/selection.js';
import { Attempt } from '../../src/dispatcher/attempt.js';
import type { Lease } from '../../src/pool/types.js';

describe('MemoryAdmissionStore', () => {
  it('takes a slot while under maxConcurrent and gives it back exactly once', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ maxConcurrent: 2 });
    const a = store.tryAcquire('w', limits, 1, 0)!;
    const b = store.tryAcquire('w', limits, 1, 0)!;
    expect(store.tryAcquire('w', limits, 1, 0)).toBeUndefined();
    expect(store.load('w', 0).inflight).toBe(2);
    expect(store.release(a, undefined, 1)).toBe(true);
    expect(store.release(a, undefined, 1)).toBe(false); // twice: refused, nothing counted
    expect(store.load('w', 1).inflight).toBe(1);
    expect(store.tryAcquire('w', limits, 1, 1)).toBeDefined();
    store.release(b, undefined, 2);
  });

  it('rpm: counts admissions in a sliding 60-second window and says when room comes back', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ rpm: 2 });
    const t1 = store.tryAcquire('w', limits, 1, 1_000)!;
    store.release(t1, undefined, 1_001);
    store.tryAcquire('w', limits, 1, 30_000);
    expect(store.tryAcquire('w', limits, 1, 59_999)).toBeUndefined();
    expect(store.nextFree('w', 59_999)).toBe(1_000 + RATE_WINDOW_MS);
    expect(store.tryAcquire('w', limits, 1, 61_000)).toBeDefined();
  });

  it('tpm: the estimate is corrected by reported usage; a request larger than the budget passes an empty window', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ tpm: 100 });
    const t = store.tryAcquire('w', limits, 10, 0)!;
    store.release(t, 90, 1);
    expect(store.load('w', 1).tokensInWindow).toBe(90);
    expect(store.tryAcquire('w', limits, 20, 2)).toBeUndefined();
    expect(store.tryAcquire('w', limits, 500, RATE_WINDOW_MS + 1)).toBeDefined(); // empty window
    expect(estimateTokens(40)).toBe(10);
  });

  it('property: in-flight counts stay exact and limits hold under any sequence of acquire and release', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(5), fc.nat(20_000)), { maxLength: 200 }), (ops) => {
        const store = new MemoryAdmissionStore();
        const limits = resolveLimits({ maxConcurrent: 3, rpm: 4 });
        const held: Ticket[] = [];
        const admitted: number[] = [];
        let now = 0;
        for (const [acquire, pick, dt] of ops) {
          now += dt;
          if (acquire) {
            const t = store.tryAcquire('w', limits, 1, now);
            if (t) {
              held.push(t);
              admitted.push(now);
            }
          } else if (held.length > 0) {
            const [t] = held.splice(pick % held.length, 1);
            expect(store.release(t!, undefined, now)).toBe(true);
          }
          expect(store.load('w', now).inflight).toBe(held.length);
          expect(held.length).toBeLessThanOrEqual(3);
          expect(admitted.filter((a) => a > now - RATE_WINDOW_MS).length).toBeLessThanOrEqual(4);
        }
      }),
    );
  });

  it('a request that fills the token budget exactly is admitted; one token more waits', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ tpm: 100 });
    store.tryAcquire('w', limits, 90, 0);
    expect(store.tryAcquire('w', limits, 11, 1)).toBeUndefined();
    expect(store.tryAcquire('w', limits, 10, 1)).toBeDefined();
  });

  it('reported usage corrects the estimate only while the admission is still in the window', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ tpm: 1_000 });
    const kept = store.tryAcquire('w', limits, 10, 1_000)!;
    store.release(kept, undefined, 2_000); // nothing reported: the estimate stands
    expect(store.load('w', 2_000).tokensInWindow).toBe(10);
    const later = store.tryAcquire('w', limits, 10, 40_000)!;
    store.release(later, 30, 41_000); // reported within its window: 10 becomes 30
    expect(store.load('w', 41_000).tokensInWindow).toBe(40);
    const late = store.tryAcquire('w', limits, 10, 50_000)!;
    // Released exactly when its admission leaves the window: the count is not touched again.
    store.release(late, 90, 50_000 + RATE_WINDOW_MS);
    expect(store.load('w', 50_000 + RATE_WINDOW_MS).tokensInWindow).toBe(0);
  });

  it('counts requests in the window once older ones have left it, and says when room comes back', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ rpm: 10 });
    expect(store.nextFree('w', 0)).toBe(Infinity); // nothing admitted yet
    store.tryAcquire('w', limits, 1, 0);
    store.tryAcquire('w', limits, 1, 30_000);
    expect(store.load('w', 61_000).requestsInWindow).toBe(1);
    expect(store.nextFree('w', 61_000)).toBe(30_000 + RATE_WINDOW_MS);
    expect(store.nextFree('w', 91_000)).toBe(Infinity); // every admission has left the window
  });

  it('keeps no rate window for a worker without rpm or tpm', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ maxConcurrent: 5 });
    store.tryAcquire('w', limits, 100, 0);
    expect(store.load('w', 1)).toEqual({ inflight: 1, requestsInWindow: 0, tokensInWindow: 0 });
    expect(store.nextFree('w', 1)).toBe(Infinity);
  });

  it('counts right over many windows (its log is compacted as admissions leave the window)', () => {
    const store = new MemoryAdmissionStore();
    const limits = resolveLimits({ rpm: 3 });
    for (let minute = 0; minute < 100; minute++) {
      const t = minute * RATE_WINDOW_MS;
      for (let i = 0; i < 3; i++) store.release(store.tryAcquire('w', limits, 1, t + i)!, undefined, t + i);
      expect(store.tryAcquire('w', limits, 1, t + 10)).toBeUndefined();
      expect(store.load('w', t + 10).requestsInWindow).toBe(3);
    }
  });

  it('no limits given is unlimited; limits that are not an object are refused by field', () => {
    expect(resolveLimits(undefined)).toEqual({ maxConcurrent: Infinity, rpm: Infinity, tpm: Infinity });
    expect(resolveLimits({})).toEqual({ maxConcurrent: Infinity, rpm: Infinity, tpm: Infinity });
    for (const bad of [null, 5, 'rpm=5']) {
      expect(() => resolveLimits(bad as never, 'workers[1].limits')).toThrow(
        `invalid workers[1].limits: expected an object { maxConcurrent?, rpm?, tpm? }, received`,
      );
    }
  });

  it('refuses limits that are not whole numbers > 0', () => {
    expect(() => resolveLimits({ rpm: 0 })).toThrow(/invalid limits\.rpm: expected a whole number > 0/);
    expect(() => resolveLimits({ maxConcurrent: 1.5 })).toThrow(/limits\.maxConcurrent/);
  });
});

describe('Selection', () => {
  const candidates = [
    { name: 'local', priority: 10, inflight: 0 },
    { name: 'cloud', priority: 60, inflight: 0 },
  ];

  it('skips a worker that admission refuses, and spills to the next tier', () => {
    const s = new Selection(localFirst as never);
    s.prepare(candidates, []);
    const pick = s.pick(excluding([]), (c) => (c.name === 'local' ? undefined : 'ticket'), false);
    expect(pick).toMatchObject({ kind: 'picked', candidate: { name: 'cloud' }, admitted: 'ticket' });
  });

  it("with overflow 'wait', a full preferred tier means wait, not the next tier", () => {
    const s = new Selection(localFirst as never);
    s.prepare(candidates, []);
    expect(s.pick(excluding([]), (c) => (c.name === 'local' ? undefined : 'ticket'), true)).toEqual({ kind: 'full' });
    // ...unless this request already tried the preferred tier
    expect(s.pick(excluding(['local']), () => 'ticket', true)).toMatchObject({ kind: 'picked', candidate: { name: 'cloud' } });
  });

  it('full when every eligible worker is at its limits; none when nothing is eligible', () => {
    const s = new Selection(roundRobin as never);
    s.prepare(candidates, []);
    expect(s.pick(excluding([]), () => undefined, false)).toEqual({ kind: 'full' });
    expect(s.pick(excluding(['local', 'cloud']), () => 'x', false)).toEqual({ kind: 'none' });
    expect(s.alternatives(['local'], 'cloud')).toBe(0);
    expect(s.alternatives([], 'local')).toBe(1);
  });
});

describe('Attempt', () => {
  function attempt(clock: SimulatedClock, reports: unknown[], firstLimit = 100, idleLimit = 50) {
    const store = new MemoryAdmissionStore();
    const ticket = store.tryAcquire('w', resolveLimits({ maxConcurrent: 1 }), 1, 0)!;
    const lease: Lease = { ticket, name: 'w', worker: {} as never, kind: 'mock', model: undefined, alternatives: 1, store };
    return { a: new Attempt(lease, clock, firstLimit, idleLimit, (name, outcome) => reports.push([name, outcome.kind])), store };
  }

  it('gives its slot back and reports the outcome exactly once', () => {
    const clock = new SimulatedClock();
    const reports: unknown[] = [];
    const { a, store } = attempt(clock, reports);
    a.release({ kind: 'cancelled' });
    a.release({ kind: 'success', firstChunkMs: 1, latencyMs: 2 });
    a.close(false);
    expect(reports).toEqual([['w', 'cancelled']]);
    expect(store.load('w', 0).inflight).toBe(0);
  });

  it('the watchdog view: first-chunk limit, then idle limit, not while the consumer holds a chunk', async () => {
    const clock = new SimulatedClock();
    const { a } = attempt(clock, []);
    expect(a.due(0)).toBe(100);
    const late = a.due(100);
    expect(late).toBeInstanceOf(WorkerError);
    expect((late as WorkerError).kind).toBe('first_chunk_timeout');
    a.chunk(40);
    expect(a.due(1_000)).toBe(1_050); // the consumer holds the chunk: its time is not the worker's
    a.resume(1_000);
    expect((a.due(1_050) as WorkerError).kind).toBe('idle_timeout');
  });

  it('a read is interrupted by an abort even when the worker ignores its signal', async () => {
    const { a } = attempt(new SimulatedClock(), []);
    const never = new Promise<never>(() => {});
    const read = a.read(never);
    a.abort(new Error('stop'));
    await expect(read).rejects.toThrow('stop');
    await expect(a.read(never)).rejects.toThrow('stop'); // and any read after it
  });

  it('closing an attempt the consumer left releases it as cancelled and aborts the worker', () => {
    const reports: unknown[] = [];
    const { a } = attempt(new SimulatedClock(), reports);
    a.close(false);
    expect(reports).toEqual([['w', 'cancelled']]);
    expect(a.ctl.signal.aborted).toBe(true);
  });
});
