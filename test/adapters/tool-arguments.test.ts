/**
 * A tool call's arguments travel as JSON text (OpenAI's form); Ollama and Anthropic want a JSON
 * object. Text that is not one is refused before sending (`unsupported`: the pool fails over to
 * a worker that takes text), never sent half-translated.
 */
import { describe, expect, it } from 'vitest';
import { isWorkerError, type ChatMessage } from '../../src/index.js';
import { argumentsObject } from '../../src/behaviour/tool-calls.js';
import { ollamaRequest } from '../../src/adapters/ollama-request.js';
import { anthropicRequest } from '../../src/adapters/anthropic-request.js';

const withCall = (args: string): ChatMessage[] => [
  { role: 'user', content: 'Weather?' },
  { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'weather', arguments: args }] },
  { role: 'tool', content: 'sunny', toolCallId: 'call_1' },
];

describe('tool call arguments as a JSON object', () => {
  it('parses an object; empty text is {}; anything else is undefined', () => {
    expect(argumentsObject('{"city":"Oslo"}')).toEqual({ city: 'Oslo' });
    expect(argumentsObject('')).toEqual({});
    for (const bad of ['[1,2]', '"Oslo"', '42', 'null', '{"city":']) expect(argumentsObject(bad)).toBeUndefined();
  });

  it('Ollama and Anthropic requests carry the object, and refuse text that is not one', () => {
    const caps = { tools: true };
    const ollama = ollamaRequest('o', withCall('{"city":"Oslo"}'), {}, caps, undefined) as { messages: Array<{ tool_calls?: unknown }> };
    expect(ollama.messages[1]!.tool_calls).toEqual([{ function: { name: 'weather', arguments: { city: 'Oslo' } } }]);
    const anthropic = anthropicRequest('a', withCall('{"city":"Oslo"}'), {}, caps, 100) as { messages: Array<{ content: unknown }> };
    expect(anthropic.messages[1]!.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Oslo' } }]);
    for (const build of [() => ollamaRequest('o', withCall('[1]'), {}, caps, undefined), () => anthropicRequest('a', withCall('oops'), {}, caps, 100)]) {
      let error: unknown;
      try {
        build();
      } catch (e) {
        error = e;
      }
      expect(isWorkerError(error) && [error.kind, /arguments that are not a JSON object/.test(error.message)]).toEqual(['unsupported', true]);
    }
  });
});
