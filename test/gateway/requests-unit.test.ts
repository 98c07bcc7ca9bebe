/**
 * How the gateway reads each API's chat request into the pool's conversation and options, on
 * its own (no HTTP): OpenAI's Chat Completions, Ollama's /api/chat and Anthropic's Messages.
 * What each carries, and every refusal: a 400 naming the field and what was expected. Through
 * real clients: clients.test.ts, anthropic.test.ts, tools.test.ts. Mutation testing
 * (requests.ts 90.6 %): most survivors are guards a later check repeats (an `isObj` or optional
 * chain on a value whose next field check refuses it with the same 400), or an empty list
 * carried as none; the cases added after the run are the gaps it showed (empty ids, null parts).
 */
import { describe, expect, it } from 'vitest';
import { fromAnthropic, fromOllama, fromOpenAI } from '../../src/gateway/requests.js';

/** The refusal `fn` throws: its status, field and message. */
function refusal(fn: () => unknown): { status: number; param: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    const g = e as { status: number; param: unknown; message: string };
    return { status: g.status, param: g.param, message: g.message };
  }
  throw new Error('not refused');
}

const user = { role: 'user', content: 'hi' };

describe("OpenAI's chat request", () => {
  it('carries roles (developer as system), names, content parts, tool calls and tool answers', () => {
    const r = fromOpenAI({
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', name: 'ann', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://x/img.png' } }, { type: 'image_url', image_url: 'data:image/png;base64,AA' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }, { id: 'c2', function: { name: 'g', arguments: { b: 2 } } }, { id: 'c3', function: { name: 'h' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'done' },
        { role: 'user', name: '', content: 'ok' },
      ],
    });
    expect(r.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', name: 'ann', content: [{ type: 'text', text: 'look' }, { type: 'image', url: 'https://x/img.png' }, { type: 'image', url: 'data:image/png;base64,AA' }] },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'f', arguments: '{"a":1}' }, { id: 'c2', name: 'g', arguments: '{"b":2}' }, { id: 'c3', name: 'h', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', content: 'done' },
      { role: 'user', content: 'ok' }, // an empty name is no name
    ]);
    expect(fromOpenAI({ messages: [{ role: 'assistant', content: 'x', tool_calls: [] }] }).messages).toEqual([{ role: 'assistant', content: 'x' }]);
  });

  it('carries tools, tool choice, response formats, sampling (max_completion_tokens first) and stop', () => {
    const r = fromOpenAI({
      messages: [user],
      tools: [{ type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object' } } }, { type: 'function', function: { name: 'g' } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 10,
      max_completion_tokens: 20,
      seed: 7,
      stop: 'END',
    });
    expect(r.options).toEqual({
      tools: [{ name: 'f', description: 'does f', parameters: { type: 'object' } }, { name: 'g' }],
      toolChoice: { name: 'f' },
      responseFormat: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true },
      temperature: 0.5,
      topP: 0.9,
      maxTokens: 20,
      seed: 7,
      stop: ['END'],
    });
    expect(fromOpenAI({ messages: [user], max_tokens: 10, stop: ['a', 'b'], tool_choice: 'required', response_format: { type: 'json_object' } }).options).toEqual({ maxTokens: 10, stop: ['a', 'b'], toolChoice: 'required', responseFormat: { type: 'json' } });
    expect(fromOpenAI({ messages: [user], response_format: { type: 'text' }, tool_choice: null, tools: null, stop: null, n: 1, functions: null }).options).toEqual({});
    expect(fromOpenAI({ messages: [user], response_format: { type: 'json_schema', json_schema: { schema: { type: 'object' } } } }).options).toEqual({ responseFormat: { type: 'json_schema', schema: { type: 'object' } } });
    for (const c of ['auto', 'none'] as const) expect(fromOpenAI({ messages: [user], tool_choice: c }).options).toEqual({ toolChoice: c });
  });

  it.each([
    ['functions', { messages: [user], functions: [] }, 'functions', 'functions: deprecated; use tools and tool_choice'],
    ['function_call', { messages: [user], function_call: 'auto' }, 'function_call', 'function_call: deprecated; use tools and tool_choice'],
    ['n > 1', { messages: [user], n: 2 }, 'n', 'n: only 1 is supported'],
    ['no messages', { messages: [] }, 'messages', 'messages: expected a non-empty array'],
    ['messages not a list', { messages: 'hi' }, 'messages', 'messages: expected a non-empty array'],
    ['a message not an object', { messages: ['hi'] }, 'messages[0]', 'messages[0]: expected an object'],
    ['an unknown role', { messages: [{ role: 'bot', content: 'x' }] }, 'messages[0].role', "messages[0].role: expected 'system', 'developer', 'user', 'assistant' or 'tool'"],
    ['a user content of null', { messages: [{ role: 'user', content: null }] }, 'messages[0].content', 'messages[0].content: expected a string or a list of content parts'],
    ['an unknown part', { messages: [{ role: 'user', content: [{ type: 'audio' }] }] }, 'messages[0].content[0]', "messages[0].content[0]: expected a part of type 'text' or 'image_url'"],
    ['an image without a URL', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content[0].image_url.url', 'messages[0].content[0].image_url.url: expected a URL'],
    ['a tool call without a name', { messages: [{ role: 'assistant', content: '', tool_calls: [{ id: 'c', function: {} }] }] }, 'messages[0].tool_calls[0]', 'messages[0].tool_calls[0]: expected { id, type: "function", function: { name, arguments } }'],
    ['a tool answer without its call id', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id', 'messages[0].tool_call_id: expected the id of the tool call this answers'],
    ['a tool answer with an empty call id', { messages: [{ role: 'tool', tool_call_id: '', content: 'x' }] }, 'messages[0].tool_call_id', 'messages[0].tool_call_id: expected the id of the tool call this answers'],
    ['a text part without text', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0]', "messages[0].content[0]: expected a part of type 'text' or 'image_url'"],
    ['a part that is null', { messages: [{ role: 'user', content: [null] }] }, 'messages[0].content[0]', "messages[0].content[0]: expected a part of type 'text' or 'image_url'"],
    ['a tool call that is null', { messages: [{ role: 'assistant', content: '', tool_calls: [null] }] }, 'messages[0].tool_calls[0]', 'messages[0].tool_calls[0]: expected { id, type: "function", function: { name, arguments } }'],
    ['a tool call without an id', { messages: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f' } }] }] }, 'messages[0].tool_calls[0]', 'messages[0].tool_calls[0]: expected { id, type: "function", function: { name, arguments } }'],
    ['a tool whose function is not an object', { messages: [user], tools: [{ type: 'function', function: 'f' }] }, 'tools[0]', 'tools[0]: expected { type: "function", function: { name, description?, parameters? } }'],
    ['a tool that is null', { messages: [user], tools: [null] }, 'tools[0]', 'tools[0]: expected { type: "function", function: { name, description?, parameters? } }'],
    ['a tool choice of null function', { messages: [user], tool_choice: { type: 'function' } }, 'tool_choice', 'tool_choice: expected "auto", "none", "required" or { type: "function", function: { name } }'],
    ['an assistant message that is an array', { messages: [[]] }, 'messages[0]', 'messages[0]: expected an object'],
    ['tools not a list', { messages: [user], tools: {} }, 'tools', 'tools: expected a list'],
    ['a tool not a function', { messages: [user], tools: [{ type: 'code' }] }, 'tools[0]', 'tools[0]: expected { type: "function", function: { name, description?, parameters? } }'],
    ['a tool without a name', { messages: [user], tools: [{ type: 'function', function: {} }] }, 'tools[0].function.name', 'tools[0].function.name: expected a name'],
    ['a tool choice of something else', { messages: [user], tool_choice: 'any' }, 'tool_choice', 'tool_choice: expected "auto", "none", "required" or { type: "function", function: { name } }'],
    ['a response format of something else', { messages: [user], response_format: { type: 'xml' } }, 'response_format', 'response_format: expected { type: "text" }, { type: "json_object" } or { type: "json_schema", json_schema: { name, schema } }'],
    ['a json_schema without a schema', { messages: [user], response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format', expect.stringContaining('response_format: expected')],
    ['a temperature that is a string', { messages: [user], temperature: '0.5' }, 'temperature', 'temperature: expected a number'],
    ['a top_p that is not finite', { messages: [user], top_p: Infinity }, 'top_p', 'top_p: expected a number'],
    ['max_tokens as text', { messages: [user], max_tokens: '10' }, 'max_tokens', 'max_tokens: expected a number'],
    ['a stop list with a number', { messages: [user], stop: ['a', 1] }, 'stop', 'stop: expected a string or a list of strings'],
  ])('refuses %s with a 400 naming the field', (_what, body, param, message) => {
    expect(refusal(() => fromOpenAI(body as never))).toEqual({ status: 400, param, message });
  });
});

describe("Ollama's chat request", () => {
  it('carries images (their type from their first bytes), tool calls given ids, and tool answers matched by name or in order', () => {
    const r = fromOllama({
      messages: [
        { role: 'user', content: 'see', images: ['/9j/AA', 'R0lGODAA', 'UklGRAA', 'iVBORAA'] },
        { role: 'user', images: ['iVBOR'] },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'a', arguments: { x: 1 } } }, { function: { name: 'b', arguments: '{"y":2}' } }, { function: { name: 'c' } }] },
        { role: 'tool', tool_name: 'b', content: 'B' },
        { role: 'tool', content: 'first left' },
        { role: 'tool', tool_name: 'nope', content: 'next left' },
        { role: 'tool', content: 'none left' },
      ],
    });
    expect(r.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image', url: 'data:image/jpeg;base64,/9j/AA' }, { type: 'image', url: 'data:image/gif;base64,R0lGODAA' }, { type: 'image', url: 'data:image/webp;base64,UklGRAA' }, { type: 'image', url: 'data:image/png;base64,iVBORAA' }] },
      { role: 'user', content: [{ type: 'image', url: 'data:image/png;base64,iVBOR' }] }, // no text part when there is no text
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_2_0', name: 'a', arguments: '{"x":1}' }, { id: 'call_2_1', name: 'b', arguments: '{"y":2}' }, { id: 'call_2_2', name: 'c', arguments: '{}' }] },
      { role: 'tool', content: 'B', toolCallId: 'call_2_1' },
      { role: 'tool', content: 'first left', toolCallId: 'call_2_0' },
      { role: 'tool', content: 'next left', toolCallId: 'call_2_2' },
      { role: 'tool', content: 'none left' },
    ]);
  });

  it('a new assistant turn with tool calls forgets the calls of the last one', () => {
    const r = fromOllama({
      messages: [
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'old' } }] },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'new' } }] },
        { role: 'tool', content: 'x' },
      ],
    });
    expect(r.messages[2]).toEqual({ role: 'tool', content: 'x', toolCallId: 'call_1_0' });
  });

  it('carries tools, format (json or a schema) and the sampling fields of options', () => {
    expect(fromOllama({ messages: [user], format: 'json', options: { temperature: 0.2, top_p: 0.8, num_predict: 30, seed: 1, stop: ['x'], num_ctx: 4096 } }).options).toEqual({ responseFormat: { type: 'json' }, temperature: 0.2, topP: 0.8, maxTokens: 30, seed: 1, stop: ['x'] });
    expect(fromOllama({ messages: [user], format: { type: 'object' }, tools: [{ type: 'function', function: { name: 'f' } }] }).options).toEqual({ responseFormat: { type: 'json_schema', schema: { type: 'object' } }, tools: [{ name: 'f' }] });
    expect(fromOllama({ messages: [{ role: 'user', content: null }], format: '', options: null, tools: null }).options).toEqual({});
    expect(fromOllama({ messages: [{ role: 'system', content: 'x' }], options: { stop: null } }).messages).toEqual([{ role: 'system', content: 'x' }]);
  });

  it.each([
    ['no messages', { messages: [] }, 'messages', 'messages: expected a non-empty array'],
    ['a message not an object', { messages: [1] }, 'messages[0]', 'messages[0]: expected an object'],
    ['an unknown role', { messages: [{ role: 'developer', content: 'x' }] }, 'messages[0].role', "messages[0].role: expected 'system', 'user', 'assistant' or 'tool'"],
    ['content that is a list', { messages: [{ role: 'user', content: [] }] }, 'messages[0].content', 'messages[0].content: expected a string'],
    ['an image that is not base64', { messages: [{ role: 'user', content: 'x', images: ['not base64!'] }] }, 'messages[0].images[0]', 'messages[0].images[0]: expected an image as base64'],
    ['an image that is a number', { messages: [{ role: 'user', content: 'x', images: [5] }] }, 'messages[0].images[0]', 'messages[0].images[0]: expected an image as base64'],
    ['a tool call without a name', { messages: [{ role: 'assistant', content: '', tool_calls: [{ function: {} }] }] }, 'messages[0].tool_calls[0].function.name', 'messages[0].tool_calls[0].function.name: expected a name'],
    ['a format of something else', { messages: [user], format: 'yaml' }, 'format', 'format: expected "json" or a JSON schema'],
    ['options not an object', { messages: [user], options: [] }, 'options', 'options: expected an object'],
    ['a temperature as text', { messages: [user], options: { temperature: 'hot' } }, 'options.temperature', 'options.temperature: expected a number'],
    ['a seed as text', { messages: [user], options: { seed: 'x' } }, 'options.seed', 'options.seed: expected a number'],
    ['num_predict as text', { messages: [user], options: { num_predict: 'x' } }, 'options.num_predict', 'options.num_predict: expected a number'],
    ['a stop that is a number', { messages: [user], options: { stop: 3 } }, 'options.stop', 'options.stop: expected a string or a list of strings'],
  ])('refuses %s with a 400 naming the field', (_what, body, param, message) => {
    expect(refusal(() => fromOllama(body as never))).toEqual({ status: 400, param, message });
  });
});

describe("Anthropic's Messages request", () => {
  it('carries the system (text or blocks), text, images, tool use and tool results (before the text they come with); thinking is not sent back', () => {
    const r = fromAnthropic({
      max_tokens: 100,
      system: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'look ' }, { type: 'text', text: 'here' }] },
        { role: 'user', content: [{ type: 'text', text: 'at' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA' } }, { type: 'image', source: { type: 'url', url: 'https://x/i.png' } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'redacted_thinking' }, { type: 'text', text: 'calling' }, { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }, { type: 'tool_use', id: 't2', name: 'g' }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'r1' }, { type: 'text', text: 'r2' }] }, { type: 'tool_result', tool_use_id: 't2' }, { type: 'text', text: 'thanks' }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't3', content: 'only a result' }] },
        { role: 'assistant', content: 'plain' },
      ],
    });
    expect(r.messages).toEqual([
      { role: 'system', content: 'one\ntwo' },
      { role: 'user', content: 'look here' },
      { role: 'user', content: [{ type: 'text', text: 'at' }, { type: 'image', url: 'data:image/png;base64,AA' }, { type: 'image', url: 'https://x/i.png' }] },
      { role: 'assistant', content: 'calling', toolCalls: [{ id: 't1', name: 'f', arguments: '{"a":1}' }, { id: 't2', name: 'g', arguments: '{}' }] },
      { role: 'tool', toolCallId: 't1', content: 'r1\nr2' },
      { role: 'tool', toolCallId: 't2', content: '' },
      { role: 'user', content: 'thanks' },
      { role: 'tool', toolCallId: 't3', content: 'only a result' },
      { role: 'assistant', content: 'plain' },
    ]);
    expect(fromAnthropic({ max_tokens: 1, system: 'sys', messages: [user] }).messages[0]).toEqual({ role: 'system', content: 'sys' });
  });

  it('carries tools (input_schema), tool choice (any as required), sampling, max_tokens and stop sequences', () => {
    expect(
      fromAnthropic({ max_tokens: 64, messages: [user], tools: [{ name: 'f', description: 'd', input_schema: { type: 'object' } }], tool_choice: { type: 'any' }, temperature: 1, top_p: 0.5, stop_sequences: ['END'] }).options,
    ).toEqual({ tools: [{ name: 'f', description: 'd', parameters: { type: 'object' } }], toolChoice: 'required', temperature: 1, topP: 0.5, maxTokens: 64, stop: ['END'] });
    expect(fromAnthropic({ max_tokens: 1, messages: [user], tool_choice: { type: 'tool', name: 'f' } }).options).toEqual({ toolChoice: { name: 'f' }, maxTokens: 1 });
    for (const t of ['auto', 'none'] as const) expect(fromAnthropic({ max_tokens: 1, messages: [user], tool_choice: { type: t } }).options.toolChoice).toBe(t);
    expect(fromAnthropic({ max_tokens: 1, messages: [user], tools: null, tool_choice: null, stop_sequences: null, system: null }).options).toEqual({ maxTokens: 1 });
  });

  it.each([
    ['no max_tokens', { messages: [user] }, 'max_tokens', 'max_tokens: expected a whole number >= 1'],
    ['max_tokens 0', { max_tokens: 0, messages: [user] }, 'max_tokens', 'max_tokens: expected a whole number >= 1'],
    ['max_tokens 1.5', { max_tokens: 1.5, messages: [user] }, 'max_tokens', 'max_tokens: expected a whole number >= 1'],
    ['no messages', { max_tokens: 1, messages: [] }, 'messages', 'messages: expected a non-empty array'],
    ['a system that is a number', { max_tokens: 1, system: 5, messages: [user] }, 'system', 'system: expected a string or text blocks'],
    ['a system block that is not text', { max_tokens: 1, system: [{ type: 'image' }], messages: [user] }, 'system[0]', 'system[0]: expected a text block'],
    ['a system role in messages', { max_tokens: 1, messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role', "messages[0].role: expected 'user' or 'assistant'"],
    ['content that is a number', { max_tokens: 1, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', 'messages[0].content: expected a string or content blocks'],
    ['a block that is not an object', { max_tokens: 1, messages: [{ role: 'user', content: ['x'] }] }, 'messages[0].content[0]', 'messages[0].content[0]: expected a content block'],
    ['tool use in a user turn', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f' }] }] }, 'messages[0].content[0].type', 'messages[0].content[0].type: expected text, image, tool_use (assistant) or tool_result (user)'],
    ['an unknown block', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document' }] }] }, 'messages[0].content[0].type', 'messages[0].content[0].type: expected text, image, tool_use (assistant) or tool_result (user)'],
    ['an image without a source', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages[0].content[0].source', 'messages[0].content[0].source: expected an image source'],
    ['an image of another source', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'messages[0].content[0].source', 'messages[0].content[0].source: expected { type: "base64", media_type, data } or { type: "url", url }'],
    ['a tool result with an image block', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image' }] }] }] }, 'messages[0].content[0].content[0]', 'messages[0].content[0].content[0]: expected a text block'],
    ['a tool result content that is a number', { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 5 }] }] }, 'messages[0].content[0].content', 'messages[0].content[0].content: expected a string or text blocks'],
    ['tools not an array', { max_tokens: 1, messages: [user], tools: {} }, 'tools', 'tools: expected an array'],
    ['a server tool', { max_tokens: 1, messages: [user], tools: [{ type: 'web_search_20250305' }] }, 'tools[0].name', 'tools[0].name: expected a name (server tools are not supported)'],
    ['a tool choice that is a string', { max_tokens: 1, messages: [user], tool_choice: 'auto' }, 'tool_choice', 'tool_choice: expected an object'],
    ['a tool choice of a tool without a name', { max_tokens: 1, messages: [user], tool_choice: { type: 'tool' } }, 'tool_choice', "tool_choice: expected { type: 'auto' | 'any' | 'none' } or { type: 'tool', name }"],
    ['a temperature as text', { max_tokens: 1, messages: [user], temperature: 'x' }, 'temperature', 'temperature: expected a number'],
    ['stop sequences that are a number', { max_tokens: 1, messages: [user], stop_sequences: 1 }, 'stop_sequences', 'stop_sequences: expected a string or a list of strings'],
  ])('refuses %s with a 400 naming the field', (_what, body, param, message) => {
    expect(refusal(() => fromAnthropic(body as never))).toEqual({ status: 400, param, message });
  });
});
