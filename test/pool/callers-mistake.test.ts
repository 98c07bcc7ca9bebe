/**
 * Whose fault an error is. A backend's 400 or 422 says the request itself is wrong (a context
 * too long, a bad tool schema, a refused parameter): that is the caller's mistake, not a failure
 * of the worker. It never counts toward a circuit, a failure streak or health, it is not failed
 * over (the next worker would refuse it the same way), and the caller gets an
 * `InvalidRequestError` with the backend's status, message and code. The one exception, as
 * LiteLLM's context-window fallbacks: a context length exceeded goes on to the workers whose
 * context is larger (or unknown), and the failover event says why.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, OpenAIWorker, WorkerError, isInvalidRequestError, isNoWorkersAvailableError, type InspectionEvent } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { openai, start } = useServers();
const ask = [{ role: 'user' as const, content: 'hi' }];

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the request to fail');
}

describe("a backend's 400 is the caller's mistake", () => {
  it('ends the request with InvalidRequestError carrying the status, message, code and field, without failing over', async () => {
    const strict = await openai({
      script: { status: 400, errorBody: JSON.stringify({ error: { message: "Invalid value for 'temperature': must be at most 2", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } }) },
    });
    const spare = new MockWorker({ name: 'spare', priority: 2 });
    const { cortex, events } = await start([new OpenAIWorker({ name: 'strict', baseUrl: strict.url, model: 'm', priority: 1 }), spare]);

    const e = await failure(cortex.dispatcher.complete(ask, { temperature: 1.5 }));

    expect(isInvalidRequestError(e)).toBe(true);
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e).toMatchObject({ code: 'invalid_request', worker: 'strict', status: 400, backendCode: 'invalid_value', param: 'temperature', backendMessage: "Invalid value for 'temperature': must be at most 2" });
    expect(spare.calls).toHaveLength(0); // it would refuse it the same way: not asked
    expect(events.filter((x) => x.type === 'pool.failover')).toHaveLength(0);
    expect(events.find((x) => x.type === 'pool.attempt_failed')).toMatchObject({ worker: 'strict', blame: 'caller' });
    expect(events.find((x) => x.type === 'pool.stream_finished')).toMatchObject({ outcome: 'invalid_request', reason: (e as Error).message });
  });

  it('never opens a circuit or counts as a failure, however many come', async () => {
    const refusal = new WorkerError('only', 'bad_request', 'HTTP 422: tools[0].parameters is not a JSON schema', { status: 422, body: 'tools[0].parameters is not a JSON schema' });
    const only = new MockWorker({ name: 'only', failOnStart: refusal });
    const { cortex, events } = await start([only], { failureThreshold: 2 });

    for (let i = 0; i < 5; i++) {
      const e = await failure(cortex.dispatcher.complete(ask));
      expect(e).toMatchObject({ code: 'invalid_request', status: 422, backendMessage: 'tools[0].parameters is not a JSON schema' });
    }

    const [w] = (await cortex.dispatcher.status()).workers;
    expect(w).toMatchObject({ circuit: 'closed', failures: 0 });
    expect(events.filter((x) => x.type === 'pool.circuit_changed')).toHaveLength(0);
    only.set({ failOnStart: false });
    expect(await cortex.dispatcher.complete(ask)).toMatchObject({ text: 'Hello from only' }); // still in rotation
  });

  it('a backend failure (500) still counts and fails over, as before', async () => {
    const down = new MockWorker({ name: 'down', priority: 1, failOnStart: true });
    const up = new MockWorker({ name: 'up', priority: 2 });
    const { cortex, events } = await start([down, up]);

    expect(await cortex.dispatcher.complete(ask)).toMatchObject({ workers: ['up'] });
    expect(events.find((x) => x.type === 'pool.attempt_failed')).toMatchObject({ worker: 'down', blame: 'worker' });
    expect((await cortex.dispatcher.status()).workers.find((w) => w.name === 'down')).toMatchObject({ failures: 1 });
  });
});

describe('a context length exceeded goes on only to a larger context', () => {
  const tooLong = (name: string): WorkerError =>
    new WorkerError(name, 'bad_request', "HTTP 400: This model's maximum context length is 8192 tokens", { status: 400, body: "This model's maximum context length is 8192 tokens", backendCode: 'context_length_exceeded', param: 'messages' });

  it('skips workers whose context is not larger, answers from one that is, and says why in the event', async () => {
    const small = new MockWorker({ name: 'small', priority: 1, capabilities: { contextLength: 8192 }, failOnStart: tooLong('small') });
    const smaller = new MockWorker({ name: 'smaller', priority: 2, capabilities: { contextLength: 4096 } });
    const same = new MockWorker({ name: 'same', priority: 3, capabilities: { contextLength: 8192 } });
    const large = new MockWorker({ name: 'large', priority: 4, capabilities: { contextLength: 128_000 } });
    const { cortex, events } = await start([small, smaller, same, large]);

    expect(await cortex.dispatcher.complete(ask)).toMatchObject({ workers: ['large'] });

    expect(smaller.calls).toHaveLength(0);
    expect(same.calls).toHaveLength(0);
    expect(events.filter((x): x is Extract<InspectionEvent, { type: 'pool.failover' }> => x.type === 'pool.failover')).toEqual([
      expect.objectContaining({ from: 'small', because: 'context_length_exceeded' }),
    ]);
    expect((await cortex.dispatcher.status()).workers.find((w) => w.name === 'small')).toMatchObject({ failures: 0, circuit: 'closed' });
  });

  it("goes to a worker whose context is unknown; when none is larger, the caller gets the backend's refusal", async () => {
    const small = new MockWorker({ name: 'small', priority: 1, capabilities: { contextLength: 8192 }, failOnStart: tooLong('small') });
    const unknown = new MockWorker({ name: 'unknown', priority: 2, capabilities: {}, failOnStart: tooLong('unknown') });
    const smaller = new MockWorker({ name: 'smaller', priority: 3, capabilities: { contextLength: 4096 } });
    const { cortex } = await start([small, unknown, smaller]);

    const e = await failure(cortex.dispatcher.complete(ask));

    expect(unknown.calls).toHaveLength(1);
    expect(smaller.calls).toHaveLength(0);
    expect(e).toMatchObject({ code: 'invalid_request', worker: 'unknown', backendCode: 'context_length_exceeded', param: 'messages' });
    expect((e as InvalidRequestError).attempts.map((a) => a.worker)).toEqual(['small', 'unknown', 'smaller']);
    expect((e as InvalidRequestError).attempts[2]!.reason).toMatch(/context of 4096 tokens is not larger/);
  });

  it("recognises Anthropic's and Ollama's words for it", async () => {
    const anthropicLike = new WorkerError('a', 'bad_request', 'HTTP 400: prompt is too long: 210000 tokens > 200000 maximum', { status: 400, body: 'prompt is too long: 210000 tokens > 200000 maximum', backendCode: 'invalid_request_error' });
    const a = new MockWorker({ name: 'a', priority: 1, capabilities: { contextLength: 200_000 }, failOnStart: anthropicLike });
    const b = new MockWorker({ name: 'b', priority: 2, capabilities: { contextLength: 1_000_000 } });
    const { cortex } = await start([a, b]);
    expect(await cortex.dispatcher.complete(ask)).toMatchObject({ workers: ['b'] });
  });
});

describe('NoWorkersAvailableError names the route and says when a resting worker is back', () => {
  it('names the route asked for and each reason', async () => {
    const { cortex } = await start([new MockWorker({ name: 'a', tags: ['code'], failOnStart: true })]);
    const e = await failure(cortex.dispatcher.complete(ask, { route: 'code' }));
    expect(isNoWorkersAvailableError(e)).toBe(true);
    expect((e as Error).message).toMatch(/^no workers available for route "code":\n {2}- a: /);
    expect(e).toMatchObject({ route: 'code', retryAfterMs: undefined });
  });

  it('retryAfterMs is the rest of the first worker back when every worker is rate limited', async () => {
    const limited = (name: string, ms: number): MockWorker =>
      new MockWorker({ name, failOnStart: new WorkerError(name, 'rate_limited', 'HTTP 429', { status: 429, retryAfterMs: ms }) });
    const { cortex } = await start([limited('a', 3_000), limited('b', 7_000)]);
    const e = await failure(cortex.dispatcher.complete(ask));
    expect(e).toMatchObject({ code: 'no_workers_available', retryAfterMs: 3_000 });
    // Asked again at once, both are skipped as cooling down: still a rest, still about 3 s.
    const again = await failure(cortex.dispatcher.complete(ask));
    expect((again as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(2_000);
    expect((again as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(3_000);
  });
});
