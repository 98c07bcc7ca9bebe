/**
 * Requests beyond text through the pool: a request that needs tools, images or a JSON schema
 * only goes to workers that support them (NoWorkersAvailableError says why each was skipped);
 * tool calls stream through and `complete` assembles them; a tool call broken mid-stream is
 * never continued on another worker (never a half call reported complete).
 */
import { describe, expect, it } from 'vitest';
import { isNoWorkersAvailableError, isStreamInterruptedError, isValidationError, startWorkers, WorkerError, type ChatMessage } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
const ask: ChatMessage[] = [{ role: 'user', content: 'weather in Paris?' }];
const PIXEL = 'data:image/png;base64,iVBORw0KGgo=';

describe('capabilities decide which workers may take a request', () => {
  it('tools, images and a JSON schema skip workers that lack them; plain text goes anywhere', async () => {
    const textOnly = new MockWorker({ name: 'text-only', priority: 1, capabilities: {}, chunks: ['plain'] });
    const noVision = new MockWorker({ name: 'no-vision', priority: 2, capabilities: { tools: true, jsonSchema: false }, chunks: ['tools'] });
    const all = new MockWorker({ name: 'all', priority: 3, chunks: ['all'] });
    const cortex = await startWorkers({ workers: [textOnly, noVision, all], healthIntervalMs: 0 });
    try {
      const d = cortex.dispatcher;
      expect((await d.complete(ask)).workers).toEqual(['text-only']);
      expect((await d.complete(ask, { tools: [weather] })).workers).toEqual(['no-vision']);
      expect(noVision.calls.at(-1)!.options.tools).toEqual([weather]); // the worker got the tools
      expect((await d.complete(ask, { tools: [weather], toolChoice: 'none' })).workers).toEqual(['text-only']); // tools offered but not to be used
      expect((await d.complete([{ role: 'user', content: [{ type: 'text', text: 'what is it?' }, { type: 'image', url: PIXEL }] }])).workers).toEqual(['all']);
      expect((await d.complete(ask, { responseFormat: { type: 'json_schema', schema: { type: 'object' } } })).workers).toEqual(['all']);
      expect((await d.complete(ask, { responseFormat: { type: 'json' } })).workers).toEqual(['text-only']); // JSON mode goes anywhere
      // A conversation that carries tool calls and results needs tools too.
      const followUp: ChatMessage[] = [...ask, { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{}' }] }, { role: 'tool', content: '21C', toolCallId: 'c1' }];
      expect((await d.complete(followUp)).workers).toEqual(['no-vision']);
    } finally {
      await cortex.stop();
    }
  });

  it('when no worker supports what a request needs, NoWorkersAvailableError names what each lacks', async () => {
    const a = new MockWorker({ name: 'a', capabilities: {} });
    const b = new MockWorker({ name: 'b', capabilities: { tools: true, contextLength: 100 } });
    const cortex = await startWorkers({ workers: [a, b], healthIntervalMs: 0 });
    try {
      const e = await cortex.dispatcher.complete([{ role: 'user', content: [{ type: 'image', url: PIXEL }] }], { tools: [weather] }).catch((x: unknown) => x);
      expect(isNoWorkersAvailableError(e)).toBe(true);
      expect(String(e)).toContain('a: does not support tools');
      expect(String(e)).toContain('b: does not support images');
      const long = await cortex.dispatcher.complete([{ role: 'user', content: 'x'.repeat(2000) }], { tools: [weather] }).catch((x: unknown) => x);
      expect(String(long)).toMatch(/b: context of 100 tokens is too small for about \d+/);
      expect(a.calls).toHaveLength(0);
      expect(b.calls).toHaveLength(0);
    } finally {
      await cortex.stop();
    }
  });

  it('a worker that refuses what it cannot do (kind unsupported) is failed over and not counted as down', async () => {
    const refusing = new MockWorker({ name: 'refusing', priority: 1, failOnStart: new WorkerError('refusing', 'unsupported', 'no forced tool choice here') });
    const other = new MockWorker({ name: 'other', priority: 2, chunks: ['ok'] });
    const cortex = await startWorkers({ workers: [refusing, other], healthIntervalMs: 0, failureThreshold: 1 });
    try {
      for (let i = 0; i < 3; i++) expect((await cortex.dispatcher.complete(ask, { tools: [weather], toolChoice: 'required' })).workers).toEqual(['other']);
      const status = await cortex.dispatcher.status();
      const r = status.workers.find((w) => w.name === 'refusing')!;
      expect(r.failures).toBe(0);
      expect(r.circuit).toBe('closed');
    } finally {
      await cortex.stop();
    }
  });
});

describe('tool calls through the pool', () => {
  it('stream as deltas; complete() assembles them with finishReason tool_calls', async () => {
    const calls = [{ id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' }];
    const w = new MockWorker({ name: 'w', chunks: ['Let me check. '], toolCalls: calls });
    const cortex = await startWorkers({ workers: [w], healthIntervalMs: 0 });
    try {
      const deltas = [];
      for await (const c of cortex.dispatcher.dispatchStream(ask, { tools: [weather] })) deltas.push(...(c.toolCalls ?? []));
      expect(deltas).toEqual([{ index: 0, id: 'call_a', name: 'get_weather' }, { index: 0, arguments: '{"city":' }, { index: 0, arguments: '"Paris"}' }]);
      const done = await cortex.dispatcher.complete(ask, { tools: [weather] });
      expect(done).toMatchObject({ text: 'Let me check. ', finishReason: 'tool_calls', toolCalls: calls });
    } finally {
      await cortex.stop();
    }
  });

  it('a tool call broken mid-stream ends with StreamInterruptedError even with continuation on; before any piece it fails over', async () => {
    const calls = [{ id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' }];
    const breaks = new MockWorker({ name: 'breaks', priority: 1, chunks: [], toolCalls: calls, failAfter: 2 });
    const backup = new MockWorker({ name: 'backup', priority: 2, chunks: [], toolCalls: calls });
    const cortex = await startWorkers({ workers: [breaks, backup], healthIntervalMs: 0, continuation: { maxSwitches: 2 } });
    try {
      const e = await cortex.dispatcher.complete(ask, { tools: [weather] }).catch((x: unknown) => x);
      expect(isStreamInterruptedError(e)).toBe(true);
      expect(backup.calls).toHaveLength(0); // never continued: a half call cannot be finished by another model
      breaks.set({ failAfter: 0 }); // now it breaks before any piece: an ordinary failover
      expect(await cortex.dispatcher.complete(ask, { tools: [weather] })).toMatchObject({ workers: ['backup'], toolCalls: calls });
    } finally {
      await cortex.stop();
    }
  });

  it('bad tools, tool choices and messages are refused at once, naming the field', async () => {
    const cortex = await startWorkers({ workers: [new MockWorker()], healthIntervalMs: 0 });
    try {
      const d = cortex.dispatcher;
      const cases: Array<[() => unknown, string]> = [
        [() => d.dispatchStream(ask, { tools: [{ name: 'has space' }] }), 'options.tools[0].name'],
        [() => d.dispatchStream(ask, { tools: [weather], toolChoice: { name: 'other' } }), 'options.toolChoice.name'],
        [() => d.dispatchStream(ask, { toolChoice: 'required' }), 'options.toolChoice'],
        [() => d.dispatchStream(ask, { temperature: 3 }), 'options.temperature'],
        [() => d.dispatchStream(ask, { responseFormat: { type: 'xml' } as never }), 'options.responseFormat'],
        [() => d.dispatchStream([{ role: 'user', content: 'x', toolCalls: [] }]), 'messages[0].toolCalls'],
        [() => d.dispatchStream([{ role: 'user', content: [{ type: 'image', url: 'file:///etc/passwd' }] }]), 'messages[0].content'],
      ];
      for (const [f, path] of cases) {
        let e: unknown;
        try {
          f();
        } catch (x) {
          e = x;
        }
        expect(isValidationError(e), path).toBe(true);
        expect(String(e)).toContain(path);
      }
    } finally {
      await cortex.stop();
    }
  });
});
