import { afterEach, describe, expect, it } from 'vitest';
import { isValidationError, OPENAI_PRESETS, OpenAIWorker, type WorkerError } from '../../src/index.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../../src/testing.js';
import { collect } from './helpers.js';

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  delete process.env.CORTEX_TEST_KEY;
});

const KEY = 'sk-test-SECRET-1234567890';
const hi = [{ role: 'user' as const, content: 'Hi' }];

async function worker(options: FakeOpenAIOptions = {}, extra: Partial<ConstructorParameters<typeof OpenAIWorker>[0]> = {}) {
  fake = await startFakeOpenAI(options);
  return new OpenAIWorker({ baseUrl: fake.url, model: 'gpt-test', ...extra });
}


describe('OpenAIWorker over real HTTP (SSE)', () => {
  it('streams, reads the usage chunk with empty choices, and stops at [DONE]', async () => {
    const w = await worker({ script: { chunks: ['Hel', 'lo'] } });
    const r = await collect(w);
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('Hello');
    expect(r.chunks.at(-1)).toEqual({ text: '', done: true, finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 2 } });
    expect(fake!.requests[0]).toMatchObject({ model: 'gpt-test', stream: true, stream_options: { include_usage: true } });
  });

  it('ignores keep-alive comments and survives events split across reads', async () => {
    const w = await worker({ script: { chunks: ['€', '日本', '🙂'], comments: true, splitWrites: true } });
    expect((await collect(w)).text).toBe('€日本🙂');
  });

  it('an error event followed by [DONE] is an error, not a complete answer', async () => {
    const w = await worker({ script: { chunks: ['a', 'b'], errorEventAfter: 1 } });
    const r = await collect(w);
    expect(r.text).toBe('a');
    expect(r.error).toMatchObject({ kind: 'stream_error' });
    expect(r.chunks.some((c) => c.done)).toBe(false);
  });

  it('an `event: error` is an error too', async () => {
    const w = await worker({ script: { chunks: ['a'], errorEventAfter: 0, namedErrorEvent: true } });
    expect((await collect(w)).error).toMatchObject({ kind: 'stream_error' });
  });

  it('a finish reason and a clean end without [DONE] is complete', async () => {
    const w = await worker({ script: { chunks: ['a'], noDone: true } });
    const r = await collect(w);
    expect(r.error).toBeUndefined();
    expect(r.chunks.at(-1)!.done).toBe(true);
  });

  it('an end without [DONE] and without a finish reason is truncated', async () => {
    const w = await worker({ script: { chunks: ['a'], endEarly: true } });
    expect((await collect(w)).error).toMatchObject({ kind: 'truncated' });
  });

  it('a malformed event is a protocol error; an oversized one too', async () => {
    expect((await collect(await worker({ script: { chunks: ['a', 'b'], malformedAfter: 1 } }))).error).toMatchObject({ kind: 'protocol' });
    await fake!.close();
    const big = await collect(await worker({ script: { oversizedEvent: 100_000 } }, { maxEventBytes: 10_000 }));
    expect(big.error).toMatchObject({ kind: 'protocol' });
  });

  it.each([
    ['object', 'HTTP 500: error 500'],
    ['array', 'HTTP 500: error 500'],
    ['text', 'HTTP 500: error 500'],
  ] as const)('reads an error body given as %s', async (shape, message) => {
    const w = await worker({ script: { status: 500, errorBody: shape } });
    const err = await w.streamCompletion(hi, { signal: new AbortController().signal }).catch((e: WorkerError) => e);
    expect(err).toMatchObject({ kind: 'http', status: 500 });
    expect((err as Error).message).toBe(`worker openai-compatible: ${message}`);
  });

  it('tells a rate limit (cool down) from an exhausted quota (not transient)', async () => {
    const limited = await worker({ script: { status: 429, retryAfter: '2' } });
    expect(await limited.streamCompletion(hi, { signal: new AbortController().signal }).catch((e) => e)).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 2_000,
    });
    fake!.set({ script: { status: 429, errorCode: 'insufficient_quota' } });
    expect(await limited.streamCompletion(hi, { signal: new AbortController().signal }).catch((e) => e)).toMatchObject({ kind: 'quota' });
  });

  it('reads the API key from the environment, and never shows it', async () => {
    process.env.CORTEX_TEST_KEY = KEY;
    const w = await worker({ apiKey: KEY }, { apiKeyEnv: 'CORTEX_TEST_KEY' });
    expect((await collect(w)).error).toBeUndefined();
    expect(JSON.stringify(w.info())).not.toContain(KEY);
    process.env.CORTEX_TEST_KEY = 'sk-wrong-key-000000';
    const err = await w.streamCompletion(hi, { signal: new AbortController().signal }).catch((e: WorkerError) => e);
    expect(err).toMatchObject({ kind: 'auth', status: 401 });
    expect(JSON.stringify({ ...(err as object), message: (err as Error).message })).not.toContain('sk-wrong-key-000000');
  });

  it('without its key, health says which variable to set and requests fail as auth', async () => {
    const w = await worker({}, { apiKeyEnv: 'CORTEX_TEST_KEY' });
    expect(await w.healthCheck(new AbortController().signal)).toEqual({
      status: 'unavailable',
      reason: 'API key missing: set the environment variable CORTEX_TEST_KEY',
    });
    expect(await w.streamCompletion(hi, { signal: new AbortController().signal }).catch((e) => e)).toMatchObject({ kind: 'auth' });
  });

  it('health: GET /models lists the model, or says it is not offered', async () => {
    const w = await worker({ models: ['gpt-test', 'other'] });
    expect(await w.healthCheck(new AbortController().signal)).toEqual({ status: 'available' });
    fake!.set({ models: ['other'] });
    expect((await w.healthCheck(new AbortController().signal)).status).toBe('unavailable');
  });

  it('has presets for the common services', () => {
    expect(Object.keys(OPENAI_PRESETS).sort()).toEqual(['cohere', 'gemini', 'groq', 'llamacpp', 'lmstudio', 'mistral', 'ollama', 'openai', 'vllm']);
    const groq = new OpenAIWorker({ preset: 'groq', model: 'llama-3.1-8b-instant' });
    expect(groq.info()).toEqual({ name: 'groq', kind: 'openai', provider: 'groq', models: ['llama-3.1-8b-instant'], endpoint: 'https://api.groq.com/openai/v1', capabilities: { tools: true, images: true, jsonSchema: true } });
    expect(groq.priority()).toBe(60);
  });

  it.each(['mistral', 'cohere'] as const)('%s preset: never sends stream_options, which its API refuses (422 extra_forbidden)', async (preset) => {
    const server = await startFakeOpenAI({ rejectFields: ['stream_options'], script: { chunks: ['ok'] } });
    try {
      const w = new OpenAIWorker({ preset, baseUrl: server.url, model: 'm', apiKey: 'k-12345678' });
      expect(w.info()).toMatchObject({ name: preset, endpoint: server.url });
      expect((await collect(w)).text).toBe('ok');
      expect(server.requests[0]!.stream_options).toBeUndefined();
      // The same server with the option sent: the refusal is a typed bad request, not a crash.
      const forced = new OpenAIWorker({ preset, baseUrl: server.url, model: 'm', apiKey: 'k-12345678', includeUsage: true });
      expect((await collect(forced)).error).toMatchObject({ code: 'worker_error', status: 422 });
    } finally {
      await server.close();
    }
  });

  it('refuses bad options, naming the field', () => {
    let err: unknown;
    try {
      new OpenAIWorker({ model: '', apiKeyEnv: 'not a name' } as never);
    } catch (e) {
      err = e;
    }
    expect(isValidationError(err)).toBe(true);
    expect((err as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['OpenAIWorker options.model', 'OpenAIWorker options.apiKeyEnv']);
    expect(() => new OpenAIWorker({ model: 'x' })).toThrow('OpenAIWorker options.baseUrl: expected a base URL, or a preset');
  });
});
