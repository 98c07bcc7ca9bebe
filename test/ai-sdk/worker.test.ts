/**
 * Any AI SDK model as a cortex worker (`AiSdkWorker`), through the AI SDK's own
 * `MockLanguageModelV4` (`ai/test`) and a real provider: its stream parts become chunks, its
 * `APICallError`s become the `WorkerError` kinds the pool acts on, and it never retries inside.
 */
import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { APICallError } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { isInvalidRequestError, isValidationError } from '../../src/index.js';
import { AiSdkWorker } from '../../src/ai-sdk.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { openai, start } = useServers();
const usage = { inputTokens: { total: 7, noCache: undefined, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 4, text: undefined, reasoning: undefined } };

function streaming(parts: LanguageModelV4StreamPart[], modelId = 'mock-model'): MockLanguageModelV4 {
  return new MockLanguageModelV4({ provider: 'openai.chat', modelId, doStream: () => Promise.resolve({ stream: convertArrayToReadableStream(parts) }) });
}

function failing(statusCode: number, headers: Record<string, string> = {}, body = '{"error":{"message":"nope","code":"bad"}}'): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    modelId: `fails-${statusCode}`,
    doStream: () => Promise.reject(new APICallError({ message: `HTTP ${statusCode}`, url: 'https://api.example/v1', requestBodyValues: {}, statusCode, responseHeaders: headers, responseBody: body })),
  });
}

describe('AiSdkWorker', () => {
  it("turns the model's parts into chunks: reasoning, text, a whole tool call, usage and the finish", async () => {
    const model = streaming([
      { type: 'stream-start', warnings: [] },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'thinking' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hel' },
      { type: 'text-delta', id: 't', delta: 'lo' },
      { type: 'text-end', id: 't' },
      { type: 'tool-call', toolCallId: 'call_9', toolName: 'lookup', input: '{"q":"x"}' },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage },
    ]);
    const { cortex } = await start([new AiSdkWorker({ name: 'sdk', model })]);
    const done = await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }], { tools: [{ name: 'lookup', parameters: { type: 'object' } }], temperature: 0.3 });
    expect(done).toMatchObject({ text: 'Hello', workers: ['sdk'], finishReason: 'tool_calls', usage: { promptTokens: 7, completionTokens: 4 }, toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' }] });
    const call = model.doStreamCalls[0]!;
    expect(call.prompt).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    expect(call).toMatchObject({ temperature: 0.3, tools: [{ type: 'function', name: 'lookup', inputSchema: { type: 'object' } }] });
    expect(call.abortSignal).toBeInstanceOf(AbortSignal);
    expect(new AiSdkWorker({ model }).info()).toMatchObject({ name: 'mock-model', kind: 'ai-sdk', provider: 'openai', models: ['mock-model'] });
  });

  it('a conversation with a tool result names the tool from the call it answers', async () => {
    const model = streaming([{ type: 'text-delta', id: 't', delta: 'ok' }, { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage }]);
    const { cortex } = await start([new AiSdkWorker({ model })]);
    await cortex.dispatcher.complete([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', toolCallId: 'c1', content: 'sunny' },
    ]);
    expect(model.doStreamCalls[0]!.prompt.slice(1)).toEqual([
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: { city: 'Paris' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'weather', output: { type: 'text', value: 'sunny' } }] },
    ]);
  });

  it('a 429 with retry-after rests it for that long and fails over; it is called once (never retries inside)', async () => {
    const limited = failing(429, { 'retry-after': '30' });
    const spare = new MockWorker({ name: 'spare', priority: 100 });
    const { cortex } = await start([new AiSdkWorker({ name: 'limited', model: limited, priority: 1 }), spare]);
    expect((await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).workers).toEqual(['spare']);
    expect(limited.doStreamCalls).toHaveLength(1);
    const w = (await cortex.dispatcher.status()).workers.find((x) => x.name === 'limited')!;
    expect(w.coolingDownMs).toBeGreaterThan(29_000);
    expect(w.failures).toBe(0); // resting is not being down
  });

  it('401 takes it out; 400 is the caller\'s mistake (InvalidRequestError, no failover)', async () => {
    const spare = new MockWorker({ name: 'spare', priority: 100 });
    const { cortex } = await start([new AiSdkWorker({ name: 'bad-key', model: failing(401), priority: 1 }), spare]);
    await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]);
    expect((await cortex.dispatcher.status()).workers.find((x) => x.name === 'bad-key')).toMatchObject({ circuit: 'open' });
    const strict = await start([new AiSdkWorker({ name: 'strict', model: failing(400), priority: 1 }), new MockWorker({ name: 'other', priority: 100 })]);
    const e = await strict.cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]).catch((x: unknown) => x);
    expect(isInvalidRequestError(e)).toBe(true);
    expect(e).toMatchObject({ status: 400, backendMessage: 'nope', backendCode: 'bad' });
  });

  it('an error part mid-stream breaks the stream, after the text so far', async () => {
    const model = streaming([{ type: 'text-delta', id: 't', delta: 'half' }, { type: 'error', error: new Error('overloaded') }]);
    const { cortex } = await start([new AiSdkWorker({ model })]);
    const e = await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'stream_interrupted', partialText: 'half' });
  });

  it('refuses what is not an AI SDK model of the v4 specification, by field', () => {
    const refusal = (model: unknown): unknown => {
      try {
        return new AiSdkWorker({ model: model as never });
      } catch (e) {
        return e;
      }
    };
    const notAModel = refusal({});
    expect(isValidationError(notAModel)).toBe(true);
    expect(String(notAModel)).toMatch(/AiSdkWorker options.model: expected an AI SDK language model/);
    expect(refusal({ specificationVersion: 'v2', modelId: 'old', doStream: () => undefined })).toMatchObject({ code: 'invalid_argument', field: 'AiSdkWorker options.model' });
  });

  it('through the real @ai-sdk/openai-compatible provider in a pool: tools and their calls round trip', async () => {
    const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
    const server = await openai({ script: { chunks: ['Let me look.'], toolCalls: [{ name: 'weather', arguments: '{"city":"Oslo"}' }] } });
    const model = createOpenAICompatible({ name: 'fake', baseURL: server.url }).chatModel('gpt-test');
    const { cortex } = await start([new AiSdkWorker({ name: 'compat', model })]);
    const done = await cortex.dispatcher.complete([{ role: 'user', content: 'Weather in Oslo?' }], { tools: [{ name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] });
    expect(done).toMatchObject({ text: 'Let me look.', finishReason: 'tool_calls', toolCalls: [{ id: expect.any(String), name: 'weather', arguments: '{"city":"Oslo"}' }] });
    expect(server.requests[0]).toMatchObject({ model: 'gpt-test', tools: [{ type: 'function', function: { name: 'weather' } }] });
  });
});
