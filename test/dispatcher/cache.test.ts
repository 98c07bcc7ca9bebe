/**
 * The response cache (opt-in): a complete answer is replayed for the same request, marked
 * `cached`, without asking a worker; errors, truncated and continued answers are never kept.
 */
import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError, startWorkers, type StreamChunk, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const hi = [{ role: 'user' as const, content: 'What is OTP?' }];

async function chunks(cortex: Workers, options: Parameters<Workers['dispatcher']['dispatchStream']>[1] = {}, messages = hi): Promise<StreamChunk[]> {
  const out: StreamChunk[] = [];
  for await (const c of cortex.dispatcher.dispatchStream(messages, options)) out.push(c);
  return out;
}

describe('response cache', () => {
  it('replays a complete answer for the same request, marked cached, without asking a worker', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['Open', ' Telecom', ' Platform'], usage: { promptTokens: 5, completionTokens: 3 } });
    const cortex = await startWorkers({ workers: [w], healthIntervalMs: 0, cache: { maxEntries: 10 } });
    const first = await chunks(cortex);
    const again = await chunks(cortex);
    expect(w.calls).toHaveLength(1);
    expect(again.map((c) => c.text).join('')).toBe('Open Telecom Platform');
    expect(again.every((c) => c.cached === true && c.worker === 'w')).toBe(true);
    expect(again.at(-1)).toMatchObject({ done: true, usage: { promptTokens: 5, completionTokens: 3 } });
    expect(first.some((c) => c.cached)).toBe(false);
    // Another question, another model, a bypass, or a sampled request: the worker is asked.
    await chunks(cortex, {}, [{ role: 'user', content: 'And Elixir?' }]);
    await chunks(cortex, { model: 'other' });
    await chunks(cortex, { cache: false });
    await chunks(cortex, { backendOptions: { temperature: 0.7 } });
    await chunks(cortex, { backendOptions: { temperature: 0.7 } });
    expect(w.calls).toHaveLength(6);
    await cortex.stop();
  });

  it('never keeps an error, a truncated or a continued answer', async () => {
    const broken = new MockWorker({ name: 'broken', priority: 1, chunks: ['half', ' of it'], failAfter: 1 });
    const good = new MockWorker({ name: 'good', priority: 2, chunks: ['whole'] });
    const cortex = await startWorkers({ workers: [broken, good], healthIntervalMs: 0, cache: {}, continuation: { maxSwitches: 1 }, failureThreshold: 100 });
    const continued = await chunks(cortex);
    expect([...new Set(continued.map((c) => c.worker))]).toEqual(['broken', 'good']);
    await chunks(cortex);
    expect(good.calls).toHaveLength(2); // the continued answer was not kept
    const lone = await startWorkers({ workers: [new MockWorker({ name: 'x', failOnStart: true })], healthIntervalMs: 0, cache: {} });
    await expect(chunks(lone)).rejects.toThrow();
    await expect(chunks(lone)).rejects.toThrow(); // a failure is not an answer to replay
    await cortex.stop();
    await lone.stop();
  });

  it('stops a replay when the caller aborts, as a live stream does', async () => {
    const cortex = await startWorkers({ workers: [new MockWorker({ chunks: ['a', 'b', 'c'] })], healthIntervalMs: 0, cache: {} });
    await chunks(cortex);
    const ctl = new AbortController();
    const got: string[] = [];
    const read = async (): Promise<void> => {
      for await (const c of cortex.dispatcher.dispatchStream(hi, { signal: ctl.signal })) {
        got.push(c.text);
        ctl.abort();
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'stream_aborted', partialText: 'a' });
    await cortex.stop();
  });

  it('refuses bad cache options before anything starts', async () => {
    for (const cache of [{ maxEntries: 0 }, { ttlMs: -1 }, { sampled: 'yes' }]) {
      await expect(startWorkers({ workers: [new MockWorker()], cache: cache as never })).rejects.toSatisfy(isInvalidArgumentError);
    }
  });
});

describe('single flight', () => {
  it('identical requests in flight at once ask one worker; the others replay its answer, marked cached', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['one', ' answer'], delayMs: 20 });
    const cortex = await startWorkers({ workers: [w], healthIntervalMs: 0, cache: {} });
    const events: string[] = [];
    cortex.system.inspect((e) => e.type === 'pool.cache_hit' && events.push(e.inFlight ? 'in flight' : 'kept'));
    const all = await Promise.all(Array.from({ length: 10 }, () => chunks(cortex)));
    expect(w.calls).toHaveLength(1);
    expect(all.map((cs) => cs.map((c) => c.text).join(''))).toEqual(Array(10).fill('one answer'));
    expect(all.filter((cs) => cs.every((c) => c.cached === true))).toHaveLength(9);
    expect(events).toEqual(Array(9).fill('in flight'));
    await cortex.stop();
  });

  it('a first that fails over and completes is replayed; a first that fails leaves each waiter to run on its own', async () => {
    const hung = new MockWorker({ name: 'hung', priority: 1, hang: true });
    const good = new MockWorker({ name: 'good', priority: 2, chunks: ['ok'] });
    const cortex = await startWorkers({ workers: [hung, good], healthIntervalMs: 0, cache: {}, firstChunkTimeoutMs: 30, failureThreshold: 100 });
    const all = await Promise.all(Array.from({ length: 3 }, () => chunks(cortex)));
    expect(all.map((cs) => cs.map((c) => c.text).join(''))).toEqual(['ok', 'ok', 'ok']);
    expect([hung.calls.length, good.calls.length]).toEqual([1, 1]); // failed over once, for all three
    const failing = new MockWorker({ name: 'x', chunks: ['a', 'b'], delayMs: 10, failAfter: 1 });
    const lone = await startWorkers({ workers: [failing], healthIntervalMs: 0, cache: {}, failureThreshold: 100 });
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => chunks(lone)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(failing.calls).toHaveLength(3); // the waiters did not share the failure: each ran on its own
    await cortex.stop();
    await lone.stop();
  });

  it('a waiter that aborts leaves at once; singleFlight: false asks a worker for each', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['x'], delayMs: 50 });
    const cortex = await startWorkers({ workers: [w], healthIntervalMs: 0, cache: {} });
    const first = chunks(cortex);
    await new Promise((r) => setTimeout(r, 5));
    const ctl = new AbortController();
    const waiter = chunks(cortex, { signal: ctl.signal });
    ctl.abort(new Error('gone'));
    await expect(waiter).rejects.toMatchObject({ code: 'stream_aborted' });
    expect((await first).map((c) => c.text).join('')).toBe('x');
    const each = new MockWorker({ name: 'each', chunks: ['y'], delayMs: 10 });
    const apart = await startWorkers({ workers: [each], healthIntervalMs: 0, cache: { singleFlight: false } });
    await Promise.all(Array.from({ length: 4 }, () => chunks(apart)));
    expect(each.calls).toHaveLength(4);
    await cortex.stop();
    await apart.stop();
  });
});

describe('cache scope and routes', () => {
  it('requests with different cacheScope never share an entry', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['secret of tenant'] });
    const cortex = await startWorkers({ workers: [w], healthIntervalMs: 0, cache: {} });
    await chunks(cortex, { cacheScope: 'tenant-a' });
    const b = await chunks(cortex, { cacheScope: 'tenant-b' });
    expect(b.some((c) => c.cached)).toBe(false);
    expect((await chunks(cortex, { cacheScope: 'tenant-a' })).every((c) => c.cached)).toBe(true);
    expect(w.calls).toHaveLength(2);
    await cortex.stop();
  });

  it("the route a router chose is part of the key: the same question routed elsewhere is not replayed from the other route", async () => {
    const code = new MockWorker({ name: 'coder', tags: ['code'], chunks: ['from coder'] });
    const prose = new MockWorker({ name: 'writer', tags: ['prose'], chunks: ['from writer'] });
    let next = 'code';
    const cortex = await startWorkers({ workers: [code, prose], healthIntervalMs: 0, cache: {}, route: () => next });
    expect((await chunks(cortex)).map((c) => c.text).join('')).toBe('from coder');
    next = 'prose';
    expect((await chunks(cortex)).map((c) => c.text).join('')).toBe('from writer');
    next = 'code';
    const again = await chunks(cortex);
    expect(again.every((c) => c.cached && c.worker === 'coder')).toBe(true);
    expect([code.calls.length, prose.calls.length]).toEqual([1, 1]);
    await cortex.stop();
  });
});
