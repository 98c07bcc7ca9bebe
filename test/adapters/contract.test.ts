import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicWorker, isWorkerError, OllamaWorker, OpenAIWorker, WorkerError, type LlmWorker } from '../../src/index.js';
import { MockWorker, startFakeAnthropic, startFakeOllama, startFakeOpenAI, type FakeAnthropicScript } from '../../src/testing.js';
import { collect } from './helpers.js';
import { AiSdkWorker } from '../../src/ai-sdk.js';

/** How to get a worker of each adapter that behaves a given way. */
interface Harness {
  complete(chunks: string[]): Promise<LlmWorker>;
  truncated(chunks: string[]): Promise<LlmWorker>;
  brokenAfter(chunks: string[], n: number): Promise<LlmWorker>;
  silent(): Promise<LlmWorker>;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const harnesses: Record<string, Harness> = {
  MockWorker: {
    complete: async (chunks) => new MockWorker({ chunks }),
    // MockWorker's own `truncate` imitates a buggy backend (the pool catches it); a truncation reported as an adapter must:
    truncated: async (chunks) =>
      new MockWorker({ chunks, failAfter: chunks.length, error: new WorkerError('mock', 'truncated', 'ended without done') }),
    brokenAfter: async (chunks, n) => new MockWorker({ chunks, failAfter: n }),
    silent: async () => new MockWorker({ hang: true }),
  },
  OllamaWorker: {
    complete: (chunks) => ollama({ chunks }),
    truncated: (chunks) => ollama({ chunks, endWithoutDone: true }),
    brokenAfter: (chunks, n) => ollama({ chunks, resetAfter: n }),
    silent: () => ollama({ headersThenSilence: true }),
  },
  OpenAIWorker: {
    complete: (chunks) => openai({ chunks }),
    truncated: (chunks) => openai({ chunks, endEarly: true }),
    brokenAfter: (chunks, n) => openai({ chunks, resetAfter: n }),
    silent: () => openai({ headersThenSilence: true }),
  },
  'AiSdkWorker (the real @ai-sdk/openai-compatible provider)': {
    complete: (chunks) => aiSdk({ chunks }),
    truncated: (chunks) => aiSdk({ chunks, endEarly: true }),
    brokenAfter: (chunks, n) => aiSdk({ chunks, resetAfter: n }),
    silent: () => aiSdk({ headersThenSilence: true }),
  },
  AnthropicWorker: {
    complete: (chunks) => anthropic({ chunks }),
    truncated: (chunks) => anthropic({ chunks, noMessageStop: true }),
    brokenAfter: (chunks, n) => anthropic({ chunks, resetAfter: n }),
    silent: () => anthropic({ headersThenSilence: true }),
  },
};

async function aiSdk(script: Exclude<NonNullable<Parameters<typeof startFakeOpenAI>[0]>['script'], Function | undefined>) {
  const fake = await startFakeOpenAI({ script });
  closers.push(() => fake.close());
  const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
  return new AiSdkWorker({ model: createOpenAICompatible({ name: 'fake', baseURL: fake.url }).chatModel('gpt-test') });
}

async function anthropic(script: FakeAnthropicScript) {
  const fake = await startFakeAnthropic({ script });
  closers.push(() => fake.close());
  return new AnthropicWorker({ baseUrl: fake.url, model: 'claude-test', apiKey: 'sk-ant-test-key' });
}

async function ollama(script: Parameters<typeof startFakeOllama>[0] extends infer O ? (O extends { script?: infer S } ? Exclude<S, Function> : never) : never) {
  const fake = await startFakeOllama({ script });
  closers.push(() => fake.close());
  return new OllamaWorker({ baseUrl: fake.url });
}
async function openai(script: Exclude<NonNullable<Parameters<typeof startFakeOpenAI>[0]>['script'], Function | undefined>) {
  const fake = await startFakeOpenAI({ script });
  closers.push(() => fake.close());
  return new OpenAIWorker({ baseUrl: fake.url, model: 'gpt-test' });
}


describe.each(Object.entries(harnesses))('the worker contract: %s', (_name, h) => {
  it('streams the whole answer and ends with exactly one done chunk, last', async () => {
    const r = await collect(await h.complete(['Ça ', 'va ', '€ 🙂']));
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('Ça va € 🙂');
    expect(r.chunks.filter((c) => c.done)).toHaveLength(1);
    expect(r.chunks.at(-1)!.done).toBe(true);
  });

  it('never ends a truncated answer with done: it throws a WorkerError', async () => {
    const r = await collect(await h.truncated(['a', 'b']));
    expect(r.chunks.some((c) => c.done)).toBe(false);
    expect(isWorkerError(r.error)).toBe(true);
  });

  it('a stream that breaks mid-answer throws after the text so far', async () => {
    const r = await collect(await h.brokenAfter(['a', 'b', 'c'], 2));
    expect(r.text).toBe('ab');
    expect(isWorkerError(r.error)).toBe(true);
  });

  it('stops when its signal aborts, with the signal reason', async () => {
    const ac = new AbortController();
    const w = await h.silent();
    const p = collect(w, ac.signal);
    await new Promise((r) => setTimeout(r, 20));
    ac.abort(new Error('stop'));
    expect(((await p).error as Error).message).toBe('stop');
  });

  it('describes itself without secrets and has a priority', async () => {
    const w = await h.complete(['x']);
    expect(w.info()).toMatchObject({ name: expect.any(String), kind: expect.any(String), models: expect.any(Array) });
    expect(Number.isFinite(w.priority())).toBe(true);
    expect((await w.healthCheck(new AbortController().signal)).status).toBe('available');
  });
});
