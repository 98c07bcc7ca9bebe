/**
 * cortex as a Vercel AI SDK provider (`cortex-otp/ai-sdk`), driven by the real `ai` package:
 * `streamText`, `generateText`, structured output, a multi-step tool loop, abort, a failover the
 * app never sees and a break it does, and errors as the AI SDK's own `APICallError` with
 * `isRetryable` right.
 */
import { APICallError, generateObject, generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { WorkerError, type ChatMessage, type CompletionChunk, type LlmWorker, type StreamOptions } from '../../src/index.js';
import { createCortex } from '../../src/ai-sdk.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { start } = useServers();

/** A worker that calls `weather` when asked, and answers with the tool's result once it has it. */
class WeatherWorker implements LlmWorker {
  readonly seen: Array<readonly ChatMessage[]> = [];
  info() {
    return { name: 'weather-model', kind: 'test', models: ['w1'], capabilities: { tools: true } };
  }
  priority(): number {
    return 1;
  }
  healthCheck() {
    return Promise.resolve({ status: 'available' as const });
  }
  streamCompletion(messages: readonly ChatMessage[], _o: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    this.seen.push(messages);
    const last = messages.at(-1)!;
    return Promise.resolve(
      (async function* () {
        if (last.role === 'tool') {
          yield { text: `It is ${String(last.content)} there.` };
          yield { text: '', done: true, finishReason: 'stop' as const, usage: { promptTokens: 20, completionTokens: 5 } };
          return;
        }
        yield { text: '', toolCalls: [{ index: 0, id: 'call_1', name: 'weather', arguments: '{"city":' }] };
        yield { text: '', toolCalls: [{ index: 0, arguments: '"Paris"}' }] };
        yield { text: '', done: true, finishReason: 'tool_calls' as const };
      })(),
    );
  }
}

describe('cortex as an AI SDK provider', () => {
  it('streamText streams the pool\'s answer, with usage, finish reason and the worker that answered', async () => {
    const { cortex } = await start([new MockWorker({ name: 'local', chunks: ['Hel', 'lo', '!'], usage: { promptTokens: 3, completionTokens: 2 } })]);
    const provider = createCortex(cortex);
    const result = streamText({ model: provider(), prompt: 'Hi' });
    const pieces: string[] = [];
    for await (const t of result.textStream) pieces.push(t);
    expect(pieces.join('')).toBe('Hello!');
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({ inputTokens: 3, outputTokens: 2 });
    expect((await result.providerMetadata)?.cortex).toEqual({ workers: ['local'], cached: false });
    expect(cortex.dispatcher.inflight).toBe(0); // the request ended with its answer (a stop() does not wait for it)
  });

  it('generateText maps messages, system, sampling and stop to the request', async () => {
    const w = new MockWorker({ name: 'local', chunks: ['fine'] });
    const { cortex } = await start([w]);
    const { text } = await generateText({
      model: createCortex(cortex)('local'),
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: [{ type: 'text', text: 'How are ' }, { type: 'text', text: 'you?' }] },
      ],
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 64,
      stopSequences: ['\n\n'],
      seed: 7,
    });
    expect(text).toBe('fine');
    expect(w.calls[0]!.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'How are you?' },
    ]);
    expect(w.calls[0]!.options).toMatchObject({ temperature: 0.2, topP: 0.9, maxTokens: 64, stop: ['\n\n'], seed: 7 });
  });

  it('an image reaches the worker as a data: URL', async () => {
    const w = new MockWorker({ name: 'eyes', chunks: ['a red pixel'] });
    const { cortex } = await start([w]);
    const png = Uint8Array.from([137, 80, 78, 71]);
    await generateText({ model: createCortex(cortex)(), messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', image: png, mediaType: 'image/png' }] }] });
    expect(w.calls[0]!.messages[0]!.content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image', url: `data:image/png;base64,${Buffer.from(png).toString('base64')}` },
    ]);
  });

  it('structured output: generateObject and Output.object get the JSON schema through to the worker', async () => {
    const w = new MockWorker({ name: 'json', chunks: ['{"name":"Ada",', '"age":36}'] });
    const { cortex } = await start([w]);
    const schema = z.object({ name: z.string(), age: z.number() });
    const { object } = await generateObject({ model: createCortex(cortex)(), schema, prompt: 'A person' });
    expect(object).toEqual({ name: 'Ada', age: 36 });
    expect(w.calls[0]!.options.responseFormat).toMatchObject({ type: 'json_schema', schema: { type: 'object', properties: { name: { type: 'string' } } } });
    const { output } = await generateText({ model: createCortex(cortex)(), output: Output.object({ schema }), prompt: 'A person' });
    expect(output).toEqual({ name: 'Ada', age: 36 });
  });

  it('a multi-step tool loop: the tool call goes out, its result comes back as a tool message, the answer uses it', async () => {
    const w = new WeatherWorker();
    const { cortex } = await start([w]);
    const calls: unknown[] = [];
    const result = await generateText({
      model: createCortex(cortex)(),
      prompt: 'Weather in Paris?',
      tools: {
        weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: ({ city }) => {
            calls.push(city);
            return Promise.resolve('sunny');
          },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(calls).toEqual(['Paris']);
    expect(result.text).toBe('It is sunny there.');
    expect(result.steps.map((s) => s.finishReason)).toEqual(['tool-calls', 'stop']);
    const second = w.seen[1]!;
    expect(second.at(-2)).toMatchObject({ role: 'assistant', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }] });
    expect(second.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'call_1', name: 'weather', content: 'sunny' });
  });

  it('a failover before the first chunk is invisible; the metadata says who answered', async () => {
    const broken = new MockWorker({ name: 'broken', priority: 1, failOnStart: true });
    const good = new MockWorker({ name: 'good', priority: 2, chunks: ['ok'] });
    const { cortex } = await start([broken, good]);
    const result = streamText({ model: createCortex(cortex)(), prompt: 'Hi', maxRetries: 0 });
    expect(await result.text).toBe('ok');
    expect(broken.calls).toHaveLength(1);
    expect((await result.providerMetadata)?.cortex).toMatchObject({ workers: ['good'] });
  });

  it('a break after text is an error the app sees, never a finish with stop', async () => {
    const { cortex } = await start([new MockWorker({ name: 'midway', chunks: ['partial', ' answer'], failAfter: 1 })]);
    const result = streamText({ model: createCortex(cortex)(), prompt: 'Hi', onError: () => undefined });
    const parts: string[] = [];
    let error: unknown;
    for await (const p of result.fullStream) {
      parts.push(p.type);
      if (p.type === 'error') error = p.error;
    }
    expect(parts).toContain('error');
    expect(error).toMatchObject({ code: 'stream_interrupted', partialText: 'partial' });
    expect(await result.finishReason).not.toBe('stop');
  });

  it('abort mid-stream reaches the worker: its request is cancelled and its slot freed', async () => {
    const w = new MockWorker({ name: 'slow', chunks: ['a', 'b', 'c', 'd'], delayMs: 30 });
    const { cortex } = await start([w]);
    const ctl = new AbortController();
    let aborted = false;
    const result = streamText({ model: createCortex(cortex)(), prompt: 'Hi', abortSignal: ctl.signal, onError: () => undefined, onAbort: () => void (aborted = true) });
    const seen: string[] = [];
    for await (const t of result.textStream) {
      seen.push(t);
      ctl.abort();
    }
    expect(seen).toEqual(['a']); // the AI SDK ends the stream at the abort
    expect(aborted).toBe(true);
    expect(w.calls[0]!.signal.aborted).toBe(true);
    await expect.poll(async () => (await cortex.dispatcher.status()).workers[0]!.inflight).toBe(0);
  });
});

describe('errors as the AI SDK\'s own', () => {
  it("a backend's refusal is a 400 APICallError, not retryable: the AI SDK does not retry it", async () => {
    const refusal = new WorkerError('strict', 'bad_request', 'HTTP 400: tools[0] is not valid', { status: 400, body: 'tools[0] is not valid', backendCode: 'invalid_value', param: 'tools' });
    const w = new MockWorker({ name: 'strict', failOnStart: refusal });
    const { cortex } = await start([w]);
    const e = await generateText({ model: createCortex(cortex)(), prompt: 'Hi', maxRetries: 2 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(APICallError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ statusCode: 400, isRetryable: false, message: 'tools[0] is not valid' });
    expect(w.calls).toHaveLength(1); // not retried
  });

  it('no worker now is retryable, with the wait in retry-after when every worker rests', async () => {
    const limited = new MockWorker({ name: 'limited', failOnStart: new WorkerError('limited', 'rate_limited', 'HTTP 429', { status: 429, retryAfterMs: 4_000 }) });
    const { cortex } = await start([limited]);
    const e = await generateText({ model: createCortex(cortex)(), prompt: 'Hi', maxRetries: 0 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(APICallError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ statusCode: 429, isRetryable: true, responseHeaders: { 'retry-after': '4' } });
  });

  it('a file cortex cannot carry is refused before anything is sent', async () => {
    const w = new MockWorker({ name: 'w' });
    const { cortex } = await start([w]);
    const e = await generateText({
      model: createCortex(cortex)(),
      messages: [{ role: 'user', content: [{ type: 'file', data: Uint8Array.from([1, 2]), mediaType: 'application/pdf' }] }],
      maxRetries: 0,
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(String((e as Error).message)).toMatch(/application\/pdf/);
    expect(w.calls).toHaveLength(0);
  });
});

describe('an optional peer', () => {
  it('importing cortex-otp/ai-sdk loads nothing of the AI SDK; without @ai-sdk/provider, createCortex says what to install', async () => {
    const { runWithout } = await import('../support/run-script.js');
    const out = await runWithout('@ai-sdk/provider', `
      const { createCortex } = await import('./src/ai-sdk.ts');
      const { startWorkers, DemoWorker } = await import('./src/index.ts');
      const cortex = await startWorkers({ workers: [new DemoWorker()], healthIntervalMs: 0 });
      try {
        createCortex(cortex);
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, peer: e.peer }));
      }
      await cortex.stop();
    `);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout.trim())).toEqual({ code: 'missing_peer', peer: '@ai-sdk/provider' });
  });
});
