/**
 * AnthropicWorker over the native Messages API, against the fake server speaking it: the
 * request's shape (system, content blocks, tool_use / tool_result, images, tools, max_tokens),
 * the stream's event types (text, thinking, tool-use input pieces, usage, stop reasons, ping,
 * error events), its error statuses (529 overloaded, 429, 401, a 400 about the credit balance),
 * its rate-limit headers, and faults in a pool.
 */
import { describe, expect, it } from 'vitest';
import {
  AnthropicWorker,
  collectToolCalls,
  isStreamInterruptedError,
  isWorkerError,
  OllamaWorker,
  parseConfig,
  type ChatMessage,
  type CompletionChunk,
  type RateLimitHint,
} from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropicOptions } from '../../src/testing.js';
import { useServers } from '../support/servers.js';
import { collect } from './helpers.js';

const { ollama, start } = useServers();
const KEY = 'sk-ant-secret-0123456789';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

async function fake(options: FakeAnthropicOptions = {}) {
  const server = await startFakeAnthropic({ apiKey: KEY, ...options });
  const worker = new AnthropicWorker({ name: 'claude', baseUrl: server.url, model: 'claude-test', apiKey: KEY });
  return { server, worker };
}

async function read(stream: AsyncIterable<CompletionChunk>): Promise<CompletionChunk[]> {
  const out: CompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}
const signal = (): AbortSignal => new AbortController().signal;

describe('AnthropicWorker: the Messages protocol', () => {
  it('streams text, thinking as reasoning, usage from message_start and message_delta; pings are ignored', async () => {
    const { server, worker } = await fake({ script: { thinking: ['Let me', ' think.'], chunks: ['Bon', 'jour'], pings: true } });
    try {
      const chunks = await read(await worker.streamCompletion([{ role: 'user', content: 'Salut' }], { signal: signal() }));
      expect(chunks.map((c) => c.reasoning ?? '').join('')).toBe('Let me think.');
      expect(chunks.map((c) => c.text).join('')).toBe('Bonjour');
      expect(chunks.at(-1)).toEqual({ text: '', done: true, finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 2 } });
      expect(server.headers[0]).toMatchObject({ 'x-api-key': KEY, 'anthropic-version': '2023-06-01' });
      expect(server.requests[0]).toMatchObject({ model: 'claude-test', max_tokens: 4096, stream: true });
    } finally {
      await server.close();
    }
  });

  it('sends system messages as system, images as image blocks, tool calls as tool_use and results as tool_result in a user turn', async () => {
    const { server, worker } = await fake({ script: { chunks: ['ok'] } });
    try {
      const conversation: ChatMessage[] = [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', url: `data:image/png;base64,${PNG}` }, { type: 'image', url: 'https://example.com/cat.png' }] },
        { role: 'assistant', content: 'Checking.', toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', content: '21C', toolCallId: 'toolu_1' },
        { role: 'user', content: 'And?' },
      ];
      const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
      await read(await worker.streamCompletion(conversation, { signal: signal(), tools, toolChoice: 'required', temperature: 0.5, maxTokens: 100, stop: ['END'], topP: 0.9 }));
      const body = server.requests[0]!;
      expect(body.system).toBe('Be brief.');
      expect(body.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '21C' }, { type: 'text', text: 'And?' }] },
      ]);
      expect(body.tools).toEqual([{ name: 'get_weather', description: 'Weather', input_schema: tools[0]!.parameters }]);
      expect(body).toMatchObject({ tool_choice: { type: 'any' }, temperature: 0.5, max_tokens: 100, stop_sequences: ['END'], top_p: 0.9 });
    } finally {
      await server.close();
    }
  });

  it('streams tool_use blocks as tool-call deltas; they add up to whole calls and the answer ends with tool_calls', async () => {
    const { server, worker } = await fake({ script: { chunks: ['Let me check.'], toolUse: [{ name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } }, { name: 'get_time', input: {} }] } });
    try {
      const chunks = await read(await worker.streamCompletion([{ role: 'user', content: 'weather?' }], { signal: signal(), tools: [{ name: 'get_weather' }, { name: 'get_time' }] }));
      expect(collectToolCalls(chunks.flatMap((c) => c.toolCalls ?? []))).toEqual([
        { id: 'toolu_0_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
        { id: 'toolu_1_1', name: 'get_time', arguments: '{}' },
      ]);
      expect(chunks.at(-1)).toMatchObject({ done: true, finishReason: 'tool_calls' });
    } finally {
      await server.close();
    }
  });

  it('maps each error to its kind: 529 and 429 rest the worker, 401 is auth, a credit-balance 400 is quota; the key never shows', async () => {
    const cases: Array<[FakeAnthropicOptions['script'], string, number | undefined]> = [
      [{ status: 529 }, 'rate_limited', undefined],
      [{ status: 429, retryAfter: '7' }, 'rate_limited', 7000],
      [{ status: 400, errorMessage: 'Your credit balance is too low to access the Anthropic API.' }, 'quota', undefined],
      [{ status: 404, errorMessage: 'model: claude-nope' }, 'model_not_found', undefined],
    ];
    for (const [script, kind, retry] of cases) {
      const { server, worker } = await fake({ script });
      const r = await collect(worker);
      expect(isWorkerError(r.error) && [r.error.kind, r.error.retryAfterMs]).toEqual([kind, retry]);
      await server.close();
    }
    const { server } = await fake();
    const wrong = new AnthropicWorker({ baseUrl: server.url, model: 'claude-test', apiKey: 'sk-ant-wrong-key-999' });
    const r = await collect(wrong);
    expect(isWorkerError(r.error) && r.error.kind).toBe('auth');
    expect(String(r.error)).not.toContain('sk-ant-wrong-key-999');
    expect(await wrong.healthCheck(signal())).toEqual({ status: 'unavailable', reason: 'rejected credentials (HTTP 401)' });
    await server.close();
  });

  it('an error event mid-stream is a stream_error; a stream without message_stop is truncated', async () => {
    const { server, worker } = await fake({ script: { chunks: ['a', 'b'], errorEventAfter: 1 } });
    const r = await collect(worker);
    expect([r.text, isWorkerError(r.error) && r.error.kind]).toEqual(['a', 'stream_error']);
    expect(String(r.error)).toContain('overloaded_error');
    server.set({ script: { chunks: ['a'], noMessageStop: true } });
    const t = await collect(worker);
    expect(isWorkerError(t.error) && t.error.kind).toBe('truncated');
    await server.close();
  });

  it('refuses before sending what the Messages API cannot take; reports its rate-limit headers at 0', async () => {
    const reset = new Date(Date.now() + 30_000).toISOString();
    const { server, worker } = await fake({ script: { chunks: ['ok'], headers: { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': reset } } });
    try {
      for (const opts of [{ responseFormat: { type: 'json' as const } }, { temperature: 1.5 }]) {
        const e = await worker.streamCompletion([{ role: 'user', content: 'x' }], { signal: signal(), ...opts }).catch((x: unknown) => x);
        expect(isWorkerError(e) && e.kind).toBe('unsupported');
      }
      expect(server.requests).toHaveLength(0);
      const hints: RateLimitHint[] = [];
      await read(await worker.streamCompletion([{ role: 'user', content: 'x' }], { signal: signal(), reportLimits: (h) => hints.push(h) }));
      expect(hints).toHaveLength(1);
      expect(hints[0]!.reason).toBe('rate limit reached (anthropic-ratelimit-requests-remaining: 0)');
      expect(hints[0]!.restMs).toBeGreaterThan(25_000);
      expect(worker.info()).toEqual({ name: 'claude', kind: 'anthropic', models: ['claude-test'], endpoint: server.url, capabilities: { tools: true, images: true, jsonSchema: false } });
    } finally {
      await server.close();
    }
  });

  it('is configured from a config file, with the key by environment variable name', () => {
    const c = parseConfig({ workers: [{ kind: 'anthropic', model: 'claude-sonnet-4-5', tags: ['smart'], maxConcurrent: 4 }] });
    expect(c.workers[0]!.info()).toMatchObject({ name: 'anthropic', kind: 'anthropic', models: ['claude-sonnet-4-5'], endpoint: 'https://api.anthropic.com', tags: ['smart'] });
    expect(c.workers[0]!.limits?.()).toEqual({ maxConcurrent: 4 });
    expect(() => parseConfig({ workers: [{ kind: 'anthropic', model: 'm', apiKeyEnv: 'sk-ant-123' }] })).toThrow(/workers\[0\]\.apiKeyEnv/);
  });
});

describe('AnthropicWorker in a pool: faults', () => {
  it('overloaded (529): the fallback answers; the worker rests and is not counted as down', async () => {
    const { server, worker } = await fake({ script: { status: 529 } });
    const backup = await ollama({ script: { chunks: ['from ', 'backup'] } });
    const { cortex, events } = await start([worker, new OllamaWorker({ name: 'backup', baseUrl: backup.url, priority: 100 })], { failureThreshold: 1 });
    try {
      expect(await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).toMatchObject({ text: 'from backup', workers: ['backup'] });
      expect(events).toContainEqual(expect.objectContaining({ type: 'pool.cooldown', worker: 'claude' }));
      const s = (await cortex.dispatcher.status()).workers.find((w) => w.name === 'claude')!;
      expect([s.circuit, s.failures]).toEqual(['closed', 0]);
    } finally {
      await server.close();
    }
  });

  it('a break mid-answer is StreamInterruptedError with the partial text; with continuation the fallback finishes it', async () => {
    const { server, worker } = await fake({ script: { chunks: ['The ', 'whole ', 'answer.'], resetAfter: 2 } });
    const backup = await ollama({ script: { chunks: ['answer.'] } });
    const workers = () => [worker, new OllamaWorker({ name: 'backup', baseUrl: backup.url, priority: 100 })];
    const one = await start(workers());
    const e = await one.cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]).catch((x: unknown) => x);
    expect(isStreamInterruptedError(e) && e.partialText).toBe('The whole ');
    const two = await start(workers(), { continuation: { maxSwitches: 1 }, prefix: 'c2' });
    expect(await two.cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).toMatchObject({ text: 'The whole answer.', workers: ['claude', 'backup'] });
    expect(backup.requests.at(-1)!.messages.at(-2)).toEqual({ role: 'assistant', content: 'The whole ' });
    await server.close();
  });
});
