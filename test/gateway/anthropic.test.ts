/**
 * Anthropic's Messages API on the gateway (`POST /v1/messages`), through the official
 * `@anthropic-ai/sdk` client: streamed and not, tool use round trips, thinking, images, stop
 * reasons, `x-api-key`, errors in Anthropic's shape, and a break as an error event.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { WorkerError, type CompletionChunk, type LlmWorker, type Workers } from '../../src/index.js';
import { serveGateway, type GatewayServer } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();

async function gateway(cortex: Workers, keys?: string[]): Promise<GatewayServer & { client: Anthropic }> {
  const g = await serveGateway(cortex, keys ? { keys } : {});
  return Object.assign(g, { client: new Anthropic({ baseURL: g.url, apiKey: keys?.[0] ?? 'unused-key', maxRetries: 0 }) });
}

describe("Anthropic's Messages API on the gateway", () => {
  it('answers at once and streamed, with usage and the stop reason; the key goes as x-api-key', async () => {
    const w = new MockWorker({ name: 'm', chunks: ['Hello', ' there'], usage: { promptTokens: 8, completionTokens: 2 } });
    const { cortex } = await start([w]);
    const g = await gateway(cortex, ['anthropic-style-key']);
    try {
      const once = await g.client.messages.create({ model: 'any', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
      expect(once).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hello there' }], stop_reason: 'end_turn', usage: { input_tokens: 8, output_tokens: 2 } });
      expect(w.calls[0]!.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ]);
      expect(w.calls[0]!.options).toMatchObject({ maxTokens: 64 });
      const s = g.client.messages.stream({ model: 'any', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
      const texts: string[] = [];
      s.on('text', (t) => texts.push(t));
      const final = await s.finalMessage();
      expect(texts.join('')).toBe('Hello there');
      expect(final).toMatchObject({ content: [{ type: 'text', text: 'Hello there' }], stop_reason: 'end_turn', usage: { output_tokens: 2 } });
    } finally {
      await g.close(0);
    }
  });

  it('a tool use round trip: tools go out, tool_use comes back (streamed and not), tool_result answers it', async () => {
    const w = new MockWorker({ name: 'tools', chunks: ['Checking.'], toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: '{"city":"Oslo"}' }] });
    const { cortex } = await start([w]);
    const g = await gateway(cortex);
    const tools = [{ name: 'weather', description: 'The weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    try {
      const first = await g.client.messages.create({ model: 'any', max_tokens: 64, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather in Oslo?' }] });
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content).toEqual([
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } },
      ]);
      expect(w.calls[0]!.options).toMatchObject({ toolChoice: 'required', tools: [{ name: 'weather', description: 'The weather', parameters: { type: 'object' } }] });
      const streamed = await g.client.messages.stream({ model: 'any', max_tokens: 64, tools, messages: [{ role: 'user', content: 'Weather in Oslo?' }] }).finalMessage();
      expect(streamed.content.at(-1)).toEqual({ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } });
      w.set({ toolCalls: [], chunks: ['Cold.'] });
      const second = await g.client.messages.create({
        model: 'any',
        max_tokens: 64,
        tools,
        messages: [
          { role: 'user', content: 'Weather in Oslo?' },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '-5 C' }] },
        ],
      });
      expect(second.content).toEqual([{ type: 'text', text: 'Cold.' }]);
      expect(w.calls.at(-1)!.messages.slice(1)).toEqual([
        { role: 'assistant', content: 'Checking.', toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'tool', toolCallId: 'toolu_1', content: '-5 C' },
      ]);
    } finally {
      await g.close(0);
    }
  });

  it('an image reaches the worker as a data: URL', async () => {
    const w = new MockWorker({ name: 'eyes', chunks: ['a cat'] });
    const { cortex } = await start([w]);
    const g = await gateway(cortex);
    try {
      await g.client.messages.create({ model: 'any', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is it?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }] });
      expect(w.calls[0]!.messages[0]!.content).toEqual([
        { type: 'text', text: 'What is it?' },
        { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=' },
      ]);
    } finally {
      await g.close(0);
    }
  });

  it("a thinking model's reasoning comes back as a thinking block, streamed and not", async () => {
    const thinker: LlmWorker = {
      info: () => ({ name: 'thinker', kind: 'test', models: ['t1'] }),
      priority: () => 1,
      healthCheck: () => Promise.resolve({ status: 'available' }),
      streamCompletion: () =>
        Promise.resolve(
          (async function* (): AsyncGenerator<CompletionChunk> {
            yield { text: '', reasoning: 'Let me think.' };
            yield { text: '42' };
            yield { text: '', done: true, finishReason: 'stop' };
          })(),
        ),
    };
    const { cortex } = await start([thinker]);
    const g = await gateway(cortex);
    try {
      const once = await g.client.messages.create({ model: 'any', max_tokens: 64, messages: [{ role: 'user', content: 'Answer?' }] });
      expect(once.content).toEqual([
        { type: 'thinking', thinking: 'Let me think.', signature: '' },
        { type: 'text', text: '42' },
      ]);
      const streamed = await g.client.messages.stream({ model: 'any', max_tokens: 64, messages: [{ role: 'user', content: 'Answer?' }] }).finalMessage();
      expect(streamed.content.map((b) => b.type)).toEqual(['thinking', 'text']);
      expect(streamed.content[0]).toMatchObject({ thinking: 'Let me think.' });
    } finally {
      await g.close(0);
    }
  });

  it("errors in Anthropic's shape: a missing max_tokens, a wrong key, a backend's refusal", async () => {
    const refusal = new WorkerError('m', 'bad_request', 'HTTP 400: prompt is too long', { status: 400, body: 'prompt is too long' });
    const { cortex } = await start([new MockWorker({ name: 'm', failOnStart: refusal })]);
    const g = await gateway(cortex, ['the-right-key-1']);
    try {
      const raw = await fetch(`${g.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'the-right-key-1' }, body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'Hi' }] }) });
      expect([raw.status, await raw.json()]).toEqual([400, { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: expected a whole number >= 1' } }]);
      const wrongKey = await new Anthropic({ baseURL: g.url, apiKey: 'not-the-key', maxRetries: 0 }).messages.create({ model: 'any', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
      expect(wrongKey).toBeInstanceOf(Anthropic.AuthenticationError);
      const refused = await g.client.messages.create({ model: 'any', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect((refused as Error).message).toContain('prompt is too long');
    } finally {
      await g.close(0);
    }
  });

  it('a break mid-answer is an error event, never a message_stop', async () => {
    const { cortex } = await start([new MockWorker({ name: 'midway', chunks: ['partial', ' rest'], failAfter: 1 })]);
    const g = await gateway(cortex);
    try {
      const s = g.client.messages.stream({ model: 'any', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
      const texts: string[] = [];
      s.on('text', (t) => texts.push(t));
      await expect(s.finalMessage()).rejects.toThrow(/broke off|interrupted/);
      expect(texts.join('')).toBe('partial');
    } finally {
      await g.close(0);
    }
  });

  it('GET / answers as Ollama does, for Ollama clients that probe it', async () => {
    const { cortex } = await start([new MockWorker({ name: 'm' })]);
    const g = await gateway(cortex);
    try {
      const res = await fetch(`${g.url}/`);
      expect([res.status, await res.text()]).toEqual([200, 'Ollama is running']);
    } finally {
      await g.close(0);
    }
  });
});
