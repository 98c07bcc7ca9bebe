/**
 * What a request reports when it ends, to the number, on a simulated clock: `pool.stream_finished`
 * with its times, and only the fields that apply; the reason the worker's signal gets when a
 * request is ended from outside (its caller, its deadline, a shutdown); the error a caller gets
 * for each. For the mutation testing of src/dispatcher/request.ts.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, SimulatedClock, type InspectionEvent, type StreamChunk } from '../../src/index.js';
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
    expect(await reading).toMatchObject({ code: 'shutdown', stage: 'ended', partialText: 'a' });
    expect((w.calls[0]!.signal.reason as Error).message).toBe('shutdown');
    expect(finished(events)[0]).toMatchObject({ outcome: 'shutdown' });
  });
});
