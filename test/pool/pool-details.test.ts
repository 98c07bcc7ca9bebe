/**
 * Pool behaviours that no end-to-end test pinned down (found by mutation testing): the named
 * strategy is the one used, round_robin across an eligible set that empties and refills,
 * `busy` health, one half-open trial at a time, and every field of `status()`.
 */
import { describe, expect, it, vi } from 'vitest';
import { WorkerError, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { drain, useMockPool } from './helpers.js';

const pool = useMockPool();
const start = pool.start;
const flush = () => vi.advanceTimersByTimeAsync(0);
const whoAnswers = async (w: Workers, n: number): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await drain(w.dispatcher)).chunks[0]!.worker);
  return out;
};
/** No pool restart hid a crash: the pool actor never exited during the test. */
const poolRestarts = (): number => pool.events.filter((e) => e.type === 'supervisor.child_restarting' && e.id === 'pool').length;


describe('the named strategy is the one used', () => {
  const workers = () => [new MockWorker({ name: 'a', priority: 10 }), new MockWorker({ name: 'b', priority: 20 }), new MockWorker({ name: 'c', priority: 30 })];

  it('local_first always takes the lowest priority number', async () => {
    const w = await start(workers(), { strategy: 'local_first' });
    expect(await whoAnswers(w, 4)).toEqual(['a', 'a', 'a', 'a']);
    expect((await w.dispatcher.status()).strategy).toBe('local_first');
  });

  it('round_robin takes each in turn, whatever the priority', async () => {
    const w = await start(workers(), { strategy: 'round_robin' });
    expect(await whoAnswers(w, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect((await w.dispatcher.status()).strategy).toBe('round_robin');
  });

  it('least_loaded takes the worker with the fewest streams in flight', async () => {
    const slow = new MockWorker({ name: 'a', priority: 10, delayMs: 1_000 });
    const w = await start([slow, new MockWorker({ name: 'b', priority: 20 })], { strategy: 'least_loaded' });
    const held = w.dispatcher.dispatchStream([{ role: 'user', content: 'x' }]);
    const first = held.next(); // `a` (tie at 0 in flight, lower priority) is now busy
    await flush();
    expect(await whoAnswers(w, 2)).toEqual(['b', 'b']);
    await vi.advanceTimersByTimeAsync(5_000);
    await first;
    await held.return();
    expect((await w.dispatcher.status()).strategy).toBe('least_loaded');
  });
});

describe('round_robin when the eligible set empties and refills', () => {
  it('keeps turning over the workers that are back, and the pool never restarts', async () => {
    const a = new MockWorker({ name: 'a', health: { status: 'available' } });
    const b = new MockWorker({ name: 'b', health: { status: 'available' } });
    const w = await start([a, b], { strategy: 'round_robin' });
    expect(await whoAnswers(w, 2)).toEqual(['a', 'b']);
    a.set({ health: { status: 'unavailable', reason: 'down' } });
    b.set({ health: { status: 'unavailable', reason: 'down' } });
    await w.dispatcher.checkHealth();
    expect((await drain(w.dispatcher)).error).toMatchObject({ code: 'no_workers_available' });
    a.set({ health: { status: 'available' } });
    b.set({ health: { status: 'available' } });
    await w.dispatcher.checkHealth();
    const turns = await whoAnswers(w, 4);
    expect(new Set(turns)).toEqual(new Set(['a', 'b']));
    expect(turns[0]).not.toBe(turns[1]);
    expect(poolRestarts()).toBe(0);
  });
});

describe('busy health', () => {
  it('a busy worker is used only when no available one is left', async () => {
    const busy = new MockWorker({ name: 'busy', priority: 1, health: { status: 'busy', reason: 'queue full' } });
    const free = new MockWorker({ name: 'free', priority: 2 });
    const w = await start([busy, free]);
    await w.dispatcher.checkHealth();
    expect(await whoAnswers(w, 2)).toEqual(['free', 'free']);
    free.set({ failOnStart: true });
    expect((await drain(w.dispatcher)).chunks[0]!.worker).toBe('busy');
    const s = (await w.dispatcher.status()).workers.find((x) => x.name === 'busy')!;
    expect(s).toMatchObject({ health: 'busy', healthReason: 'queue full' });
  });
});

describe('one half-open trial at a time', () => {
  it('while the trial is in flight, other requests go elsewhere; its success closes the circuit', async () => {
    const flap = new MockWorker({ name: 'flap', priority: 1, failOnStart: 1, delayMs: 1_000 });
    const other = new MockWorker({ name: 'other', priority: 2 });
    const w = await start([flap, other], { failureThreshold: 1, circuitResetMs: 5_000 });
    expect((await drain(w.dispatcher)).chunks[0]!.worker).toBe('other'); // flap failed once: open
    await vi.advanceTimersByTimeAsync(5_000); // half-open
    expect((await w.dispatcher.status()).workers[0]!.circuit).toBe('half_open');
    const trial = w.dispatcher.dispatchStream([{ role: 'user', content: 'trial' }]);
    const firstChunk = trial.next();
    await flush();
    expect(flap.active).toBe(1);
    expect(await whoAnswers(w, 3)).toEqual(['other', 'other', 'other']); // not a second trial
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await firstChunk).value).toMatchObject({ worker: 'flap' });
    const rest = (async () => {
      for await (const _ of trial) void _;
    })();
    await vi.advanceTimersByTimeAsync(5_000);
    await rest;
    await flush();
    expect((await w.dispatcher.status()).workers[0]!.circuit).toBe('closed');
  });
});

describe('status() reports every field', () => {
  it('names, kinds, priorities, health, circuit, cool-down, in-flight, counts, errors and latencies', async () => {
    vi.setSystemTime(0);
    const ok = new MockWorker({ name: 'ok', priority: 5, delayMs: 10 });
    const bad = new MockWorker({ name: 'bad', priority: 1, failOnStart: 1, error: new WorkerError('bad', 'http', 'HTTP 500', { status: 500 }) });
    const limited = new MockWorker({
      name: 'limited',
      priority: 3,
      failOnStart: 1,
      error: new WorkerError('limited', 'rate_limited', 'HTTP 429', { status: 429, retryAfterMs: 7_000 }),
    });
    const w = await start([ok, bad, limited], { failureThreshold: 5 });
    await w.dispatcher.checkHealth();
    const answer = drain(w.dispatcher);
    await vi.advanceTimersByTimeAsync(100); // 3 chunks 10 ms apart; the 429's 7 s cool-down has 6.9 s left
    await answer;
    const byName = Object.fromEntries((await w.dispatcher.status()).workers.map((s) => [s.name, s]));
    expect(byName.ok).toEqual({ name: 'ok', kind: 'mock', model: 'mock-model', priority: 5, health: 'available', circuit: 'closed', inflight: 0, successes: 1, failures: 0, latencyMs: 30, firstChunkMs: 10 });
    expect(byName.bad).toEqual({ name: 'bad', kind: 'mock', model: 'mock-model', priority: 1, health: 'available', circuit: 'closed', inflight: 0, successes: 0, failures: 1, lastError: 'worker bad: HTTP 500' });
    expect(byName.limited).toEqual({ name: 'limited', kind: 'mock', model: 'mock-model', priority: 3, health: 'available', circuit: 'closed', coolingDownMs: 6_900, inflight: 0, successes: 0, failures: 0 });
  });
});
