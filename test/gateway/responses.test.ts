/**
 * OpenAI's Responses API on the gateway (`POST /v1/responses`), through the official `openai`
 * client (`responses.create`, `responses.stream`) and the AI SDK's default OpenAI provider
 * (`openai('gpt-4o')` calls this API): text, function calls and their outputs, structured output,
 * usage, `previous_response_id` refused, and a break as an error event.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Workers } from '../../src/index.js';
import { serveGateway, type GatewayServer } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();

async function gateway(cortex: Workers): Promise<GatewayServer & { client: OpenAI }> {
  const g = await serveGateway(cortex);
  return Object.assign(g, { client: new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused', maxRetries: 0 }) });
}

describe("OpenAI's Responses API on the gateway", () => {
  it('responses.create and responses.stream: text, usage, output_text', async () => {
    const w = new MockWorker({ name: 'm', chunks: ['Hello', ' there'], usage: { promptTokens: 6, completionTokens: 2 } });
    const { cortex } = await start([w]);
    const g = await gateway(cortex);
    try {
      const once = await g.client.responses.create({ model: 'any', instructions: 'Be brief.', input: 'Hi', max_output_tokens: 50, temperature: 0.1 });
      expect(once.output_text).toBe('Hello there');
      expect(once).toMatchObject({ object: 'response', status: 'completed', usage: { input_tokens: 6, output_tokens: 2, total_tokens: 8 } });
      expect(w.calls[0]!.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ]);
      expect(w.calls[0]!.options).toMatchObject({ maxTokens: 50, temperature: 0.1 });
      const s = g.client.responses.stream({ model: 'any', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }] });
      const deltas: string[] = [];
      const types: string[] = [];
      s.on('event', (e) => types.push(e.type));
      s.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const final = await s.finalResponse();
      expect(deltas.join('')).toBe('Hello there');
      expect(final.output_text).toBe('Hello there');
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
      expect(types).toContain('response.output_item.added');
    } finally {
      await g.close(0);
    }
  });

  it('a function call round trip: the call comes back as a function_call item, its output goes in as function_call_output', async () => {
    const w = new MockWorker({ name: 'tools', chunks: [''], toolCalls: [{ id: 'call_7', name: 'weather', arguments: '{"city":"Oslo"}' }] });
    const { cortex } = await start([w]);
    const g = await gateway(cortex);
    const tools = [{ type: 'function' as const, name: 'weather', description: 'The weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true }];
    try {
      const first = await g.client.responses.stream({ model: 'any', input: 'Weather in Oslo?', tools, tool_choice: 'required' }).finalResponse();
      const call = first.output.find((o) => o.type === 'function_call');
      expect(call).toMatchObject({ type: 'function_call', call_id: 'call_7', name: 'weather', arguments: '{"city":"Oslo"}' });
      expect(w.calls[0]!.options).toMatchObject({ toolChoice: 'required', tools: [{ name: 'weather', description: 'The weather' }] });
      w.set({ toolCalls: [], chunks: ['Cold.'] });
      const second = await g.client.responses.create({
        model: 'any',
        tools,
        input: [{ role: 'user', content: 'Weather in Oslo?' }, { type: 'function_call', call_id: 'call_7', name: 'weather', arguments: '{"city":"Oslo"}' }, { type: 'function_call_output', call_id: 'call_7', output: '-5 C' }],
      });
      expect(second.output_text).toBe('Cold.');
      expect(w.calls[1]!.messages.slice(1)).toEqual([
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_7', name: 'weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'tool', toolCallId: 'call_7', content: '-5 C' },
      ]);
    } finally {
      await g.close(0);
    }
  });

  it('previous_response_id is refused with a clear 400 (no state is kept)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'm' })]);
    const g = await gateway(cortex);
    try {
      const e = await g.client.responses.create({ model: 'any', input: 'And then?', previous_response_id: 'resp_123' }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect((e as Error).message).toContain('previous_response_id: not supported');
    } finally {
      await g.close(0);
    }
  });

  it('a break mid-answer is an error the client sees, never a completed response', async () => {
    const { cortex } = await start([new MockWorker({ name: 'midway', chunks: ['partial', ' rest'], failAfter: 1 })]);
    const g = await gateway(cortex);
    try {
      await expect(g.client.responses.stream({ model: 'any', input: 'Hi' }).finalResponse()).rejects.toThrow(/broke off|interrupted/);
    } finally {
      await g.close(0);
    }
  });

  it("the AI SDK's default OpenAI provider (the Responses API): streamText, generateText with a tool loop", async () => {
    const w = new MockWorker({ name: 'm', chunks: ['Streamed', ' reply'] });
    const { cortex } = await start([w]);
    const g = await gateway(cortex);
    const openai = createOpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused' });
    try {
      const streamed = streamText({ model: openai('gpt-4o'), prompt: 'Hi', maxRetries: 0 });
      expect(await streamed.text).toBe('Streamed reply');
      w.set({ chunks: [''], toolCalls: [{ id: 'call_1', name: 'add', arguments: '{"a":2,"b":3}' }] });
      let step = 0;
      const result = await generateText({
        model: openai('gpt-4o'),
        prompt: 'What is 2 + 3?',
        maxRetries: 0,
        tools: { add: tool({ inputSchema: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => Promise.resolve(a + b) }) },
        stopWhen: () => step++ >= 1,
        prepareStep: () => {
          if (step === 1) w.set({ toolCalls: [], chunks: ['It is 5.'] });
          return {};
        },
      });
      expect(result.text).toBe('It is 5.');
      expect(w.calls.at(-1)!.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'call_1', content: '5' });
    } finally {
      await g.close(0);
    }
  });
});
