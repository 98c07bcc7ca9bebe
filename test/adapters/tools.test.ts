/**
 * Messages beyond text, through each adapter both ways: tools and streamed tool calls, tool
 * results, images, JSON output and sampling, as OpenAI's chat API and Ollama's `/api/chat`
 * carry them (shared/reference/llm-wire-protocols.md). What a backend cannot do is refused
 * before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { collectToolCalls, isWorkerError, OllamaWorker, OpenAIWorker, type ChatMessage, type CompletionChunk, type GenerationOptions } from '../../src/index.js';
import { startFakeOllama, startFakeOpenAI } from '../../src/testing.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const weather = { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

/** A conversation with every kind of message: a system prompt, an image, a tool call and its result. */
const conversation: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: [{ type: 'text', text: 'What is this, and the weather in Paris?' }, { type: 'image', url: `data:image/png;base64,${PNG}` }] },
  { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
  { role: 'tool', content: '{"temp":21}', toolCallId: 'call_1' },
];

async function read(stream: AsyncIterable<CompletionChunk>): Promise<CompletionChunk[]> {
  const out: CompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const signal = (): AbortSignal => new AbortController().signal;

describe('OpenAIWorker: tools, images, JSON output', () => {
  it('sends the conversation and options in OpenAI\'s shape', async () => {
    const server = await startFakeOpenAI({ script: { chunks: ['{"a":1}'] } });
    try {
      const w = new OpenAIWorker({ baseUrl: server.url, model: 'gpt-test' });
      const gen: GenerationOptions = {
        tools: [weather],
        toolChoice: { name: 'get_weather' },
        responseFormat: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true },
        temperature: 0.2,
        topP: 0.9,
        maxTokens: 64,
        stop: ['END'],
        seed: 7,
      };
      await read(await w.streamCompletion(conversation, { signal: signal(), ...gen }));
      const body = server.requests[0]!;
      expect(body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this, and the weather in Paris?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', content: '{"temp":21}', tool_call_id: 'call_1' },
      ]);
      expect(body.tools).toEqual([{ type: 'function', function: weather }]);
      expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
      expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } });
      expect(body).toMatchObject({ temperature: 0.2, top_p: 0.9, max_tokens: 64, stop: ['END'], seed: 7 });
      await read(await w.streamCompletion([{ role: 'user', content: 'x' }], { signal: signal(), responseFormat: { type: 'json' } }));
      expect(server.requests[1]!.response_format).toEqual({ type: 'json_object' });
      expect(server.requests[1]!.tools).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('streams tool calls as deltas by index; they add up to whole calls and the answer ends with tool_calls', async () => {
    const args = '{"city":"Paris","unit":"celsius"}';
    const server = await startFakeOpenAI({ script: { chunks: [], toolCalls: [{ name: 'get_weather', arguments: args }, { name: 'get_time', arguments: '{}' }] } });
    try {
      const w = new OpenAIWorker({ baseUrl: server.url, model: 'gpt-test' });
      const chunks = await read(await w.streamCompletion([{ role: 'user', content: 'weather?' }], { signal: signal(), tools: [weather, { name: 'get_time' }] }));
      const deltas = chunks.flatMap((c) => c.toolCalls ?? []);
      expect(deltas.length).toBeGreaterThan(4); // the arguments came in pieces
      expect(collectToolCalls(deltas)).toEqual([
        { id: 'call_0_1', name: 'get_weather', arguments: args },
        { id: 'call_1_1', name: 'get_time', arguments: '{}' },
      ]);
      expect(chunks.at(-1)).toMatchObject({ done: true, finishReason: 'tool_calls' });
      expect(server.requests[0]!.tools).toEqual([{ type: 'function', function: weather }, { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }]);
    } finally {
      await server.close();
    }
  });

  it('refuses what it is configured not to do, before sending (kind unsupported)', async () => {
    const server = await startFakeOpenAI();
    try {
      const w = new OpenAIWorker({ baseUrl: server.url, model: 'm', capabilities: { images: false } });
      const e = await w.streamCompletion(conversation, { signal: signal() }).catch((x: unknown) => x);
      expect(isWorkerError(e) && e.kind).toBe('unsupported');
      expect(String(e)).toContain('images');
      expect(server.requests).toHaveLength(0);
      expect(w.info().capabilities).toEqual({ tools: true, images: false, jsonSchema: true });
    } finally {
      await server.close();
    }
  });
});

describe('OllamaWorker: tools, images, JSON output', () => {
  it('sends images as base64, tool calls with object arguments, tool results with the tool\'s name, format and options', async () => {
    const server = await startFakeOllama({ script: { chunks: ['ok'] } });
    try {
      const w = new OllamaWorker({ baseUrl: server.url });
      await read(
        await w.streamCompletion(conversation, {
          signal: signal(),
          tools: [weather],
          responseFormat: { type: 'json_schema', schema: { type: 'object' } },
          temperature: 0,
          maxTokens: 32,
          seed: 1,
          backendOptions: { options: { num_ctx: 4096 } },
        }),
      );
      const body = server.requests[0]!.body;
      expect(body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is this, and the weather in Paris?', images: [PNG] },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
        { role: 'tool', content: '{"temp":21}', tool_name: 'get_weather' },
      ]);
      expect(body.tools).toEqual([{ type: 'function', function: weather }]);
      expect(body.format).toEqual({ type: 'object' });
      expect(body.options).toEqual({ num_ctx: 4096, temperature: 0, num_predict: 32, seed: 1 });
      await read(await w.streamCompletion([{ role: 'user', content: 'x' }], { signal: signal(), responseFormat: { type: 'json' }, toolChoice: 'none', tools: [weather] }));
      expect(server.requests[1]!.body.format).toBe('json');
      expect(server.requests[1]!.body.tools).toBeUndefined(); // `none`: the tools are not offered
    } finally {
      await server.close();
    }
  });

  it('reads whole tool calls from message.tool_calls, gives each an id, and ends with tool_calls (Ollama says stop)', async () => {
    const server = await startFakeOllama({ script: { chunks: [], toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } });
    try {
      const w = new OllamaWorker({ baseUrl: server.url });
      const chunks = await read(await w.streamCompletion([{ role: 'user', content: 'weather?' }], { signal: signal(), tools: [weather] }));
      const calls = collectToolCalls(chunks.flatMap((c) => c.toolCalls ?? []));
      expect(calls).toEqual([{ id: expect.stringMatching(/^call_\w+/), name: 'get_weather', arguments: '{"city":"Paris"}' }]);
      expect(chunks.at(-1)).toMatchObject({ done: true, finishReason: 'tool_calls' });
    } finally {
      await server.close();
    }
  });

  it('refuses, before sending, an image by URL and a forced tool choice (Ollama has neither)', async () => {
    const server = await startFakeOllama();
    try {
      const w = new OllamaWorker({ baseUrl: server.url });
      const byUrl = await w.streamCompletion([{ role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] }], { signal: signal() }).catch((x: unknown) => x);
      expect(isWorkerError(byUrl) && byUrl.kind).toBe('unsupported');
      expect(String(byUrl)).toContain('base64');
      const forced = await w.streamCompletion([{ role: 'user', content: 'x' }], { signal: signal(), tools: [weather], toolChoice: 'required' }).catch((x: unknown) => x);
      expect(isWorkerError(forced) && forced.kind).toBe('unsupported');
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});

describe('collectToolCalls', () => {
  it('assembles pieces by index, in index order, and leaves out a call that never got its id or name', () => {
    expect(
      collectToolCalls([
        { index: 1, id: 'b', name: 'two' },
        { index: 0, id: 'a', name: 'one', arguments: '{"x"' },
        { index: 0, arguments: ':1}' },
        { index: 2, arguments: '{}' },
        { index: 1, arguments: '{}' },
      ]),
    ).toEqual([
      { id: 'a', name: 'one', arguments: '{"x":1}' },
      { id: 'b', name: 'two', arguments: '{}' },
    ]);
  });
});
