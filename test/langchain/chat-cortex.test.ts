/**
 * A LangChain chat model over the pool (`cortex-otp/langchain`), driven by LangChain's own
 * runnables: a prompt template piped into it, streaming tokens through callbacks, a tool loop
 * with tool messages, structured output with zod, batch, abort, and who answered.
 */
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { RunnableSequence } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChatCortex } from '../../src/langchain.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();

describe('ChatCortex', () => {
  it('in a RunnableSequence with a prompt template: the pool answers, the workers are in response_metadata', async () => {
    const broken = new MockWorker({ name: 'broken', priority: 1, failOnStart: true });
    const w = new MockWorker({ name: 'local', priority: 2, chunks: ['Bonjour', '!'], usage: { promptTokens: 9, completionTokens: 2 } });
    const { cortex } = await start([broken, w]);
    const model = new ChatCortex({ dispatcher: cortex.dispatcher });
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'Translate into {language}.'],
      ['human', '{text}'],
    ]);
    const chain = RunnableSequence.from([prompt, model, new StringOutputParser()]);
    expect(await chain.invoke({ language: 'French', text: 'Hello' })).toBe('Bonjour!');
    expect(w.calls[0]!.messages).toEqual([
      { role: 'system', content: 'Translate into French.' },
      { role: 'user', content: 'Hello' },
    ]);
    const reply = await model.invoke([new HumanMessage('Hi')]);
    expect(reply.response_metadata).toMatchObject({ worker: 'local', workers: ['local'], finish_reason: 'stop' });
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 9, output_tokens: 2, total_tokens: 11 });
  });

  it('streams tokens, to the stream and through callbacks (handleLLMNewToken)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w', chunks: ['a', 'b', 'c'] })]);
    const model = new ChatCortex({ dispatcher: cortex.dispatcher });
    const streamed: string[] = [];
    for await (const c of await model.stream('Hi')) streamed.push(String(c.content));
    expect(streamed.join('')).toBe('abc');
    const tokens: string[] = [];
    await model.invoke('Hi', { callbacks: [{ handleLLMNewToken: (t: string) => void tokens.push(t) }] });
    expect(tokens).toEqual(['a', 'b', 'c']);
    expect((await model.batch(['one', 'two'])).map((m) => m.content)).toEqual(['abc', 'abc']);
  });

  it('a tool loop: bindTools sends the tools, the tool call comes back, a ToolMessage answers it', async () => {
    const w = new MockWorker({ name: 'tools', chunks: [''], toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' }] });
    const { cortex } = await start([w]);
    const weather = tool(({ city }: { city: string }) => `cold in ${city}`, { name: 'weather', description: 'The weather', schema: z.object({ city: z.string() }) });
    const model = new ChatCortex({ dispatcher: cortex.dispatcher }).bindTools([weather], { tool_choice: 'any' });
    const ai = await model.invoke([new SystemMessage('Use tools.'), new HumanMessage('Weather in Oslo?')]);
    expect(ai.tool_calls).toEqual([expect.objectContaining({ id: 'call_1', name: 'weather', args: { city: 'Oslo' } })]);
    expect(w.calls[0]!.options).toMatchObject({ toolChoice: 'required', tools: [{ name: 'weather', description: 'The weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] });
    const result = await weather.invoke(ai.tool_calls![0]!);
    w.set({ toolCalls: [], chunks: ['It is cold.'] });
    const final = await model.invoke([new HumanMessage('Weather in Oslo?'), ai, result as ToolMessage]);
    expect(final.content).toBe('It is cold.');
    expect(w.calls[1]!.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' }] },
      { role: 'tool', toolCallId: 'call_1', name: 'weather', content: 'cold in Oslo' },
    ]);
  });

  it('withStructuredOutput with a zod schema', async () => {
    const w = new MockWorker({ name: 'json', chunks: [''], toolCalls: [{ id: 'c', name: 'Person', arguments: '{"name":"Ada","age":36}' }] });
    const { cortex } = await start([w]);
    const person = z.object({ name: z.string(), age: z.number() });
    const structured = new ChatCortex({ dispatcher: cortex.dispatcher }).withStructuredOutput(person, { name: 'Person' });
    expect(await structured.invoke('Who wrote the first program?')).toEqual({ name: 'Ada', age: 36 });
  });

  it('routes by model, and aborts through signal: the worker is cancelled', async () => {
    const fast = new MockWorker({ name: 'fast', tags: ['fast'], chunks: ['quick'] });
    const slow = new MockWorker({ name: 'slow', chunks: ['a', 'b', 'c'], delayMs: 50 });
    const { cortex } = await start([fast, slow]);
    expect((await new ChatCortex({ dispatcher: cortex.dispatcher, model: 'fast' }).invoke('Hi')).content).toBe('quick');
    const ctl = new AbortController();
    const pending = new ChatCortex({ dispatcher: cortex.dispatcher, model: 'slow' }).invoke('Hi', { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 20);
    await expect(pending).rejects.toThrow();
    expect(slow.calls[0]!.signal.aborted).toBe(true);
  });

  it('refuses a missing dispatcher, by field', () => {
    expect(() => new ChatCortex({} as never)).toThrow(/ChatCortex fields.dispatcher/);
    expect(new AIMessage('x')).toBeDefined();
  });
});
