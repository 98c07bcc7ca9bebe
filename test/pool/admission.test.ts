/**
 * Admission: a worker is sent no more than it can take (maxConcurrent, rpm, tpm); a full tier
 * spills over or waits; a bounded FIFO queue holds the rest; every slot comes back exactly once.
 */
import { describe, expect, it } from 'vitest';
import { useServers } from '../support/servers.js';
import {
  createSystem,
  isQueueFullError,
  isQueueTimeoutError,
  isStreamAbortedError,
  kill,
  OllamaWorker,
  OpenAIWorker,
  SimulatedClock,
  startWorkers,
  type DispatchOptions,
  type StreamChunk,
  type Workers,
} from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const { ollama, openai, start } = useServers();

/** Reads a whole answer; resolves with its chunks or the error it ended with. */
async function ask(cortex: Workers, content: string, options: DispatchOptions = {}): Promise<{ chunks: StreamChunk[]; error?: unknown }> {
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content }], options)) chunks.push(c);
    return { chunks };
  } catch (error) {
    return { chunks, error };
  }
}

describe('maxConcurrent', () => {
  it('100 requests at once on a backend that takes 2: it never sees more than 2, and all complete in order of arrival', async () => {
    const server = await ollama({ script: { chunks: ['a', 'b'], delayMs: 2 } });
    const { cortex, events } = await start([new OllamaWorker({ baseUrl: server.url, maxConcurrent: 2 })]);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(cortex, `q${i}`)));
    expect(answers.filter((a) => a.error === undefined && a.chunks.at(-1)?.done === true)).toHaveLength(100);
    expect(server.peakActive).toBeLessThanOrEqual(2);
    expect(server.peakActive).toBe(2); // and it was used to its capacity
    const served = events.flatMap((e) => (e.type === 'pool.dispatch' ? [e.requestId] : []));
    expect(served).toHaveLength(100);
    expect(served).toEqual([...served].sort((a, b) => a - b)); // FIFO: request ids are given in arrival order
    const status = await cortex.dispatcher.status();
    expect(status.queued).toBe(0);
    expect(status.workers[0]).toMatchObject({ inflight: 0, limits: { maxConcurrent: 2 } });
  });

  it('40 requests at once: a full local worker spills over to the cloud at once; nobody waits out a first-chunk timeout', async () => {
    const local = await ollama({ script: { chunks: ['local'], delayMs: 20 } });
    const cloud = await openai({ script: { chunks: ['cloud'] } });
    const { cortex, events } = await start(
      [new OllamaWorker({ name: 'local', baseUrl: local.url, maxConcurrent: 1 }), new OpenAIWorker({ name: 'cloud', baseUrl: cloud.url, model: 'gpt-test' })],
      { firstChunkTimeoutMs: 2_000 },
    );
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(cortex, `q${i}`)));
    expect(answers.every((a) => a.error === undefined)).toBe(true);
    expect(local.peakActive).toBe(1);
    expect(events.filter((e) => e.type === 'pool.attempt_failed')).toEqual([]); // no timeouts, no failovers
    const byWorker = answers.map((a) => a.chunks[0]!.worker);
    expect(byWorker.filter((w) => w === 'cloud').length).toBeGreaterThanOrEqual(39);
  });

  it("overflow: 'wait' queues for the preferred tier instead of spilling over", async () => {
    const local = new MockWorker({ name: 'local', priority: 10, limits: { maxConcurrent: 1 }, chunks: ['l'] });
    const cloud = new MockWorker({ name: 'cloud', priority: 60, chunks: ['c'] });
    const { cortex } = await start([local, cloud], { overflow: 'wait' });
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => ask(cortex, `q${i}`)));
    expect(answers.map((a) => a.chunks[0]!.worker)).toEqual(['local', 'local', 'local', 'local', 'local']);
    expect(cloud.calls).toHaveLength(0);
  });
});

describe('the queue', () => {
  it('is bounded: beyond maxQueue a request fails at once with QueueFullError carrying the figures', async () => {
    const busy = new MockWorker({ name: 'busy', limits: { maxConcurrent: 1 }, hang: true });
    const { cortex } = await start([busy], { maxQueue: 2 });
    const ac = new AbortController();
    const held = [0, 1, 2].map((i) => ask(cortex, `q${i}`, { signal: ac.signal })); // 1 running, 2 queued
    await new Promise((r) => setTimeout(r, 10));
    expect((await cortex.dispatcher.status()).queued).toBe(2);
    const refused = await ask(cortex, 'one too many');
    expect(isQueueFullError(refused.error)).toBe(true);
    expect(refused.error).toMatchObject({ code: 'queue_full', maxQueue: 2, depth: 2 });
    ac.abort();
    await Promise.all(held);
    const status = await cortex.dispatcher.status();
    expect(status.queued).toBe(0);
    expect(status.workers[0]!.inflight).toBe(0);
  });

  it('times out with QueueTimeoutError (on the pool clock), holding no slot meanwhile', async () => {
    const clock = new SimulatedClock();
    const busy = new MockWorker({ name: 'busy', limits: { maxConcurrent: 1 }, hang: true });
    const { cortex } = await start([busy], { system: createSystem({ clock }), queueTimeoutMs: 1_000 });
    const ac = new AbortController();
    const first = ask(cortex, 'holds the slot', { signal: ac.signal });
    await clock.advance(0);
    const waiting = ask(cortex, 'waits');
    await clock.advance(0);
    expect((await cortex.dispatcher.status()).workers[0]!.inflight).toBe(1); // the waiting one holds nothing
    await clock.advance(1_000);
    const r = await waiting;
    expect(isQueueTimeoutError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ code: 'queue_timeout', queueTimeoutMs: 1_000 });
    ac.abort();
    await first;
    expect((await cortex.dispatcher.status()).queued).toBe(0);
  });

  it('a caller that aborts while queued leaves the queue at once', async () => {
    const busy = new MockWorker({ name: 'busy', limits: { maxConcurrent: 1 }, hang: true });
    const { cortex } = await start([busy]);
    const holder = new AbortController();
    const first = ask(cortex, 'holds', { signal: holder.signal });
    await new Promise((r) => setTimeout(r, 5));
    const quitter = new AbortController();
    const waiting = ask(cortex, 'waits', { signal: quitter.signal });
    await new Promise((r) => setTimeout(r, 5));
    expect((await cortex.dispatcher.status()).queued).toBe(1);
    quitter.abort();
    const r = await waiting;
    expect(isStreamAbortedError(r.error)).toBe(true);
    expect((await cortex.dispatcher.status()).queued).toBe(0);
    holder.abort();
    await first;
    expect(busy.calls).toHaveLength(1); // the one that left never reached the worker
  });

  it('serves higher priority first, FIFO within one', async () => {
    const w = new MockWorker({ name: 'w', limits: { maxConcurrent: 1 }, chunks: ['x'], delayMs: 5 });
    const { cortex, events } = await start([w]);
    const order: string[] = [];
    const go = (name: string, priority: number) => ask(cortex, name, { priority }).then(() => order.push(name));
    const all = [go('first', 0), go('low-a', 0), go('low-b', 0), go('high', 5)];
    await Promise.all(all);
    expect(order).toEqual(['first', 'high', 'low-a', 'low-b']);
    expect(events.filter((e) => e.type === 'pool.dispatch')).toHaveLength(4);
  });
});

describe('rate windows on a simulated clock', () => {
  it('rpm: never more than the limit in any 60-second window', async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', limits: { rpm: 5 }, chunks: ['x'], clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }), queueTimeoutMs: 600_000, deadlineMs: 600_000 });
    const times: number[] = [];
    cortex.system.inspect((e) => e.type === 'pool.dispatch' && times.push(clock.now()));
    const all = Promise.all(Array.from({ length: 17 }, (_, i) => ask(cortex, `q${i}`)));
    for (let t = 0; t < 5 * 60_000; t += 1_000) await clock.advance(1_000);
    const answers = await all;
    expect(answers.every((a) => a.error === undefined)).toBe(true);
    let overAdmitted = 0;
    for (const t of times) overAdmitted = Math.max(overAdmitted, times.filter((u) => u >= t && u < t + 60_000).length - 5);
    expect(overAdmitted).toBe(0);
    expect(times.filter((t) => t < 60_000)).toHaveLength(5);
    expect(events.length).toBeGreaterThan(0);
    expect(clock.pendingTimers).toBeLessThanOrEqual(1); // at most the shared call-deadline timer
  });

  it('tpm: reported usage counts; a worker over its tokens waits for the window', async () => {
    const clock = new SimulatedClock();
    // Each answer reports 60 tokens; 60 per minute lets one through per window.
    const w = new MockWorker({ name: 'w', limits: { tpm: 60 }, chunks: ['x'], clock, usage: { promptTokens: 10, completionTokens: 50 } });
    const { cortex } = await start([w], { system: createSystem({ clock }), queueTimeoutMs: 600_000, deadlineMs: 600_000 });
    const first = await ask(cortex, 'one');
    expect(first.error).toBeUndefined();
    const second = ask(cortex, 'two');
    await clock.advance(1_000);
    expect((await cortex.dispatcher.status()).queued).toBe(1);
    expect((await cortex.dispatcher.status()).workers[0]!.window).toEqual({ requests: 1, tokens: 60 });
    await clock.advance(60_000);
    expect((await second).error).toBeUndefined();
  });
});

describe("what backends say of their own limits", () => {
  it('x-ratelimit-remaining-requests: 0 rests the worker until its reset, before it answers 429', async () => {
    const primary = await openai({ script: { headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' } } });
    const other = await openai({ script: { chunks: ['other'] } });
    const { cortex } = await start([
      new OpenAIWorker({ name: 'primary', baseUrl: primary.url, model: 'gpt-test', priority: 1 }),
      new OpenAIWorker({ name: 'other', baseUrl: other.url, model: 'gpt-test', priority: 2 }),
    ]);
    expect((await ask(cortex, 'one')).chunks[0]!.worker).toBe('primary'); // this one went through
    await new Promise((r) => setTimeout(r, 5));
    expect((await ask(cortex, 'two')).chunks[0]!.worker).toBe('other');
    const s = (await cortex.dispatcher.status()).workers.find((w) => w.name === 'primary')!;
    expect(s.coolingDownMs).toBeGreaterThan(350_000);
    expect(s.failures).toBe(0);
    expect(primary.requests).toHaveLength(1);
  });

  it('a 429 without retry-after rests the worker for x-ratelimit-reset-tokens', async () => {
    const primary = await openai({ script: { status: 429, headers: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '2.5s' } } });
    const other = await openai({ script: { chunks: ['other'] } });
    const { cortex } = await start([
      new OpenAIWorker({ name: 'primary', baseUrl: primary.url, model: 'gpt-test', priority: 1 }),
      new OpenAIWorker({ name: 'other', baseUrl: other.url, model: 'gpt-test', priority: 2 }),
    ]);
    expect((await ask(cortex, 'one')).chunks[0]!.worker).toBe('other');
    const s = (await cortex.dispatcher.status()).workers.find((w) => w.name === 'primary')!;
    expect(s.coolingDownMs).toBeGreaterThan(2_000);
    expect(s.coolingDownMs).toBeLessThanOrEqual(2_500);
  });
});

describe('slots come back exactly once', () => {
  it('across a pool crash: the rebuilt pool sees the slot of the stream still running', async () => {
    const w = new MockWorker({ name: 'w', limits: { maxConcurrent: 1 }, hang: true });
    const { cortex } = await start([w]);
    const holder = new AbortController();
    const first = ask(cortex, 'holds', { signal: holder.signal });
    await new Promise((r) => setTimeout(r, 5));
    kill(cortex.system.whereis('cortex.pool')!);
    await new Promise((r) => setTimeout(r, 20));
    expect((await cortex.dispatcher.status()).workers[0]!.inflight).toBe(1);
    const quit = new AbortController();
    const second = ask(cortex, 'waits for it', { signal: quit.signal });
    await new Promise((r) => setTimeout(r, 10));
    expect(w.calls).toHaveLength(1); // not admitted past the limit by the new pool
    holder.abort();
    await first;
    await new Promise((r) => setTimeout(r, 10));
    expect(w.calls).toHaveLength(2); // the freed slot went to the waiting one
    const s = await cortex.dispatcher.status();
    expect(s.workers[0]!.inflight).toBe(1);
    expect(s.queued).toBe(0);
    quit.abort();
    await second;
    expect((await cortex.dispatcher.status()).workers[0]!.inflight).toBe(0);
  });

  it('limits given by a worker are checked when it registers', async () => {
    const bad = new MockWorker({ name: 'bad' });
    (bad as unknown as { limits: () => unknown }).limits = () => ({ maxConcurrent: 0 });
    await expect(startWorkers({ workers: [bad] })).rejects.toMatchObject({ code: 'invalid_argument', field: 'worker "bad".limits().maxConcurrent' });
  });
});
