/**
 * Reasoning models are not silent ones; a cancel is final even when chunks are buffered; the same
 * model name means the same model in both adapters. Over real HTTP against the fake servers.
 */
import { describe, expect, it } from 'vitest';
import { useServers } from '../support/servers.js';
import {
  isStreamAbortedError,
  OllamaWorker,
  OpenAIWorker,
  type LlmWorker,
  type StreamChunk,
  type Workers,
} from '../../src/index.js';

const servers = useServers();
const { ollama, openai } = servers;

async function pool(workers: LlmWorker[], firstChunkTimeoutMs: number): Promise<Workers> {
  return (await servers.start(workers, { firstChunkTimeoutMs, failureThreshold: 3 })).cortex;
}

async function collect(cortex: Workers): Promise<StreamChunk[]> {
  const chunks: StreamChunk[] = [];
  for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'think' }])) chunks.push(c);
  return chunks;
}

describe('a model that is thinking is making progress', () => {
  it.each(['reasoning_content', 'reasoning'] as const)(
    'OpenAI-compatible `%s` deltas count as first chunks and reach the caller apart from the text',
    async (field) => {
      // Thinks for 5 x 250 ms, longer than the 1 s first-chunk timeout (wide margins: real time on a busy machine).
      const primary = await openai({ script: { reasoning: ['Let', ' me', ' see', '...', ' ok'], reasoningField: field, reasoningDelayMs: 250, chunks: ['4'] } });
      const fallback = await openai({ script: { chunks: ['fallback'] } });
      const cortex = await pool(
        [
          new OpenAIWorker({ name: 'thinker', baseUrl: primary.url, model: 'gpt-test', priority: 1 }),
          new OpenAIWorker({ name: 'fallback', baseUrl: fallback.url, model: 'gpt-test', priority: 2 }),
        ],
        1_000,
      );
      const chunks = await collect(cortex);
      expect(fallback.requests).toHaveLength(0);
      expect(chunks.map((c) => c.reasoning ?? '').join('')).toBe('Let me see... ok');
      expect(chunks.map((c) => c.text).join('')).toBe('4');
      expect(chunks.every((c) => c.worker === 'thinker')).toBe(true);
      expect(chunks.at(-1)).toMatchObject({ done: true, usage: { promptTokens: 3, completionTokens: 1 } });
      const status = (await cortex.dispatcher.status()).workers.find((w) => w.name === 'thinker')!;
      expect(status).toMatchObject({ failures: 0, successes: 1, circuit: 'closed' });
    },
  );

  it("Ollama's `message.thinking` counts as a first chunk and reaches the caller apart from the text", async () => {
    const primary = await ollama({ script: { thinking: ['hmm', ' right'], thinkingDelayMs: 600, chunks: ['42'] } });
    const fallback = await ollama({ script: { chunks: ['fallback'] } });
    const cortex = await pool(
      [new OllamaWorker({ name: 'thinker', baseUrl: primary.url, priority: 1 }), new OllamaWorker({ name: 'fallback', baseUrl: fallback.url, priority: 2 })],
      1_000,
    );
    const chunks = await collect(cortex);
    expect(fallback.requests).toHaveLength(0);
    expect(chunks.map((c) => c.reasoning ?? '').join('')).toBe('hmm right');
    expect(chunks.map((c) => c.text).join('')).toBe('42');
  });
});

describe('a cancel is final', () => {
  it('after an abort the caller gets StreamAbortedError and nothing more, though every line came in one read', async () => {
    const server = await ollama({ script: { chunks: Array.from({ length: 50 }, (_, i) => `c${i} `) } });
    const cortex = await pool([new OllamaWorker({ name: 'local', baseUrl: server.url })], 15_000);
    for (let attempt = 0; attempt < 10; attempt++) {
      const ac = new AbortController();
      const seen: StreamChunk[] = [];
      let error: unknown;
      try {
        for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'x' }], { signal: ac.signal })) {
          seen.push(c);
          ac.abort();
        }
      } catch (e) {
        error = e;
      }
      expect(seen).toHaveLength(1);
      expect(isStreamAbortedError(error)).toBe(true);
    }
    expect((await cortex.dispatcher.status()).workers[0]!.inflight).toBe(0);
  });
});

describe('the same model name means the same model', () => {
  it('OpenAIWorker (ollama preset) finds `llama3.2` listed as `llama3.2:latest`, as OllamaWorker does', async () => {
    const v1 = await openai({ models: ['llama3.2:latest', 'qwen3:8b'] });
    const native = await ollama({ models: ['llama3.2:latest'] });
    const signal = new AbortController().signal;
    expect(await new OpenAIWorker({ preset: 'ollama', baseUrl: v1.url, model: 'llama3.2' }).healthCheck(signal)).toEqual({ status: 'available' });
    expect(await new OllamaWorker({ baseUrl: native.url, model: 'llama3.2' }).healthCheck(signal)).toEqual({ status: 'available' });
    // A tag is a tag: `qwen3` is not `qwen3:8b`.
    expect(await new OpenAIWorker({ preset: 'ollama', baseUrl: v1.url, model: 'qwen3' }).healthCheck(signal)).toMatchObject({ status: 'unavailable' });
  });
});
