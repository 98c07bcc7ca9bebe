/**
 * The request's less travelled paths, each to its figure: times measured from a clock that does
 * not start at zero (so a sum cannot pass for a difference), a wait in the queue cut by the
 * deadline or by the queue's own timeout, an async router, a continuation that finds no worker
 * left, the words that mean "context length exceeded", and a done chunk with only what is known.
 * For the mutation testing of src/dispatcher/request.ts.
 *
 * Its survivors (StrykerJS, 2026-12-06, 87.2 % with the in-process tests) and why they are left:
 * - the same behaviour with more work: `needs` computed for plain text, a router's answer
 *   checked for a promise, the hedge budget earned when hedging is off, `events.listening`
 *   taken as true, every worker read through the guard, the done chunk copied when it gains
 *   nothing, the watchdog armed earlier than due (it looks again and re-arms: `armBy` with `>`
 *   or a time in the past), empty text pushed, undefined-valued fields in the checkout request
 *   (the pool reads them as absent);
 * - guards of what is idempotent anyway: `end`, `finish` and `stopWatchdog` called twice, the
 *   abort listener's `once` (it is removed in `finally`), `finished` read as false;
 * - optional chaining on what is always there (the caller's signal when the caller ended it,
 *   the last attempt when text was delivered, an iterator's `return`);
 * - paths the in-process tests do not reach: a hedge checkout while the pool restarts, an
 *   unexpected error from the pool's checkout (reported as `no_workers`), a 503 carrying
 *   `retry-after` (only a 429's rest is in the attempts), a hedge race's `Final` error;
 * - the slot of a refused or cancelled attempt given back with an empty outcome (`{}`): the
 *   pool then skips the circuit's release; killed for a caller's abort by the half-open test
 *   below, not for a refusal during a trial.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, Dispatcher, SimulatedClock, WorkerError, type CompletionChunk, type DispatchOptions, type InspectionEvent, type LlmWorker, type StartWorkersOptions, type StreamChunk, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();
const ask = [{ role: 'user' as const, content: 'hi' }];
type Event<T extends InspectionEvent['type']> = Extract<InspectionEvent, { type: T }>;
const all = <T extends InspectionEvent['type']>(events: InspectionEvent[], type: T): Event<T>[] => events.filter((e): e is Event<T> => e.type === type);

/** A simulated clock already at `at` ms: times reported from it are differences, or they show it. */
async function clockAt(at: number): Promise<SimulatedClock> {
  const clock = new SimulatedClock();
  await clock.advance(at);
  return clock;
}

/** Waits (real time, bounded: 1 s) until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 2));
}

/**
 * A pool of one worker taking one request at a time, whose only slot a request that never
 * answers holds (once it reached the worker): what comes next waits in the queue. `release()`
 * ends the holder.
 */
async function heldPool(options: Omit<StartWorkersOptions, 'workers'> = {}, clock?: SimulatedClock): Promise<{ cortex: Workers; events: InspectionEvent[]; release(): Promise<void> }> {
  const w = new MockWorker({ name: 'w', limits: { maxConcurrent: 1 }, hang: true, ...(clock !== undefined ? { clock } : {}) });
  const { cortex, events } = await start([w], { ...(clock !== undefined ? { system: createSystem({ clock }) } : {}), ...options });
  const holder = new AbortController();
  const held = read(cortex, { signal: holder.signal });
  await until(() => w.calls.length === 1);
  return {
    cortex,
    events,
    async release() {
      holder.abort();
      await held;
    },
  };
}

/** A worker whose every stream yields `chunks` as they are (none, one that is not an object, usage before the end). */
function yielding(name: string, priority: number, chunks: readonly CompletionChunk[]): LlmWorker {
  return {
    healthCheck: async () => ({ status: 'available' as const }),
    info: () => ({ name, kind: 'rec', models: ['m'] }),
    priority: () => priority,
    async streamCompletion() {
      return (async function* () {
        yield* chunks;
      })();
    },
  };
}

/** Starts reading a stream; resolves with its chunks or the error it ended with. */
function read(cortex: Workers, options: DispatchOptions = {}): Promise<{ chunks: StreamChunk[]; error?: unknown }> {
  const chunks: StreamChunk[] = [];
  return (async () => {
    for await (const c of cortex.dispatcher.dispatchStream(ask, options)) chunks.push(c);
  })().then(
    () => ({ chunks }),
    (error: unknown) => ({ chunks, error }),
  );
}

describe('times, from a clock that does not start at zero', () => {
  it('the finished event, the pool\'s learnt times and a failed attempt\'s first chunk are differences from the start', async () => {
    const clock = await clockAt(50_000);
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b', 'c'], delayMs: 30, clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }) });
    const reading = read(cortex);
    await clock.advance(200);
    expect((await reading).error).toBeUndefined();
    const [e] = all(events, 'pool.stream_finished');
    expect(e).toMatchObject({ ms: 90, firstChunkMs: 30, lastChunkMs: 90 });
    expect((await cortex.dispatcher.status()).workers[0]).toMatchObject({ firstChunkMs: 30, latencyMs: 90 });
  });

  it('a chunk between the first and the final one is timed when the caller is done with it: it asks for the next, or it ends the request', async () => {
    // One clock read per chunk, not two (see `lastChunkMs`): chunks come 30 ms apart; the caller keeps each a while.
    const clock = await clockAt(50_000);
    const finished = async (w: MockWorker, read: (it: AsyncIterator<StreamChunk>) => Promise<void>): Promise<Event<'pool.stream_finished'>> => {
      const { cortex, events } = await start([w], { system: createSystem({ clock }) });
      await read(cortex.dispatcher.dispatchStream(ask)[Symbol.asyncIterator]());
      return all(events, 'pool.stream_finished')[0]!;
    };
    const next = async (it: AsyncIterator<StreamChunk>, ms: number): Promise<IteratorResult<StreamChunk>> => {
      const got = it.next();
      await clock.advance(ms);
      return got;
    };
    // Abandoned: a at 30, b at 60, kept 25 ms, then the caller leaves: b's time is 85.
    const abandoned = await finished(new MockWorker({ name: 'w', chunks: ['a', 'b', 'c', 'd'], delayMs: 30, clock }), async (it) => {
      expect((await next(it, 30)).value.text).toBe('a');
      expect((await next(it, 30)).value.text).toBe('b');
      await clock.advance(25);
      await it.return!();
    });
    expect(abandoned).toMatchObject({ outcome: 'abandoned', firstChunkMs: 30, lastChunkMs: 85, ms: 85, chunks: 2 });
    // Interrupted: a at 30, b at 60, the caller asks for more 10 ms later, and the worker breaks: b's time is 70.
    const interrupted = await finished(new MockWorker({ name: 'w', chunks: ['a', 'b', 'c', 'd'], failAfter: 2, delayMs: 30, clock }), async (it) => {
      await next(it, 30);
      await next(it, 30);
      await clock.advance(10);
      const broke = it.next().then(() => undefined, (e: unknown) => e);
      await clock.advance(30);
      expect(await broke).toMatchObject({ code: 'stream_interrupted' });
    });
    expect(interrupted).toMatchObject({ outcome: 'interrupted', firstChunkMs: 30, lastChunkMs: 70, chunks: 2 });
  });

  it("a request that waited in the queue says how long in its dispatch event", async () => {
    const clock = await clockAt(50_000);
    const w = new MockWorker({ name: 'w', limits: { maxConcurrent: 1 }, chunks: ['a'], delayMs: 100, clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }) });
    const first = read(cortex);
    const second = read(cortex);
    await clock.advance(300);
    await Promise.all([first, second]);
    expect(all(events, 'pool.dispatch').map((d) => d.queuedMs)).toEqual([0, 100]);
  });
});

describe('waiting in the queue', () => {
  it('the deadline ends a wait in the queue at the deadline itself, as DeadlineExceededError', async () => {
    const clock = await clockAt(50_000);
    const { cortex, events, release } = await heldPool({ queueTimeoutMs: 5_000, firstChunkTimeoutMs: 60_000 }, clock);
    const waiting = read(cortex, { deadlineMs: 500 });
    await clock.advance(499);
    let settled = false;
    void waiting.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await waiting).error).toMatchObject({ code: 'deadline_exceeded', deadlineMs: 500 });
    expect(all(events, 'pool.stream_finished').map((e) => e.outcome)).toEqual(['deadline']);
    await release();
  });

  it("the queue's own timeout ends it as QueueTimeoutError, reported as no_workers with its reason", async () => {
    const clock = await clockAt(50_000);
    const { cortex, events, release } = await heldPool({ deadlineMs: 60_000, queueTimeoutMs: 300, firstChunkTimeoutMs: 60_000 }, clock);
    const waiting = read(cortex);
    await clock.advance(300);
    const { error } = await waiting;
    expect(error).toMatchObject({ code: 'queue_timeout', queueTimeoutMs: 300 });
    expect(all(events, 'pool.stream_finished')).toEqual([expect.objectContaining({ outcome: 'no_workers', reason: (error as Error).message })]);
    await release();
  });

  it('a full queue refuses at once, reported as no_workers with its reason', async () => {
    const { cortex, events, release } = await heldPool({ maxQueue: 0 });
    const { error } = await read(cortex);
    expect(error).toMatchObject({ code: 'queue_full', maxQueue: 0 });
    expect(all(events, 'pool.stream_finished')).toEqual([expect.objectContaining({ outcome: 'no_workers', reason: (error as Error).message })]);
    await release();
  });

  it("a caller that leaves the queue: StreamAbortedError with its reason, reported as aborted", async () => {
    const { cortex, events, release } = await heldPool();
    const quitter = new AbortController();
    const waiting = read(cortex, { signal: quitter.signal });
    await until(async () => (await cortex.dispatcher.status()).queued === 1);
    quitter.abort('changed my mind');
    const { error } = await waiting;
    expect(error).toMatchObject({ code: 'stream_aborted', partialText: '' });
    expect((error as Error).cause).toBe('changed my mind');
    expect(all(events, 'pool.stream_finished').map((e) => e.outcome)).toEqual(['aborted']);
    await release();
  });
});

describe('an async router', () => {
  it('its tag routes strictly, and is reported as the route', async () => {
    const coder = new MockWorker({ name: 'coder', priority: 2, tags: ['code'], chunks: ['c'] });
    const other = new MockWorker({ name: 'other', priority: 1, chunks: ['o'] });
    const { cortex, events } = await start([coder, other], { route: async () => 'code' });
    expect((await cortex.dispatcher.complete(ask)).workers).toEqual(['coder']);
    expect(all(events, 'pool.stream_finished')[0]).toMatchObject({ route: 'code' });
    await cortex.dispatcher.complete(ask, { route: 'nope' }).catch(() => undefined); // an explicit route wins over the router
    expect(all(events, 'pool.stream_finished')[1]).toMatchObject({ outcome: 'no_workers', route: 'nope' });
  });

  it('no tag: any worker, no route reported', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['a'] });
    const { cortex, events } = await start([w], { route: async () => undefined });
    expect((await cortex.dispatcher.complete(ask)).text).toBe('a');
    expect('route' in all(events, 'pool.stream_finished')[0]!).toBe(false);
  });

  it('a caller that aborts while the router decides gets StreamAbortedError, and no worker is asked', async () => {
    let decided: ((tag: string) => void) | undefined;
    const w = new MockWorker({ name: 'w', tags: ['t'], chunks: ['a'] });
    const { cortex, events } = await start([w], { route: () => new Promise<string>((r) => (decided = r)) });
    const ctl = new AbortController();
    const reading = read(cortex, { signal: ctl.signal });
    await until(() => decided !== undefined); // the router was asked
    ctl.abort('bye');
    decided!('t');
    const { error } = await reading;
    expect(error).toMatchObject({ code: 'stream_aborted' });
    expect((error as Error).cause).toBe('bye');
    expect(w.calls).toHaveLength(0);
    expect(all(events, 'pool.stream_finished').map((e) => e.outcome)).toEqual(['aborted']);
  });
});

describe('a continuation that finds no worker left', () => {
  it('ends as StreamInterruptedError with the text so far, naming the last worker that failed and its error', async () => {
    const breaks = new MockWorker({ name: 'breaks', priority: 1, chunks: ['a', 'b'], failAfter: 1, error: new WorkerError('breaks', 'http', 'HTTP 502', { status: 502 }) });
    const down = new MockWorker({ name: 'down', priority: 2, failOnStart: new WorkerError('down', 'http', 'HTTP 503', { status: 503 }) });
    const lastError = new WorkerError('gone', 'http', 'HTTP 504', { status: 504 });
    const gone = new MockWorker({ name: 'gone', priority: 3, failOnStart: lastError });
    const { cortex, events } = await start([breaks, down, gone], { continuation: { maxSwitches: 3 } });
    const { chunks, error } = await read(cortex);
    expect(chunks.map((c) => c.text)).toEqual(['a']);
    expect(error).toMatchObject({ code: 'stream_interrupted', worker: 'gone', partialText: 'a' });
    expect((error as { cause: unknown }).cause).toBe(lastError);
    expect((error as { attempts: Array<{ worker: string }> }).attempts.map((a) => a.worker)).toEqual(['breaks', 'down', 'gone']);
    expect(all(events, 'pool.stream_finished')).toEqual([expect.objectContaining({ outcome: 'interrupted', chars: 1, reason: (error as Error).message })]);
  });
});

describe("the words for 'context length exceeded'", () => {
  const refusal = (name: string, message: string, fields: { body?: string; backendCode?: string }): WorkerError => new WorkerError(name, 'bad_request', message, { status: 400, ...fields });
  const cases: Array<[string, WorkerError]> = [
    ["OpenAI's code alone, whatever the words", refusal('small', 'HTTP 400: too big', { body: 'too big', backendCode: 'context_length_exceeded' })],
    ['the words in the body, no code', refusal('small', 'HTTP 400', { body: 'context_length is 8192 at most' })],
    ['the words in the message, no body', refusal('small', "HTTP 400: the input exceeds the model's context window", {})],
  ];
  for (const [what, error] of cases) {
    it(`${what}: goes on to the larger context`, async () => {
      const small = new MockWorker({ name: 'small', priority: 1, capabilities: { contextLength: 8192 }, failOnStart: error });
      const large = new MockWorker({ name: 'large', priority: 2, capabilities: { contextLength: 128_000 } });
      const { cortex } = await start([small, large]);
      expect((await cortex.dispatcher.complete(ask)).workers).toEqual(['large']);
    });
  }

  it('other words in the body are the caller\'s mistake, even if the message says context window', async () => {
    const error = refusal('small', 'HTTP 400: context window', { body: 'tools[0].parameters is not a valid schema' });
    const small = new MockWorker({ name: 'small', priority: 1, capabilities: { contextLength: 8192 }, failOnStart: error });
    const large = new MockWorker({ name: 'large', priority: 2, capabilities: { contextLength: 128_000 } });
    const { cortex } = await start([small, large]);
    await expect(cortex.dispatcher.complete(ask)).rejects.toMatchObject({ code: 'invalid_request', worker: 'small' });
    expect(large.calls).toHaveLength(0);
  });

  it('a worker that does not say its context: any other worker may try, and the largest refusal so far is remembered', async () => {
    const tooLong = (name: string): WorkerError => refusal(name, 'HTTP 400', { backendCode: 'context_length_exceeded' });
    const unknown = new MockWorker({ name: 'unknown', priority: 1, failOnStart: tooLong('unknown') });
    const big = new MockWorker({ name: 'big', priority: 2, capabilities: { contextLength: 32_000 }, failOnStart: tooLong('big') });
    const mid = new MockWorker({ name: 'mid', priority: 3, capabilities: { contextLength: 16_000 } });
    const huge = new MockWorker({ name: 'huge', priority: 4, capabilities: { contextLength: 200_000 } });
    const { cortex } = await start([unknown, big, mid, huge]);
    expect((await cortex.dispatcher.complete(ask)).workers).toEqual(['huge']);
    expect(mid.calls).toHaveLength(0);
  });
});

describe('the done chunk says only what is known', () => {
  it('a worker with no model and no price: neither on the done chunk', async () => {
    const w = new MockWorker({ name: 'w', models: [], chunks: ['a'], usage: { promptTokens: 1, completionTokens: 1 } });
    const { cortex } = await start([w]);
    const { chunks } = await read(cortex);
    const last = chunks.at(-1)!;
    expect(last.done).toBe(true);
    expect('model' in last || 'costUsd' in last).toBe(false);
  });

  it('a model but no price: the model alone; the pool counts the tokens', async () => {
    const w = new MockWorker({ name: 'w', models: ['m-1'], chunks: ['a'], usage: { promptTokens: 5, completionTokens: 7 } });
    const { cortex } = await start([w]);
    const last = (await read(cortex)).chunks.at(-1)!;
    expect(last.model).toBe('m-1');
    expect('costUsd' in last).toBe(false);
    expect((await cortex.dispatcher.status()).workers[0]!.usage).toMatchObject({ inputTokens: 5, outputTokens: 7 });
  });

  it('a price but no model: the cost alone', async () => {
    const w = new MockWorker({ name: 'w', models: [], chunks: ['a'], usage: { promptTokens: 1_000_000, completionTokens: 0 }, price: { inputPerMTok: 2, outputPerMTok: 8 } });
    const { cortex } = await start([w]);
    const last = (await read(cortex)).chunks.at(-1)!;
    expect(last.costUsd).toBe(2);
    expect('model' in last).toBe(false);
  });
});

describe('a pool that is not running', () => {
  it('after the checkout rode out its retries: NoWorkersAvailableError saying so, reported as no_workers', async () => {
    const system = createSystem();
    const events: InspectionEvent[] = [];
    system.inspect((e) => events.push(e));
    const dispatcher = new Dispatcher(system, 'no-such-pool');
    const error = await dispatcher.complete(ask).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'no_workers_available', attempts: [{ worker: '(pool)', reason: 'the pool is not running' }] });
    const finished = all(events, 'pool.stream_finished');
    expect(finished).toEqual([expect.objectContaining({ outcome: 'no_workers', chars: 0, worker: undefined })]);
    for (const k of ['kind', 'model', 'route', 'firstChunkMs']) expect(k in finished[0]!, k).toBe(false); // no worker was asked
    await system.shutdown();
  });
});

describe('failures, and what each one counts as', () => {
  it("a failure mid-stream without continuation: interrupted; the pool keeps that attempt's time to first chunk, from its start", async () => {
    const clock = await clockAt(50_000);
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 40, failAfter: 1, clock });
    const { cortex, events } = await start([w], { system: createSystem({ clock }) });
    const reading = read(cortex);
    await clock.advance(200);
    expect((await reading).error).toMatchObject({ code: 'stream_interrupted', partialText: 'a' });
    expect(all(events, 'pool.stream_finished').map((e) => e.outcome)).toEqual(['interrupted']);
    expect((await cortex.dispatcher.status()).workers[0]).toMatchObject({ failures: 1, firstChunkMs: 40 });
  });

  it('a 400 after text was delivered is not the caller\'s mistake: the worker failed mid-stream', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], failAfter: 1, error: new WorkerError('w', 'bad_request', 'HTTP 400', { status: 400 }) });
    const { cortex, events } = await start([w]);
    expect((await read(cortex)).error).toMatchObject({ code: 'stream_interrupted', partialText: 'a' });
    expect(all(events, 'pool.attempt_failed')).toEqual([expect.objectContaining({ phase: 'mid_stream', blame: 'worker' })]);
    expect((await cortex.dispatcher.status()).workers[0]).toMatchObject({ failures: 1 });
  });

  it("a context too long for the first worker, then a break on the larger one's text: interrupted, not the caller's mistake", async () => {
    const small = new MockWorker({ name: 'small', priority: 1, capabilities: { contextLength: 8192 }, failOnStart: new WorkerError('small', 'bad_request', 'HTTP 400', { status: 400, backendCode: 'context_length_exceeded' }) });
    const large = new MockWorker({ name: 'large', priority: 2, capabilities: { contextLength: 128_000 }, chunks: ['a', 'b'], failAfter: 1 });
    const { cortex } = await start([small, large], { continuation: { maxSwitches: 2 } });
    expect((await read(cortex)).error).toMatchObject({ code: 'stream_interrupted', partialText: 'a' });
  });

  it('after a continuation, a worker that fails before any text is failed over without using a switch', async () => {
    const breaks = new MockWorker({ name: 'breaks', priority: 1, chunks: ['a', 'x'], failAfter: 1 });
    const down = new MockWorker({ name: 'down', priority: 2, failOnStart: true });
    const good = new MockWorker({ name: 'good', priority: 3, chunks: ['b'] });
    const { cortex, events } = await start([breaks, down, good], { continuation: { maxSwitches: 1 } });
    const { chunks, error } = await read(cortex);
    expect(error).toBeUndefined();
    expect(chunks.map((c) => c.text).join('')).toBe('ab');
    expect(all(events, 'pool.dispatch').map((d) => [d.worker, d.attempt, d.segment])).toEqual([['breaks', 1, 0], ['down', 2, 1], ['good', 3, 1]]);
    expect(all(events, 'pool.failover').map(({ type, from, deliveredChars }) => ({ type, from, deliveredChars }))).toEqual([
      { type: 'pool.failover', from: 'breaks', deliveredChars: 1 },
      { type: 'pool.failover', from: 'down', deliveredChars: 1 },
    ]);
  });

  it('a stream that ends without its final chunk names that in the attempt; a chunk that is not an object is a protocol error', async () => {
    const cut = yielding('cut', 1, []);
    const junk = yielding('junk', 2, [undefined as never]);
    const { cortex, events } = await start([cut, junk]);
    await read(cortex);
    const reasons = all(events, 'pool.attempt_failed').map((e) => [e.worker, e.reason]);
    expect(reasons[0]).toEqual(['cut', expect.stringMatching(/the stream ended without its final chunk/)]);
    expect(all(events, 'pool.attempt_failed')[0]).toMatchObject({ error: { kind: 'truncated' } });
    expect(all(events, 'pool.attempt_failed').find((e) => e.worker === 'junk')).toMatchObject({ error: { kind: 'protocol' } });
  });
});

describe('what the worker is asked, and what is said of it', () => {
  it('the first attempt gets the conversation as asked, nothing added', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['a'] });
    const { cortex } = await start([w], { continuation: { maxSwitches: 1 } });
    await cortex.dispatcher.complete(ask);
    expect(w.calls[0]!.messages).toEqual(ask);
  });

  it("a model that is a tag: the events name the worker's own model", async () => {
    const w = new MockWorker({ name: 'w', tags: ['fast'], models: ['small-1'], chunks: ['a'] });
    const { cortex, events } = await start([w]);
    await cortex.dispatcher.complete(ask, { model: 'fast' });
    expect(all(events, 'pool.stream_finished')[0]).toMatchObject({ model: 'small-1' });
    expect(all(events, 'pool.dispatch')[0]).toMatchObject({ model: 'small-1' });
  });

  it('usage that came before the final chunk is kept', async () => {
    const w = yielding('w', 1, [{ text: 'a', usage: { promptTokens: 3, completionTokens: 1 } }, { text: '', done: true }]);
    const { cortex, events } = await start([w]);
    await cortex.dispatcher.complete(ask);
    expect(all(events, 'pool.stream_finished')[0]).toMatchObject({ usage: { promptTokens: 3, completionTokens: 1 } });
  });

  it('a signal already aborted: StreamAbortedError at once, with nothing, and no worker asked', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['a'] });
    const { cortex } = await start([w]);
    const ctl = new AbortController();
    ctl.abort('no');
    const { error } = await read(cortex, { signal: ctl.signal });
    expect(error).toMatchObject({ code: 'stream_aborted', partialText: '' });
    expect((error as Error).cause).toBe('no');
    expect(w.calls).toHaveLength(0);
  });

  it('a request ended while nobody reads leaves no timer behind', async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 10, clock });
    const { cortex } = await start([w], { system: createSystem({ clock }) });
    const ctl = new AbortController();
    const it = cortex.dispatcher.dispatchStream(ask, { signal: ctl.signal });
    const first = it.next();
    await clock.advance(10);
    expect((await first).value).toMatchObject({ text: 'a' });
    const before = clock.pendingTimers;
    ctl.abort(); // the consumer holds the stream and reads no more
    await clock.advance(0);
    expect(clock.pendingTimers).toBeLessThan(before);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a hedge takes a worker with room now, never a place in its queue', async () => {
    const clock = new SimulatedClock();
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['s'], delayMs: 500, clock });
    const busy = new MockWorker({ name: 'busy', priority: 2, tags: ['pin'], limits: { maxConcurrent: 1 }, hang: true, clock });
    const { cortex, events } = await start([slow, busy], { system: createSystem({ clock }), hedge: { afterMs: 100, budget: 1 }, firstChunkTimeoutMs: 10_000 });
    const holder = new AbortController();
    const held = read(cortex, { route: 'pin', signal: holder.signal });
    await clock.advance(0);
    const reading = read(cortex);
    await clock.advance(200);
    expect((await cortex.dispatcher.status()).queued).toBe(0);
    await clock.advance(400);
    expect(new Set((await reading).chunks.map((c) => c.worker))).toEqual(new Set(['slow']));
    expect(all(events, 'pool.hedge_started')).toEqual([]);
    holder.abort();
    await held;
  });
});

describe('a slot given back untouched', () => {
  it("a half-open circuit's trial that its caller abandons is given back: the next request is the trial, and closes the circuit", async () => {
    const clock = new SimulatedClock();
    let mode: 'fail' | 'hang' | 'ok' = 'fail';
    const w = new MockWorker({ name: 'w', clock, chunks: ['ok'], failOnStart: false });
    const { cortex } = await start([w], { system: createSystem({ clock }), failureThreshold: 1, circuitResetMs: 1_000, firstChunkTimeoutMs: 60_000 });
    // A worker whose behaviour the test sets: failing, silent, then answering.
    const base = w.streamCompletion.bind(w);
    w.streamCompletion = async (messages, opts) => {
      if (mode === 'fail') throw new WorkerError('w', 'http', 'HTTP 500', { status: 500 });
      if (mode === 'hang') return (async function* () {
        await new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason), { once: true }));
      })();
      return base(messages, opts);
    };
    await read(cortex);
    expect((await cortex.dispatcher.status()).workers[0]!.circuit).toBe('open');
    await clock.advance(1_000); // half-open: one trial may go
    mode = 'hang';
    const ctl = new AbortController();
    const trial = read(cortex, { signal: ctl.signal });
    await clock.advance(10);
    ctl.abort('gone');
    expect((await trial).error).toMatchObject({ code: 'stream_aborted' });
    mode = 'ok';
    const next = read(cortex);
    await clock.advance(10);
    expect((await next).error).toBeUndefined();
    expect((await cortex.dispatcher.status()).workers[0]!.circuit).toBe('closed');
  });

  it("a consumer that holds each chunk longer than the idle timeout is not the worker's silence", async () => {
    const clock = new SimulatedClock();
    const w = new MockWorker({ name: 'w', chunks: ['a', 'b', 'c', 'd'], delayMs: 10, clock });
    const { cortex } = await start([w], { system: createSystem({ clock }), idleTimeoutMs: 100 });
    const got: string[] = [];
    const reading = (async () => {
      for await (const c of cortex.dispatcher.dispatchStream(ask)) {
        got.push(c.text);
        await new Promise<void>((r) => clock.setTimeout(r, 150)); // the consumer is slow, the worker is not
      }
    })();
    for (let t = 0; t < 1_500; t += 10) await clock.advance(10);
    await reading;
    expect(got.join('')).toBe('abcd');
  });
});
