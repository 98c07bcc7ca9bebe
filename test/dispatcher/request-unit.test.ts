/**
 * What a request reports when it ends, to the number, on a simulated clock: `pool.stream_finished`
 * with its times, and only the fields that apply; the reason the worker's signal gets when a
 * request is ended from outside (its caller, its deadline, a shutdown); the error a caller gets
 * for each. For the mutation testing of src/dispatcher/request.ts.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, SimulatedClock, WorkerError, type CompletionChunk, type InspectionEvent, type LlmWorker, type StreamChunk, type StreamOptions, type WorkerInfo } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();
const ask = [{ role: 'user' as const, content: 'hi' }];
type Finished = Extract<InspectionEvent, { type: 'pool.stream_finished' }>;
const finished = (events: InspectionEvent[]): Finished[] => events.filter((e): e is Finished => e.type === 'pool.stream_finished');

/** Reads `it` to its end while the simulated clock moves on; resolves with the chunks or the error. */
async function drive(clock: SimulatedClock, it: AsyncGenerator<StreamChunk>, ms = 1_000): Promise<{ chunks: StreamChunk[]; error?: unknown }> {
  const chunks: StreamChunk[] = [];
  const reading = (async () => {
    for await (const c of it) chunks.push(c);
  })().then(
    () => ({ chunks }),
    (error: unknown) => ({ chunks, error }),
  );
  for (let t = 0; t < ms; t += 10) await clock.advance(10);
  return reading;
}

describe('pool.stream_finished, to the number', () => {
  it('times from the request start: its first chunk, its last, its whole; usage, kind, model, tenant, route and cost when they apply', async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', tags: ['code'], chunks: ['a', 'b', 'c'], delayMs: 30, clock, usage: { promptTokens: 4, completionTokens: 6 }, price: { inputPerMTok: 1, outputPerMTok: 1 } });
    const { cortex, events } = await start([w], { system: createSystem({ clock }) });
    const got = await drive(clock, cortex.dispatcher.dispatchStream(ask, { tenant: 'team', route: 'code' }));
    expect(got.error).toBeUndefined();
    const [e] = finished(events);
    expect(e).toEqual({
      type: 'pool.stream_finished',
      requestId: e!.requestId,
      worker: 'w',
      outcome: 'complete',
      chars: 3,
      ms: e!.lastChunkMs,
      chunks: got.chunks.length,
      firstChunkMs: 30,
      lastChunkMs: e!.lastChunkMs,
      usage: { promptTokens: 4, completionTokens: 6 },
      kind: 'mock',
      model: 'mock-model',
      tenant: 'team',
      route: 'code',
      costUsd: 10 / 1e6,
    });
    expect(e!.lastChunkMs).toBeGreaterThanOrEqual(90); // three chunks 30 ms apart
  });

  it('without them: no usage, tenant, route, reason or cost keys at all; a model that is a tag routes but is not reported as a route', async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', tags: ['fast'], chunks: ['a'], clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }) });
    await drive(clock, cortex.dispatcher.dispatchStream(ask, { model: 'fast' }), 100);
    const [e] = finished(events);
    expect(e!.outcome).toBe('complete');
    for (const k of ['usage', 'tenant', 'route', 'reason', 'costUsd']) expect(k in e!, k).toBe(false);
  });

  it('a request no worker could take: no first chunk, no worker, its reason', async () => {
    const clock = new SimulatedClock();
    const { cortex, events } = await start([new MockWorker({ name: 'w', failOnStart: true, clock })], { system: createSystem({ clock }) });
    const got = await drive(clock, cortex.dispatcher.dispatchStream(ask), 100);
    expect(got.error).toMatchObject({ code: 'no_workers_available' });
    const [e] = finished(events);
    expect(e).toMatchObject({ outcome: 'no_workers', chars: 0, chunks: 0, reason: (got.error as Error).message });
    expect('firstChunkMs' in e! || 'lastChunkMs' in e!).toBe(false);
  });
});

describe('ended from outside', () => {
  it("the deadline: the worker's request is aborted with 'deadline exceeded', the caller gets DeadlineExceededError with what it had", async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 400, clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }), deadlineMs: 500, firstChunkTimeoutMs: 10_000, idleTimeoutMs: 10_000 });
    const got = await drive(clock, cortex.dispatcher.dispatchStream(ask), 1_000);
    expect(got.error).toMatchObject({ code: 'deadline_exceeded', deadlineMs: 500, partialText: 'a' });
    expect((w.calls[0]!.signal.reason as Error).message).toBe('deadline exceeded');
    expect(finished(events)[0]).toMatchObject({ outcome: 'deadline', chars: 1 });
  });

  it("the caller's signal: the worker's request is aborted with the caller's reason, the caller gets StreamAbortedError with what it had", async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 100, clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }) });
    const ctl = new AbortController();
    const it = cortex.dispatcher.dispatchStream(ask, { signal: ctl.signal });
    const reading = drive(clock, it, 500);
    await clock.advance(150); // the first chunk is out, the second not yet
    ctl.abort('user left');
    const got = await reading;
    expect(got.error).toMatchObject({ code: 'stream_aborted', partialText: 'a' });
    expect(w.calls[0]!.signal.reason).toBe('user left');
    expect(finished(events)[0]).toMatchObject({ outcome: 'aborted' });
  });

  it("a shutdown past its drain time: the worker's request is aborted with 'shutdown', the caller gets ShutdownError (ended) with what it had", async () => {
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 200 });
    const { cortex, events } = await start([w]);
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const c of cortex.dispatcher.dispatchStream(ask, { firstChunkTimeoutMs: 10_000 })) chunks.push(c.text);
    })().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    await cortex.stop({ drainMs: 0 });
    expect(await reading).toMatchObject({ code: 'shutdown', stage: 'ended', operation: 'stream', partialText: 'a' });
    expect((w.calls[0]!.signal.reason as Error).message).toBe('shutdown');
    expect(finished(events)[0]).toMatchObject({ outcome: 'shutdown' });
  });
});

/** A worker that records the options each request gave it, and streams `chunks`. */
function recording(name: string, chunks: CompletionChunk[], info: Partial<WorkerInfo> = {}): LlmWorker & { seen: StreamOptions[] } {
  const seen: StreamOptions[] = [];
  return {
    seen,
    healthCheck: async () => ({ status: 'available' }),
    info: () => ({ name, kind: 'rec', models: ['rec-model'], ...info }),
    priority: () => 1,
    async streamCompletion(_messages, opts) {
      seen.push(opts);
      return (async function* () {
        yield* chunks;
      })();
    },
  };
}

describe('what a worker is asked, and what the caller gets back', () => {
  it("the worker gets the model asked (not when it was reached by its tag) and the backend options, only when given", async () => {
    const w = recording('w', [{ text: 'a', done: true }], { tags: ['t'] });
    const { cortex } = await start([w]);
    await cortex.dispatcher.complete(ask);
    await cortex.dispatcher.complete(ask, { model: 'big', backendOptions: { num_ctx: 8192 } });
    await cortex.dispatcher.complete(ask, { model: 't' }); // a tag: the worker answers with its own model
    expect('model' in w.seen[0]! || 'backendOptions' in w.seen[0]!).toBe(false);
    expect(w.seen[1]).toMatchObject({ model: 'big', backendOptions: { num_ctx: 8192 } });
    expect('model' in w.seen[2]!).toBe(false);
  });

  it("each chunk carries only what it has; the done chunk the model asked and the cost; empty tool-call lists are left out", async () => {
    const w = recording('w', [
      { text: 'a' },
      { text: '', reasoning: 'hmm' },
      { text: 'b', toolCalls: [] },
      { text: '', done: true, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 } },
    ], { price: { inputPerMTok: 1, outputPerMTok: 1 } } as Partial<WorkerInfo>);
    const { cortex } = await start([w]);
    const got: StreamChunk[] = [];
    for await (const c of cortex.dispatcher.dispatchStream(ask, { model: 'm' })) got.push(c);
    expect(got).toStrictEqual([
      { worker: 'w', text: 'a', done: false, segment: 0 },
      { worker: 'w', text: '', reasoning: 'hmm', done: false, segment: 0 },
      { worker: 'w', text: 'b', done: false, segment: 0 },
      { worker: 'w', text: '', done: true, segment: 0, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 }, model: 'm', costUsd: 3 / 1e6 },
    ]);
  });

  it('a worker that yields something that is not a chunk fails as a protocol error, and the request moves on', async () => {
    const bad = recording('bad', [{ nope: true } as unknown as CompletionChunk]);
    const good = recording('good', [{ text: 'ok', done: true }]);
    (good as { priority: () => number }).priority = () => 2;
    const { cortex, events } = await start([bad, good]);
    expect((await cortex.dispatcher.complete(ask)).text).toBe('ok');
    const failed = events.find((e) => e.type === 'pool.attempt_failed');
    expect(failed).toMatchObject({ worker: 'bad', phase: 'first_chunk', blame: 'worker' });
    expect((failed as { reason: string }).reason).toBe('worker bad: the worker yielded a chunk without text');
    expect((failed as { error: unknown }).error).toMatchObject({ kind: 'protocol' });
  });

  it("a stream that ends without its final chunk is truncated, never complete", async () => {
    const w = recording('w', [{ text: 'half' }]);
    const { cortex } = await start([w]);
    await expect(cortex.dispatcher.complete(ask)).rejects.toMatchObject({ code: 'stream_interrupted', partialText: 'half' });
  });

  it("attempt failures name their phase: start, first chunk, mid-stream; a 429's rest is in the attempts", async () => {
    const clock = new SimulatedClock();
    const down = new MockWorker({ name: 'down', priority: 1, failOnStart: new WorkerError('down', 'rate_limited', 'HTTP 429', { status: 429, retryAfterMs: 7_000 }), clock });
    const silent = new MockWorker({ name: 'silent', priority: 2, hang: true, clock });
    const breaks = new MockWorker({ name: 'breaks', priority: 3, chunks: ['a', 'b'], failAfter: 1, clock });
    const { cortex, events } = await start([down, silent, breaks], { system: createSystem({ clock }), firstChunkTimeoutMs: 100 });
    const got = await drive(clock, cortex.dispatcher.dispatchStream(ask), 500);
    expect(got.error).toMatchObject({ code: 'stream_interrupted', partialText: 'a' });
    const phases = events.filter((e) => e.type === 'pool.attempt_failed').map((e) => [(e as { worker: string }).worker, (e as { phase: string }).phase]);
    expect(phases).toEqual([['down', 'start'], ['silent', 'first_chunk'], ['breaks', 'mid_stream']]);
    const attempts = (got.error as { attempts: Array<{ worker: string; retryAfterMs?: number }> }).attempts;
    expect(attempts.find((a) => a.worker === 'down')!.retryAfterMs).toBe(7_000);
    expect('retryAfterMs' in attempts.find((a) => a.worker === 'silent')!).toBe(false);
  });

  it("the pool learns each success's time to first chunk and whole time, on the simulated clock", async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 40, clock });
    const { cortex } = await start([w], { system: createSystem({ clock }) });
    await drive(clock, cortex.dispatcher.dispatchStream(ask), 200);
    const [s] = (await cortex.dispatcher.status()).workers;
    expect(s).toMatchObject({ successes: 1, firstChunkMs: 40 });
    expect(s!.latencyMs).toBeGreaterThanOrEqual(80);
  });
});
