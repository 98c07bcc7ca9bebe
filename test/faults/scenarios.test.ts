/**
 * Fault-injection scenarios: a pool of a primary and a fallback Ollama worker, each on a real
 * fake server on 127.0.0.1. Each states what the caller gets: the full answer, or a typed error
 * saying what happened. Never a hang, never a truncated answer reported as complete.
 * Pool timeouts run on a simulated clock; HTTP is real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSystem,
  isDeadlineExceededError,
  isNoWorkersAvailableError,
  isStreamAbortedError,
  isStreamInterruptedError,
  OllamaWorker,
  SimulatedClock,
  startWorkers,
  type DispatchOptions,
  type StartWorkersOptions,
  type StreamChunk,
  type Workers,
} from '../../src/index.js';
import { startFakeOllama, type FakeOllama, type FakeOllamaScript } from '../../src/testing.js';

const ANSWER = ['The ', 'whole ', 'answer.'];
const FULL = ANSWER.join('');

interface Rig {
  primary: FakeOllama;
  fallback: FakeOllama;
  clock: SimulatedClock;
  cortex: Workers;
  ask(options?: DispatchOptions): Promise<{ text: string; chunks: StreamChunk[]; error: unknown; workers: string[] }>;
}

let rig: Rig | undefined;
afterEach(tearDown);

async function setup(
  primaryScript: FakeOllamaScript | ((req: unknown, i: number) => FakeOllamaScript),
  options: Omit<StartWorkersOptions, 'workers' | 'system'> = {},
  fallbackScript: FakeOllamaScript = { chunks: ANSWER },
): Promise<Rig> {
  const primary = await startFakeOllama({ script: primaryScript as FakeOllamaScript });
  const fallback = await startFakeOllama({ script: fallbackScript });
  const clock = new SimulatedClock();
  const cortex = await startWorkers({
    system: createSystem({ clock }),
    workers: [
      new OllamaWorker({ name: 'primary', baseUrl: primary.url, priority: 10 }),
      new OllamaWorker({ name: 'fallback', baseUrl: fallback.url, priority: 20 }),
    ],
    healthIntervalMs: 0,
    firstChunkTimeoutMs: 2_000,
    idleTimeoutMs: 5_000,
    ...options,
  });
  const ask: Rig['ask'] = async (o = {}) => {
    const chunks: StreamChunk[] = [];
    let error: unknown;
    try {
      for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }], o)) chunks.push(c);
    } catch (e) {
      error = e;
    }
    return { chunks, text: chunks.map((c) => c.text).join(''), error, workers: [...new Set(chunks.map((c) => c.worker))] };
  };
  rig = { primary, fallback, clock, cortex, ask };
  return rig;
}

/** Waits (real time, bounded) until `cond` holds: for I/O to reach the fake server. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('condition not reached');
}

function complete(r: { chunks: StreamChunk[]; text: string; error: unknown }, worker: string): void {
  expect(r.error).toBeUndefined();
  expect(r.text).toBe(FULL);
  expect(r.chunks.at(-1)!.done).toBe(true);
  expect(new Set(r.chunks.map((c) => c.worker))).toEqual(new Set([worker]));
}

function truncatedIsReported(r: { chunks: StreamChunk[]; error: unknown }): void {
  expect(r.chunks.some((c) => c.done)).toBe(false);
  expect(r.error).toBeDefined();
}

describe('fault scenarios', () => {
  it('1. primary refuses connections: the fallback answers in full', async () => {
    const { primary, ask } = await setup({});
    await primary.close();
    complete(await ask(), 'fallback');
  });

  it.each([500, 503])('2. primary answers %i: the fallback answers in full', async (status) => {
    const { ask, primary } = await setup({ status, errorMessage: 'server busy, please try again.' });
    complete(await ask(), 'fallback');
    expect(primary.requests).toHaveLength(1);
  });

  it('3. 429 with retry-after: cool down, honour the delay, come back after it', async () => {
    const { ask, primary, clock, cortex } = await setup((_r, i) => (i === 0 ? { status: 429, retryAfter: '30' } : { chunks: ANSWER }));
    complete(await ask(), 'fallback');
    const s = (await cortex.dispatcher.status()).workers.find((w) => w.name === 'primary')!;
    expect(s).toMatchObject({ circuit: 'closed', failures: 0 });
    expect(s.coolingDownMs).toBe(30_000);
    complete(await ask(), 'fallback');
    expect(primary.requests).toHaveLength(1);
    await clock.advance(30_000);
    complete(await ask(), 'primary');
  });

  it('4. 429 "insufficient quota" is not transient: the primary is not hammered', async () => {
    const { ask, primary } = await setup({ status: 429, errorMessage: 'insufficient_quota: you exceeded your current quota' });
    for (let i = 0; i < 10; i++) complete(await ask(), 'fallback');
    expect(primary.requests).toHaveLength(1);
  });

  it('5. 401 bad key is not transient: the primary is not hammered', async () => {
    const { ask, primary, cortex } = await setup({ status: 401, errorMessage: 'unauthorized' });
    for (let i = 0; i < 10; i++) complete(await ask(), 'fallback');
    expect(primary.requests).toHaveLength(1);
    expect((await cortex.dispatcher.status()).workers[0]!.circuit).toBe('open');
  });

  it('6. no response at all (no headers): the first-chunk timeout fails over', async () => {
    const { ask, primary, clock } = await setup({ noResponse: true });
    const answer = ask();
    await until(() => primary.requests.length === 1);
    await clock.advance(2_000);
    complete(await answer, 'fallback');
    await until(() => primary.clientAborts === 1); // the hanging request was really cancelled
  });

  it('7. headers, then silence before the first token: the first-chunk timeout fails over', async () => {
    const { ask, primary, clock } = await setup({ headersThenSilence: true });
    const answer = ask();
    await until(() => primary.requests.length === 1);
    await clock.advance(2_000);
    complete(await answer, 'fallback');
  });

  it('8. stream cut mid-answer (connection reset): a typed error with the partial text', async () => {
    const { ask } = await setup({ chunks: ANSWER, resetAfter: 2 });
    const r = await ask();
    truncatedIsReported(r);
    expect(isStreamInterruptedError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ worker: 'primary', partialText: 'The whole ' });
    expect((r.error as Error).message).toContain('connection lost mid-stream');
  });

  it('8b. ... and with continuation, the fallback finishes the answer', async () => {
    const { ask, fallback } = await setup({ chunks: ANSWER, resetAfter: 2 }, { continuation: { maxSwitches: 1 } }, { chunks: ['answer.'] });
    const r = await ask();
    expect(r.error).toBeUndefined();
    expect(r.text).toBe(FULL);
    expect(r.workers).toEqual(['primary', 'fallback']);
    expect(fallback.requests[0]!.messages.at(-2)).toEqual({ role: 'assistant', content: 'The whole ' });
  });

  it('9. stream stalls mid-answer: the idle timeout ends it with a typed error', async () => {
    const { ask, primary, clock } = await setup({ chunks: ANSWER, stallAfter: 1 });
    const answer = ask();
    await until(() => primary.requests.length === 1);
    await new Promise((r) => setTimeout(r, 30)); // the first chunk arrives
    await clock.advance(5_000);
    const r = await answer;
    truncatedIsReported(r);
    expect(r.error).toMatchObject({ partialText: 'The ' });
    expect((r.error as Error).message).toContain('no chunk for 5000 ms');
  });

  it('10. a 200 stream with an error line: before any text it fails over, after text it is a typed error', async () => {
    complete(await (await setup({ chunks: ANSWER, errorAfter: 0 })).ask(), 'fallback');
    await tearDown();
    const r = await (await setup({ chunks: ANSWER, errorAfter: 1 })).ask();
    truncatedIsReported(r);
    expect((r.error as Error).message).toContain('an error was encountered while running the model');
  });

  it('11. a clean end without done: never reported as complete', async () => {
    const r = await (await setup({ chunks: ANSWER, endWithoutDone: true })).ask();
    truncatedIsReported(r);
    expect(r.text).toBe(FULL);
    expect((r.error as Error).message).toContain('the stream ended without a done line');
  });

  it('12. a malformed JSON line: a typed error', async () => {
    const r = await (await setup({ chunks: ANSWER, malformedAfter: 1 })).ask();
    truncatedIsReported(r);
    expect((r.error as Error).message).toContain('malformed JSON line');
  });

  it('13. an oversized line before any text: the fallback answers', async () => {
    const { ask } = await setup({ oversizedLine: 2_000_000 });
    complete(await ask(), 'fallback');
  });

  it('14. a slow but healthy primary is not failed over needlessly', async () => {
    const { ask, fallback } = await setup({ chunks: ANSWER, delayMs: 40 });
    complete(await ask(), 'primary');
    expect(fallback.requests).toHaveLength(0);
  });

  it('15. a flapping primary: few attempts while it is down, traffic back soon after it recovers', async () => {
    let down = true;
    const { ask, primary, clock } = await setup(() => (down ? { status: 500 } : { chunks: ANSWER }), { failureThreshold: 3, circuitResetMs: 10_000 });
    for (let i = 0; i < 20; i++) complete(await ask(), 'fallback');
    expect(primary.requests).toHaveLength(3); // the circuit opened after 3 failures
    await clock.advance(10_000);
    await ask(); // the half-open trial fails: open again
    expect(primary.requests).toHaveLength(4);
    down = false;
    for (let i = 0; i < 5; i++) complete(await ask(), 'fallback');
    expect(primary.requests).toHaveLength(4);
    await clock.advance(10_000);
    complete(await ask(), 'primary'); // the trial succeeds: closed
    for (let i = 0; i < 5; i++) complete(await ask(), 'primary');
  });

  it('16. every worker down: NoWorkersAvailableError with every reason, fast', async () => {
    const { ask, primary, fallback } = await setup({});
    await primary.close();
    await fallback.close();
    const t0 = performance.now();
    const r = await ask();
    expect(performance.now() - t0).toBeLessThan(5_000); // bounded by connection refusals, not timeouts
    expect(isNoWorkersAvailableError(r.error)).toBe(true);
    const attempts = (r.error as { attempts: { worker: string; reason: string }[] }).attempts;
    expect(attempts.map((a) => a.worker)).toEqual(['primary', 'fallback']);
    for (const a of attempts) expect(a.reason).toContain('ECONNREFUSED');
  });

  it('17. the caller cancels mid-stream: the upstream request is cancelled, in-flight back to 0', async () => {
    const { cortex, primary } = await setup({ chunks: ANSWER, stallAfter: 1 });
    const ac = new AbortController();
    const chunks: StreamChunk[] = [];
    let error: unknown;
    try {
      for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }], { signal: ac.signal })) {
        chunks.push(c);
        ac.abort(new Error('user closed the tab'));
      }
    } catch (e) {
      error = e;
    }
    expect(isStreamAbortedError(error)).toBe(true);
    expect(chunks.map((c) => c.text)).toEqual(['The ']);
    await until(() => primary.clientAborts === 1);
    expect((await cortex.dispatcher.status()).workers.map((w) => w.inflight)).toEqual([0, 0]);
  });

  it('18. a cold start slower than the first-chunk timeout on the only worker is no failure', async () => {
    const only = await startFakeOllama({ script: { chunks: ANSWER, delayMs: 150 } });
    const clock = new SimulatedClock();
    const cortex = await startWorkers({
      system: createSystem({ clock }),
      workers: [new OllamaWorker({ name: 'only', baseUrl: only.url })],
      healthIntervalMs: 0,
      firstChunkTimeoutMs: 100,
    });
    try {
      const chunks: StreamChunk[] = [];
      const done = (async () => {
        for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }])) chunks.push(c);
      })();
      await until(() => only.requests.length === 1);
      await clock.advance(60_000); // far past the first-chunk timeout, on the pool's clock
      await done;
      expect(chunks.map((c) => c.text).join('')).toBe(FULL);
    } finally {
      await cortex.stop();
      await only.close();
    }
  });

  it('the total deadline ends a slow answer with DeadlineExceededError, never a hang', async () => {
    const { ask, primary, clock } = await setup({ chunks: ANSWER, stallAfter: 1 }, { deadlineMs: 3_000, idleTimeoutMs: 60_000 });
    const answer = ask();
    await until(() => primary.requests.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    await clock.advance(3_000);
    const r = await answer;
    expect(isDeadlineExceededError(r.error)).toBe(true);
    expect(r.error).toMatchObject({ partialText: 'The ' });
  });
});

async function tearDown(): Promise<void> {
  if (!rig) return;
  await rig.cortex.stop();
  await rig.primary.close();
  await rig.fallback.close();
  rig = undefined;
}
