import { describe, expect, it, vi } from 'vitest';
import {
  isDeadlineExceededError,
  isNoWorkersAvailableError,
  isStreamAbortedError,
  isStreamInterruptedError,
  isValidationError,
  kill,
  WorkerError,
  type StrategyName,
} from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { drain, hi, useMockPool } from './helpers.js';

const pool = useMockPool();
const start = pool.start;

const flush = () => vi.advanceTimersByTimeAsync(0);


describe.each<StrategyName>(['local_first', 'round_robin', 'least_loaded'])('failover under %s', (strategy) => {
  it('fails over to the next worker when the first fails to start', async () => {
    const a = new MockWorker({ name: 'a', priority: 10, failOnStart: true });
    const b = new MockWorker({ name: 'b', priority: 10, failOnStart: true });
    const c = new MockWorker({ name: 'c', priority: 10, chunks: ['ok'] });
    const { dispatcher } = await start([a, b, c], { strategy });
    for (let i = 0; i < 3; i++) {
      const r = await drain(dispatcher);
      expect(r.error).toBeUndefined();
      expect(r.text).toBe('ok');
      expect(r.chunks.every((ch) => ch.worker === 'c')).toBe(true);
    }
  });

  it('when every worker fails, NoWorkersAvailableError lists each one and why', async () => {
    const a = new MockWorker({ name: 'a', failOnStart: true });
    const b = new MockWorker({ name: 'b', failOnStart: new WorkerError('b', 'connection', 'connection refused') });
    const { dispatcher } = await start([a, b], { strategy });
    const r = await drain(dispatcher);
    expect(isNoWorkersAvailableError(r.error)).toBe(true);
    const attempts = (r.error as { attempts: { worker: string; reason: string }[] }).attempts;
    expect(attempts.map((x) => x.worker).sort()).toEqual(['a', 'b']);
    expect(attempts.find((x) => x.worker === 'b')!.reason).toBe('worker b: connection refused');
    expect(r.chunks).toEqual([]);
  });

  it('never picks an unhealthy worker while a healthy one exists', async () => {
    const sick = new MockWorker({ name: 'sick', priority: 1, health: { status: 'unavailable', reason: 'down' } });
    const fine = new MockWorker({ name: 'fine', priority: 99 });
    const { dispatcher } = await start([sick, fine], { strategy });
    await dispatcher.checkHealth();
    for (let i = 0; i < 5; i++) expect((await drain(dispatcher)).chunks[0]!.worker).toBe('fine');
    expect(sick.calls).toHaveLength(0);
  });
});

describe('pool: timeouts (simulated clock)', () => {
  it('abandons a worker that accepts and stays silent, and tries the next (first-chunk timeout)', async () => {
    const silent = new MockWorker({ name: 'silent', priority: 10, hang: true });
    const backup = new MockWorker({ name: 'backup', priority: 20, chunks: ['saved'] });
    const { dispatcher } = await start([silent, backup], { firstChunkTimeoutMs: 2_000 });
    const p = drain(dispatcher);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(backup.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    const r = await p;
    expect(r.text).toBe('saved');
    expect(silent.calls[0]!.signal.aborted).toBe(true);
    expect(pool.events.find((e) => e.type === 'pool.attempt_failed')).toMatchObject({ worker: 'silent', phase: 'first_chunk' });
  });

  it('gives each attempt its own first-chunk time, counted from its own start', async () => {
    const a = new MockWorker({ name: 'a', priority: 1, hang: true });
    const b = new MockWorker({ name: 'b', priority: 2, hang: true });
    const c = new MockWorker({ name: 'c', priority: 3, chunks: ['third time lucky'] });
    const { dispatcher } = await start([a, b, c], { firstChunkTimeoutMs: 2_000 });
    const p = drain(dispatcher);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(b.calls).toHaveLength(1); // a abandoned at 2000, b started then
    await vi.advanceTimersByTimeAsync(1_999);
    expect(c.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect((await p).text).toBe('third time lucky');
    expect(a.calls[0]!.signal.aborted && b.calls[0]!.signal.aborted).toBe(true);
  });

  it('does not apply the first-chunk timeout to the only worker left (a cold start is no failure)', async () => {
    const cold = new MockWorker({ name: 'cold', chunks: ['warm now'], delayMs: 60_000 });
    const { dispatcher } = await start([cold], { firstChunkTimeoutMs: 1_000, idleTimeoutMs: 120_000 });
    const p = drain(dispatcher);
    await vi.advanceTimersByTimeAsync(60_000);
    const r = await p;
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('warm now');
  });

  it('ends a stream that stalls mid-answer with StreamInterruptedError carrying the partial text (idle timeout)', async () => {
    let release!: () => void;
    const stall = new MockWorker({
      name: 'stall',
      chunks: async function* () {
        yield 'partial ';
        await new Promise<void>((r) => (release = r));
        yield 'never';
      },
    });
    const { dispatcher } = await start([stall], { idleTimeoutMs: 5_000 });
    const p = drain(dispatcher);
    await vi.advanceTimersByTimeAsync(5_000);
    const r = await p;
    release();
    expect(isStreamInterruptedError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ worker: 'stall', partialText: 'partial ' });
    expect(r.chunks.some((c) => c.done)).toBe(false);
    expect((await dispatcher.status()).workers[0]!.inflight).toBe(0);
  });

  it('gives up at the total deadline with DeadlineExceededError', async () => {
    const slow = new MockWorker({ name: 'slow', chunks: ['a', 'b', 'c'], delayMs: 400 });
    const { dispatcher } = await start([slow], { deadlineMs: 1_000 });
    const p = drain(dispatcher);
    await vi.advanceTimersByTimeAsync(1_000);
    const r = await p;
    expect(isDeadlineExceededError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ deadlineMs: 1_000, partialText: 'ab' });
    expect((await dispatcher.status()).workers[0]!.inflight).toBe(0);
  });
});

describe('pool: health', () => {
  it('bounds a hanging health check by its timeout', async () => {
    const hung = new MockWorker({ name: 'hung', hangHealth: true });
    const ok = new MockWorker({ name: 'ok' });
    const { dispatcher } = await start([hung, ok], { healthTimeoutMs: 5_000 });
    const report = dispatcher.checkHealth();
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await report).map((r) => [r.worker, r.health])).toEqual([
      ['hung', { status: 'unavailable', reason: 'health check timed out after 5000 ms' }],
      ['ok', { status: 'available' }],
    ]);
  });

  it('runs periodic checks (default every 30 s) and brings a worker back when one passes', async () => {
    const flaky = new MockWorker({
      name: 'flaky',
      priority: 1,
      health: [{ status: 'unavailable', reason: 'down' }, { status: 'available' }],
    });
    const other = new MockWorker({ name: 'other', priority: 2 });
    const { dispatcher } = await start([flaky, other], { healthIntervalMs: 30_000 });
    // The first round runs when the pool starts: the first request already avoids `flaky`.
    await flush();
    expect(flaky.healthChecks).toBe(1);
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('other');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(flaky.healthChecks).toBe(2);
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('flaky');
    const flakyChanges = pool.events.flatMap((e) => (e.type === 'pool.health_changed' && e.worker === 'flaky' ? [[e.from, e.to]] : []));
    // (the first change, unknown -> unavailable, came with the start, before the events were collected)
    expect(flakyChanges).toEqual([['unavailable', 'available']]);
  });
});

describe('pool: circuit breaker', () => {
  it('opens after consecutive failures, skips the worker, then one trial after the reset time closes it', async () => {
    const flap = new MockWorker({ name: 'flap', priority: 1, failOnStart: true });
    const steady = new MockWorker({ name: 'steady', priority: 2 });
    const { dispatcher } = await start([flap, steady], { failureThreshold: 3, circuitResetMs: 10_000 });
    for (let i = 0; i < 3; i++) await drain(dispatcher);
    expect(flap.calls).toHaveLength(3);
    await flush();
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('open');
    for (let i = 0; i < 5; i++) await drain(dispatcher);
    expect(flap.calls).toHaveLength(3); // skipped while open

    flap.set({ failOnStart: false });
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('half_open');
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('flap'); // the trial
    await flush();
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('closed');
    expect(pool.events.filter((e) => e.type === 'pool.circuit_changed').map((e) => e.type === 'pool.circuit_changed' && e.state)).toEqual([
      'open',
      'half_open',
      'closed',
    ]);
  });

  it('a failed trial opens the circuit again', async () => {
    const flap = new MockWorker({ name: 'flap', priority: 1, failOnStart: true });
    const steady = new MockWorker({ name: 'steady', priority: 2 });
    const { dispatcher } = await start([flap, steady], { failureThreshold: 1, circuitResetMs: 1_000 });
    await drain(dispatcher);
    await vi.advanceTimersByTimeAsync(1_000);
    await drain(dispatcher);
    expect(flap.calls).toHaveLength(2);
    await flush();
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('open');
  });

  it('a passing health check makes an open circuit half-open; only a real request closes it', async () => {
    const flap = new MockWorker({ name: 'flap', priority: 1, failOnStart: 1 });
    const { dispatcher } = await start([flap, new MockWorker({ name: 'x', priority: 2 })], { failureThreshold: 1 });
    await drain(dispatcher);
    await flush();
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('open');
    await dispatcher.checkHealth();
    await flush();
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('half_open');
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('flap'); // the trial, early
    await flush();
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('closed');
  });

  it('a wedged worker whose health check passes is let in for one trial per round, not for every request', async () => {
    // /api/tags answers, chat stays silent: each trial fails, and the circuit opens again at once.
    const wedged = new MockWorker({ name: 'wedged', priority: 1, failOnStart: true });
    const steady = new MockWorker({ name: 'steady', priority: 2 });
    const { dispatcher } = await start([wedged, steady], { failureThreshold: 1 });
    await drain(dispatcher);
    for (let round = 0; round < 3; round++) {
      await flush();
      await dispatcher.checkHealth();
      await flush();
      for (let i = 0; i < 4; i++) expect((await drain(dispatcher)).chunks[0]!.worker).toBe('steady');
    }
    expect(wedged.calls).toHaveLength(1 + 3); // the first failure, then one trial per passing round
    expect((await dispatcher.status()).workers[0]!.circuit).toBe('open');
  });

  it('a 429 cools the worker down for retry-after without counting it as down', async () => {
    const limited = new MockWorker({
      name: 'limited',
      priority: 1,
      failOnStart: 1,
      error: new WorkerError('limited', 'rate_limited', 'HTTP 429', { status: 429, retryAfterMs: 3_000 }),
    });
    const other = new MockWorker({ name: 'other', priority: 2 });
    const { dispatcher } = await start([limited, other], { failureThreshold: 1 });
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('other');
    const s = (await dispatcher.status()).workers[0]!;
    expect(s).toMatchObject({ circuit: 'closed', failures: 0, coolingDownMs: 3_000 });
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('other');
    await vi.advanceTimersByTimeAsync(3_000);
    expect((await drain(dispatcher)).chunks[0]!.worker).toBe('limited');
  });
});

describe('pool: mid-stream failures', () => {
  it('never reports a truncated answer as complete: the stream ends with StreamInterruptedError and the partial text', async () => {
    const breaks = new MockWorker({ name: 'breaks', priority: 1, chunks: ['one ', 'two ', 'three'], failAfter: 2 });
    const other = new MockWorker({ name: 'other', priority: 2 });
    const { dispatcher } = await start([breaks, other]);
    const r = await drain(dispatcher);
    expect(r.text).toBe('one two ');
    expect(r.chunks.some((c) => c.done)).toBe(false);
    expect(isStreamInterruptedError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ worker: 'breaks', partialText: 'one two ' });
    expect(other.calls).toHaveLength(0); // no silent restart from scratch
  });

  it('a stream that ends without its final chunk is an error, not a complete answer', async () => {
    const { dispatcher } = await start([new MockWorker({ name: 't', chunks: ['cut'], truncate: true })]);
    const r = await drain(dispatcher);
    expect(isStreamInterruptedError(r.error)).toBe(true);
    expect((r.error as Error).message).toContain('the stream ended without its final chunk');
  });

  it('with continuation, the next worker continues from the text already emitted, marking the switch', async () => {
    const breaks = new MockWorker({ name: 'breaks', priority: 1, chunks: ['The answer ', 'is '], failAfter: 2 });
    const helper = new MockWorker({ name: 'helper', priority: 2, chunks: ['42.'] });
    const { dispatcher } = await start([breaks, helper], { continuation: { maxSwitches: 1 } });
    const r = await drain(dispatcher);
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('The answer is 42.');
    expect(r.chunks.map((c) => [c.worker, c.segment, c.text])).toEqual([
      ['breaks', 0, 'The answer '],
      ['breaks', 0, 'is '],
      ['helper', 1, '42.'],
      ['helper', 1, ''],
    ]);
    const sent = helper.calls[0]!.messages;
    expect(sent.slice(0, 2)).toEqual([hi[0], { role: 'assistant', content: 'The answer is ' }]);
    expect(sent[2]!.role).toBe('user');
  });

  it('caps continuation at maxSwitches', async () => {
    const w = (name: string, p: number) => new MockWorker({ name, priority: p, chunks: [`${name} `, 'x'], failAfter: 1 });
    const { dispatcher } = await start([w('a', 1), w('b', 2), w('c', 3)], { continuation: { maxSwitches: 1 } });
    const r = await drain(dispatcher);
    expect(r.text).toBe('a b ');
    expect(isStreamInterruptedError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ worker: 'b', partialText: 'a b ' });
  });
});

describe('pool: cancellation and load', () => {
  it("the caller's abort cancels the worker's request, frees its slot, and is never failed over", async () => {
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['a', 'b', 'c'], delayMs: 100 });
    const other = new MockWorker({ name: 'other', priority: 2 });
    const { dispatcher } = await start([slow, other]);
    const ac = new AbortController();
    const p = drain(dispatcher, { signal: ac.signal });
    await vi.advanceTimersByTimeAsync(150);
    expect((await dispatcher.status()).workers[0]!.inflight).toBe(1);
    ac.abort();
    const r = await p;
    expect(isStreamAbortedError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ partialText: 'a' });
    expect(slow.calls[0]!.signal.aborted).toBe(true);
    await flush();
    expect((await dispatcher.status()).workers.map((w) => w.inflight)).toEqual([0, 0]);
    expect(other.calls).toHaveLength(0);
    expect(slow.active).toBe(0);
  });

  it('a consumer that stops reading early frees the slot and cancels the upstream stream', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b', 'c'] });
    const { dispatcher } = await start([w]);
    for await (const _ of dispatcher.dispatchStream(hi)) break;
    await flush();
    expect((await dispatcher.status()).workers[0]).toMatchObject({ inflight: 0, failures: 0 });
    expect(w.cancelled).toBe(1);
  });

  it('least_loaded counts in-flight streams exactly and spreads concurrent requests', async () => {
    const ws = ['a', 'b', 'c'].map((name) => new MockWorker({ name, chunks: ['x'], delayMs: 1_000 }));
    const { dispatcher } = await start(ws, { strategy: 'least_loaded' });
    const streams = Array.from({ length: 6 }, () => drain(dispatcher));
    await vi.advanceTimersByTimeAsync(10);
    expect((await dispatcher.status()).workers.map((w) => w.inflight)).toEqual([2, 2, 2]);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(streams);
    expect((await dispatcher.status()).workers.map((w) => w.inflight)).toEqual([0, 0, 0]);
  });

  it('a slow worker start does not delay other requests (the pool never blocks on I/O)', async () => {
    const slowStart = new MockWorker({ name: 'slow', chunks: ['s'], delayMs: 10_000 });
    const fast = new MockWorker({ name: 'fast', chunks: ['f'] });
    const { dispatcher } = await start([slowStart, fast], { strategy: 'round_robin' });
    const first = drain(dispatcher);
    const second = drain(dispatcher); // one of the two goes to the slow worker
    await vi.advanceTimersByTimeAsync(1);
    const done = await Promise.race([first, second]);
    expect(done.text).toBe('f');
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await Promise.all([first, second])).map((r) => r.text).sort()).toEqual(['f', 's']);
  });
});

describe('pool: supervision', () => {
  it('a crashed pool is restarted and rebuilds its workers from the registry', async () => {
    const a = new MockWorker({ name: 'a', priority: 1 });
    const b = new MockWorker({ name: 'b', priority: 2 });
    const w = await start([a, b]);
    const before = w.system.whereis('cortex.pool')!;
    kill(before);
    await flush();
    const after = w.system.whereis('cortex.pool');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect((await w.dispatcher.status()).workers.map((x) => x.name)).toEqual(['a', 'b']);
    expect((await drain(w.dispatcher)).text).toBe('Hello from a');
  });

  it('a crashed registry restarts the workers and pool after it; workers added at run time survive', async () => {
    const w = await start([new MockWorker({ name: 'a' })]);
    await w.addWorker(new MockWorker({ name: 'late', priority: 1 }));
    kill(w.system.whereis('cortex.registry')!);
    await flush();
    expect((await w.dispatcher.status()).workers.map((x) => x.name).sort()).toEqual(['a', 'late']);
    expect((await drain(w.dispatcher)).chunks[0]!.worker).toBe('late');
  });

  it('refuses a duplicate worker name with a typed error and changes nothing', async () => {
    const w = await start([new MockWorker({ name: 'a' })]);
    await expect(w.addWorker(new MockWorker({ name: 'a' }))).rejects.toThrow('worker name "a" is already registered');
    expect(w.workerNames()).toEqual(['a']);
    expect((await w.dispatcher.status()).workers).toHaveLength(1);
  });

  it('removeWorker takes a worker out of rotation', async () => {
    const w = await start([new MockWorker({ name: 'a', priority: 1 }), new MockWorker({ name: 'b', priority: 2 })]);
    expect(await w.removeWorker('a')).toBe(true);
    await flush();
    expect((await w.dispatcher.status()).workers.map((x) => x.name)).toEqual(['b']);
    expect((await drain(w.dispatcher)).chunks[0]!.worker).toBe('b');
  });
});

describe('dispatcher: bad input', () => {
  it('names the bad field of a message', async () => {
    const { dispatcher } = await start([new MockWorker()]);
    let err: unknown;
    try {
      dispatcher.dispatchStream([{ role: 'user', content: 'ok' }, { role: 'robot' as 'user', content: 'x' }]);
    } catch (e) {
      err = e;
    }
    expect(isValidationError(err)).toBe(true);
    expect((err as { issues: { path: string }[] }).issues[0]!.path).toBe('messages[1].role');
  });

  it('refuses an empty conversation and wrong option types', async () => {
    const { dispatcher } = await start([new MockWorker()]);
    expect(() => dispatcher.dispatchStream([])).toThrow(/messages: at least one message is required/);
    expect(() => dispatcher.dispatchStream(hi, { deadlineMs: -5 })).toThrow(/options.deadlineMs/);
    expect(() => dispatcher.dispatchStream(hi, { signal: 'stop' as never })).toThrow(/options.signal/);
  });
});
