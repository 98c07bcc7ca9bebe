/**
 * Hedged requests (opt-in): when a worker sends no first chunk within the hedge delay, the same
 * request starts on the next worker; the first to send a chunk wins, the other is aborted at once
 * and not counted as a failure; a budget bounds the extra requests; a request marked
 * `sideEffects: true` is never hedged. On fake timers: times here are exact.
 */
import { describe, expect, it, vi } from 'vitest';
import { WorkerError } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { drain, useMockPool } from './helpers.js';

const pool = useMockPool();
const hedges = () => pool.events.filter((e) => e.type === 'pool.hedge_started' || e.type === 'pool.hedge_settled');

describe('hedged requests', () => {
  it('a slow first chunk is hedged on the next worker after the delay; the hedge wins and the slow one is aborted, not failed', async () => {
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['late'], delayMs: 5_000 });
    const quick = new MockWorker({ name: 'quick', priority: 2, chunks: ['quick', ' answer'], delayMs: 10 });
    const cortex = await pool.start([slow, quick], { hedge: { afterMs: 100, budget: 1 } });
    const p = drain(cortex.dispatcher);
    await vi.advanceTimersByTimeAsync(99);
    expect(quick.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(quick.calls).toHaveLength(1); // the hedge started at exactly 100 ms
    await vi.advanceTimersByTimeAsync(20);
    const r = await p;
    expect(r.text).toBe('quick answer');
    expect(r.chunks.every((c) => c.worker === 'quick')).toBe(true);
    expect(slow.calls[0]!.signal.aborted).toBe(true); // its backend sees the abort at once
    expect(slow.active).toBe(0);
    expect(hedges()).toEqual([
      { type: 'pool.hedge_started', requestId: expect.any(Number), worker: 'slow', hedge: 'quick', afterMs: 100 },
      { type: 'pool.hedge_settled', requestId: expect.any(Number), winner: 'quick', result: 'hedge_won' },
    ]);
    const status = await cortex.dispatcher.status();
    expect(status.workers.find((w) => w.name === 'slow')).toMatchObject({ failures: 0, inflight: 0, circuit: 'closed' });
    expect(pool.events.filter((e) => e.type === 'pool.attempt_failed')).toEqual([]);
  });

  it('a first chunk within the delay starts no hedge; a primary that answers first after the hedge started wins it', async () => {
    const primary = new MockWorker({ name: 'primary', priority: 1, chunks: ['p'], delayMs: 50 });
    const other = new MockWorker({ name: 'other', priority: 2, chunks: ['o'], delayMs: 1_000 });
    const cortex = await pool.start([primary, other], { hedge: { afterMs: 100, budget: 1 } });
    const fast = drain(cortex.dispatcher);
    await vi.advanceTimersByTimeAsync(60);
    expect((await fast).text).toBe('p');
    expect(other.calls).toHaveLength(0);
    primary.set({ delayMs: 300 });
    const p = drain(cortex.dispatcher);
    await vi.advanceTimersByTimeAsync(300);
    const r = await p;
    expect(r.text).toBe('p');
    expect(other.calls).toHaveLength(1);
    expect(other.calls[0]!.signal.aborted).toBe(true);
    expect(hedges().at(-1)).toMatchObject({ winner: 'primary', result: 'primary_won' });
  });

  it('the budget bounds extra requests: at most budget x requests (40 at once at 0.1: 4)', async () => {
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['s'], delayMs: 500 });
    const quick = new MockWorker({ name: 'quick', priority: 2, chunks: ['q'] });
    const cortex = await pool.start([slow, quick], { hedge: { afterMs: 100, budget: 0.1 } });
    const all = Array.from({ length: 40 }, () => drain(cortex.dispatcher));
    await vi.advanceTimersByTimeAsync(600);
    for (const r of await Promise.all(all)) expect(r.error).toBeUndefined();
    expect(quick.calls).toHaveLength(4); // 10 % of 40 (the floor of one a second has not added one within 0.6 s)
    expect(pool.events.filter((e) => e.type === 'pool.hedge_started')).toHaveLength(4);
  });

  it('a quiet pool may still hedge: the budget has a floor of one hedge a second, and saves up at most 10', async () => {
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['s'], delayMs: 500 });
    const quick = new MockWorker({ name: 'quick', priority: 2, chunks: ['q'] });
    const cortex = await pool.start([slow, quick], { hedge: { afterMs: 100, budget: 0.01 } });
    for (let i = 0; i < 5; i++) {
      const p = drain(cortex.dispatcher);
      await vi.advanceTimersByTimeAsync(2_000); // one request every 2 s: 0.01 a request would never hedge
      expect((await p).text).toBe(i === 0 ? 's' : 'q'); // the first comes before any time has passed
    }
    await vi.advanceTimersByTimeAsync(60_000); // a quiet minute saves up 10, not 60
    const burst = Array.from({ length: 30 }, () => drain(cortex.dispatcher));
    await vi.advanceTimersByTimeAsync(600);
    expect((await Promise.all(burst)).filter((r) => r.text === 'q')).toHaveLength(10);
  });

  it('a request marked sideEffects is never hedged', async () => {
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['s'], delayMs: 500 });
    const quick = new MockWorker({ name: 'quick', priority: 2, chunks: ['q'] });
    const cortex = await pool.start([slow, quick], { hedge: { afterMs: 100, budget: 1 } });
    const p = drain(cortex.dispatcher, { sideEffects: true });
    await vi.advanceTimersByTimeAsync(500);
    expect((await p).text).toBe('s');
    expect(quick.calls).toHaveLength(0);
  });

  it("'p95' waits for the worker's recent 95th percentile time to first chunk (the fallback until 20 samples)", async () => {
    const w = new MockWorker({ name: 'w', priority: 1, chunks: ['w'], delayMs: 40 });
    const backup = new MockWorker({ name: 'backup', priority: 2, chunks: ['b'] });
    const cortex = await pool.start([w, backup], { hedge: { afterMs: 'p95', fallbackMs: 300, budget: 1 } });
    for (let i = 0; i < 20; i++) {
      w.set({ delayMs: i === 19 ? 60 : 40 }); // one slow sample among 20: the p95 (nearest rank) is 40
      const p = drain(cortex.dispatcher);
      await vi.advanceTimersByTimeAsync(60);
      await p;
    }
    expect(backup.calls).toHaveLength(0); // under the 300 ms fallback while samples were few
    w.set({ delayMs: 1_000 });
    const p = drain(cortex.dispatcher);
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await p).text).toBe('b');
    expect(pool.events.find((e) => e.type === 'pool.hedge_started')).toMatchObject({ afterMs: 40 });
  });

  it('a hedge that fails leaves the primary to answer; when both fail the request fails over to the next worker', async () => {
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['slow but sure'], delayMs: 500 });
    const broken = new MockWorker({ name: 'broken', priority: 2, failOnStart: true });
    const last = new MockWorker({ name: 'last', priority: 3, chunks: ['last resort'] });
    const cortex = await pool.start([slow, broken, last], { hedge: { afterMs: 100, budget: 1 } });
    const p = drain(cortex.dispatcher);
    await vi.advanceTimersByTimeAsync(500);
    expect((await p).text).toBe('slow but sure');
    expect(last.calls).toHaveLength(0);
    slow.set({
      chunks: async function* () {
        await new Promise((r) => setTimeout(r, 500));
        yield* [] as string[];
        throw new WorkerError('slow', 'http', 'broke before its first chunk', { status: 500 });
      },
    });
    const q = drain(cortex.dispatcher);
    await vi.advanceTimersByTimeAsync(500);
    const r = await q;
    expect(r.text).toBe('last resort');
    expect(hedges().at(-1)).toMatchObject({ winner: undefined, result: 'both_failed' });
  });

  it('the caller aborting during the race ends both attempts', async () => {
    const a = new MockWorker({ name: 'a', priority: 1, hang: true });
    const b = new MockWorker({ name: 'b', priority: 2, hang: true });
    const cortex = await pool.start([a, b], { hedge: { afterMs: 100, budget: 1 }, firstChunkTimeoutMs: 60_000 });
    const ctl = new AbortController();
    const p = drain(cortex.dispatcher, { signal: ctl.signal });
    await vi.advanceTimersByTimeAsync(150);
    expect(b.calls).toHaveLength(1);
    ctl.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect((await p).error).toMatchObject({ code: 'stream_aborted' });
    expect(a.calls[0]!.signal.aborted && b.calls[0]!.signal.aborted).toBe(true);
    const status = await cortex.dispatcher.status();
    expect(status.workers.map((w) => w.inflight)).toEqual([0, 0]);
  });
});
