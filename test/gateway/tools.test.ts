/**
 * Tool calls, JSON output and images through the gateway, with real clients: the official
 * `openai` and `ollama` clients and LangChain's ChatOpenAI, each pointed at the gateway, backed by
 * the fake servers speaking the other protocol as often as the same one (an OpenAI client served
 * by an Ollama backend must get OpenAI's tool calls).
 */
import { ChatOpenAI } from '@langchain/openai';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { Ollama, type Message, type ToolCall } from 'ollama';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { OllamaWorker, OpenAIWorker, type Workers } from '../../src/index.js';
import { serveGateway, type GatewayServer } from '../../src/gateway.js';
import type { FakeOllamaRequest } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { ollama, openai, start } = useServers();

async function gatewayOver(cortex: Workers): Promise<GatewayServer & { openai: OpenAI; ollama: Ollama }> {
  const g = await serveGateway(cortex);
  return Object.assign(g, { openai: new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused', maxRetries: 0 }), ollama: new Ollama({ host: g.url }) });
}

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** A backend that calls get_weather first, and answers from the tool's result once it has one (without tools: a greeting). */
const openaiBackend = () =>
  openai({
    script: (_i, body) =>
      (body.messages as Array<{ role: string }>).at(-1)!.role === 'tool' ? { chunks: ['It is 21C', ' in Paris.'] } : { chunks: [], toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] },
  });
const ollamaBackend = () =>
  ollama({
    script: (r: FakeOllamaRequest) =>
      r.body.tools === undefined
        ? { chunks: ['Hi', ' there'] }
        : r.messages.at(-1)!.role === 'tool'
          ? { chunks: ['It is 21C', ' in Paris.'] }
          : { chunks: [], toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
  });

describe('a tool call round trip with the openai client', () => {
  it.each(['openai', 'ollama'] as const)('streaming and not, served by an %s backend', async (kind) => {
    const server = kind === 'openai' ? await openaiBackend() : await ollamaBackend();
    const worker = kind === 'openai' ? new OpenAIWorker({ name: 'b', baseUrl: server.url, model: 'gpt-test' }) : new OllamaWorker({ name: 'b', baseUrl: server.url });
    const { cortex } = await start([worker]);
    const g = await gatewayOver(cortex);
    try {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
      // Streaming, read with the client's own accumulator (it checks the tool-call deltas' shape).
      const streamed = await g.openai.chat.completions.stream({ model: 'x', messages, tools: [weatherTool] }).finalChatCompletion();
      const call = streamed.choices[0]!.message.tool_calls![0]!;
      expect(streamed.choices[0]!.finish_reason).toBe('tool_calls');
      expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      expect(JSON.parse((call as { function: { arguments: string } }).function.arguments)).toEqual({ city: 'Paris' });
      // Not streaming: the same call, then the answer from the tool's result.
      const once = await g.openai.chat.completions.create({ model: 'x', messages, tools: [weatherTool], tool_choice: 'auto' });
      expect(once.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: null, tool_calls: [{ type: 'function', function: { name: 'get_weather' } }] } });
      const id = once.choices[0]!.message.tool_calls![0]!.id;
      messages.push(once.choices[0]!.message, { role: 'tool', tool_call_id: id, content: '{"celsius":21}' });
      const answer = await g.openai.chat.completions.create({ model: 'x', messages, tools: [weatherTool] });
      expect(answer.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'It is 21C in Paris.' } });
      // The backend got the call and its result in its own protocol.
      if (kind === 'openai') {
        const sent = (server as Awaited<ReturnType<typeof openaiBackend>>).requests.at(-1)!.messages as unknown[];
        expect(sent.slice(1)).toEqual([
          { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', content: '{"celsius":21}', tool_call_id: id },
        ]);
      } else {
        const sent = (server as Awaited<ReturnType<typeof ollamaBackend>>).requests.at(-1)!.messages;
        expect(sent.slice(1)).toEqual([
          { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
          { role: 'tool', content: '{"celsius":21}', tool_name: 'get_weather' },
        ]);
      }
    } finally {
      await g.close();
    }
  });

  it('a tool call that breaks mid-stream reaches the client as an error, never as a complete call', async () => {
    const server = await openai({ script: { chunks: [], toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris, France"}' }], toolArgumentPiece: 4, resetAfterToolDeltas: 2 } });
    const { cortex } = await start([new OpenAIWorker({ name: 'b', baseUrl: server.url, model: 'm' })], { continuation: { maxSwitches: 1 } });
    const g = await gatewayOver(cortex);
    try {
      const done = g.openai.chat.completions.stream({ model: 'x', messages: [{ role: 'user', content: 'w?' }], tools: [weatherTool] }).finalChatCompletion();
      await expect(done).rejects.toThrow();
    } finally {
      await g.close();
    }
  });
});

describe('JSON output and images', () => {
  it('response_format json_schema reaches an OpenAI backend as is, and an Ollama backend as format', async () => {
    const o = await openai({ script: { chunks: ['{"city":', '"Paris"}'] } });
    const l = await ollama({ script: { chunks: ['{"city":"Paris"}'] } });
    const { cortex } = await start([new OpenAIWorker({ name: 'cloud', baseUrl: o.url, model: 'gpt-test', tags: ['cloud'] }), new OllamaWorker({ name: 'local', baseUrl: l.url, tags: ['local'] })]);
    const g = await gatewayOver(cortex);
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    try {
      for (const model of ['cloud', 'local']) {
        const r = await g.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'capital of France as JSON' }], response_format: { type: 'json_schema', json_schema: { name: 'city', schema, strict: true } } });
        expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ city: 'Paris' });
      }
      expect(o.requests[0]!.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'city', schema, strict: true } });
      expect(l.requests[0]!.body.format).toEqual(schema);
      const viaOllama = await g.ollama.chat({ model: 'local', messages: [{ role: 'user', content: 'json please' }], format: 'json', stream: false });
      expect(JSON.parse(viaOllama.message.content)).toEqual({ city: 'Paris' });
      expect(l.requests[1]!.body.format).toBe('json');
    } finally {
      await g.close();
    }
  });

  it('an image from the ollama client reaches an Ollama backend as base64 and an OpenAI one as a data URL', async () => {
    const l = await ollama({ script: { chunks: ['a red pixel'] } });
    const o = await openai({ script: { chunks: ['a red pixel'] } });
    const { cortex } = await start([new OllamaWorker({ name: 'local', baseUrl: l.url, tags: ['local'] }), new OpenAIWorker({ name: 'cloud', baseUrl: o.url, model: 'gpt-test', tags: ['cloud'] })]);
    const g = await gatewayOver(cortex);
    try {
      for (const model of ['local', 'cloud']) {
        const r = await g.ollama.chat({ model, messages: [{ role: 'user', content: 'what is this?', images: [PNG] }], stream: false });
        expect(r.message.content).toBe('a red pixel');
      }
      expect(l.requests[0]!.messages[0]).toEqual({ role: 'user', content: 'what is this?', images: [PNG] });
      expect((o.requests[0]!.messages as unknown[])[0]).toEqual({ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] });
    } finally {
      await g.close();
    }
  });

  it('bad tools and formats are 400s naming the wire field', async () => {
    const { cortex } = await start([new OllamaWorker({ name: 'local', baseUrl: (await ollama()).url })]);
    const g = await gatewayOver(cortex);
    try {
      const bad = (body: object): Promise<InstanceType<typeof OpenAI.BadRequestError>> =>
        g.openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], ...body } as never).then(
          () => expect.fail('expected a 400'),
          (e: unknown) => e as InstanceType<typeof OpenAI.BadRequestError>,
        );
      expect((await bad({ tools: [{ type: 'retrieval' }] })).message).toContain('tools[0]');
      expect((await bad({ response_format: { type: 'yaml' } })).message).toContain('response_format');
      expect((await bad({ temperature: 'hot' })).message).toContain('temperature');
      const e = await bad({ tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } });
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e.message).toContain('toolChoice');
    } finally {
      await g.close();
    }
  });
});

describe('a tool call round trip with the ollama client', () => {
  it('tool calls come back with arguments as objects; the result answers them by tool_name (an OpenAI backend gets the id)', async () => {
    const server = await openaiBackend();
    const { cortex } = await start([new OpenAIWorker({ name: 'cloud', baseUrl: server.url, model: 'gpt-test' })]);
    const g = await gatewayOver(cortex);
    try {
      const messages: Message[] = [{ role: 'user', content: 'Weather in Paris?' }];
      let calls: ToolCall[] = [];
      for await (const part of await g.ollama.chat({ model: 'x', messages, tools: [weatherTool], stream: true })) calls.push(...(part.message.tool_calls ?? []));
      expect(calls).toEqual([{ id: expect.any(String), function: { name: 'get_weather', arguments: { city: 'Paris' } } }]);
      const once = await g.ollama.chat({ model: 'x', messages, tools: [weatherTool], stream: false });
      calls = once.message.tool_calls ?? [];
      messages.push({ role: 'assistant', content: '', tool_calls: calls }, { role: 'tool', content: '{"celsius":21}', tool_name: 'get_weather' });
      const answer = await g.ollama.chat({ model: 'x', messages: messages as never, tools: [weatherTool], stream: false });
      expect(answer.message.content).toBe('It is 21C in Paris.');
      const sent = server.requests.at(-1)!.messages as Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
      expect(sent[2]!.tool_call_id).toBe(sent[1]!.tool_calls![0]!.id); // the result answers the call by its id
    } finally {
      await g.close();
    }
  });
});

describe("LangChain's ChatOpenAI through the gateway", () => {
  it('invokes, streams, and runs a tool call round trip with bindTools', async () => {
    const server = await ollamaBackend();
    const { cortex } = await start([new OllamaWorker({ name: 'local', baseUrl: server.url })]);
    const g = await gatewayOver(cortex);
    try {
      const chat = new ChatOpenAI({ model: 'local', apiKey: 'unused', configuration: { baseURL: `${g.url}/v1` }, maxRetries: 0 });
      const plain = await chat.invoke([new HumanMessage('hello')]);
      expect([plain.content, plain.tool_calls]).toEqual(['Hi there', []]);
      let streamed = '';
      for await (const c of await chat.stream([new HumanMessage('hello'), new AIMessage('x'), new HumanMessage('more')])) streamed += typeof c.content === 'string' ? c.content : '';
      expect(streamed).toBe('Hi there');
      const withTools = chat.bindTools([weatherTool]);
      const ai = await withTools.invoke([new HumanMessage('Weather in Paris?')]);
      expect(ai.tool_calls).toEqual([{ id: expect.any(String), name: 'get_weather', args: { city: 'Paris' }, type: 'tool_call' }]);
      const answer = await withTools.invoke([new HumanMessage('Weather in Paris?'), ai, new ToolMessage({ tool_call_id: ai.tool_calls![0]!.id!, content: '{"celsius":21}' })]);
      expect(answer.content).toBe('It is 21C in Paris.');
    } finally {
      await g.close();
    }
  });
});
