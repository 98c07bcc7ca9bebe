/**
 * OpenTelemetry traces (`cortex-otp/tracing`), read back with the OTel SDK's in-memory exporter:
 * one span per request under the caller's active span, one per attempt, failovers as events.
 */
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OllamaWorker } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { traceRequests } from '../../src/tracing.js';
import { useServers } from '../support/servers.js';
import { runWithout } from '../support/run-script.js';

const { ollama, start } = useServers();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  contextManager.disable();
  context.disable();
});

const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const s = spans.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no span ${name} in ${spans.map((x) => x.name).join(', ')}`);
  return s;
};
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

describe('traceRequests', () => {
  it("gives each request's trace id while it is in flight (the dashboard's request log shows it), the id of its exported span", async () => {
    exporter.reset();
    const { cortex } = await start([new MockWorker({ name: 'w', chunks: ['a', 'b'] })]);
    const tracing = traceRequests(cortex, { tracer });
    const seen: Array<string | undefined> = [];
    const sub = cortex.system.inspect((e) => e.type === 'pool.dispatch' && seen.push(tracing.traceIdOf(e.requestId)));
    let id = -1;
    const idOf = cortex.system.inspect((e) => e.type === 'pool.request_started' && (id = e.requestId));
    await cortex.dispatcher.complete([{ role: 'user', content: 'x' }]);
    const chat = exporter.getFinishedSpans().find((x) => x.name.startsWith('chat'))!;
    expect(seen).toEqual([chat.spanContext().traceId]);
    expect(tracing.traceIdOf(id)).toBeUndefined(); // ended: no longer followed
    sub.dispose();
    idOf.dispose();
    tracing.dispose();
  });

  it('a hedged request has both attempts as children: the loser marked cortex.hedge.lost, a cortex.hedge event on the request', async () => {
    exporter.reset();
    const slow = new MockWorker({ name: 'slow', priority: 1, chunks: ['late'], delayMs: 300 });
    const spare = new MockWorker({ name: 'spare', priority: 2, chunks: ['on time'] });
    const { cortex } = await start([slow, spare], { hedge: { afterMs: 20, budget: 1 } });
    const tracing = traceRequests(cortex, { tracer });
    expect((await cortex.dispatcher.complete([{ role: 'user', content: 'x' }])).workers).toEqual(['spare']);
    const spans = exporter.getFinishedSpans();
    const chat = spans.find((x) => x.name.startsWith('chat'))!;
    const lost = byName(spans, 'attempt slow');
    const won = byName(spans, 'attempt spare');
    expect([parentOf(lost), parentOf(won)]).toEqual([chat.spanContext().spanId, chat.spanContext().spanId]);
    expect(lost.attributes['cortex.hedge.lost']).toBe(true);
    expect(won.attributes['cortex.hedge.lost']).toBeUndefined();
    expect(chat.events.map((e) => e.name)).toContain('cortex.hedge');
    tracing.dispose();
  });

  it('a request is a "chat {model}" span under the caller\'s span, with GenAI attributes; each attempt a child', async () => {
    exporter.reset();
    const server = await ollama({ script: { chunks: ['Hel', 'lo'], delayMs: 1 } });
    const { cortex } = await start([new OllamaWorker({ name: 'local', baseUrl: server.url })]);
    const tracing = traceRequests(cortex, { tracer });
    await tracer.startActiveSpan('handle /chat', async (app) => {
      await cortex.dispatcher.complete([{ role: 'user', content: 'secret prompt' }]);
      app.end();
    });
    const spans = exporter.getFinishedSpans();
    const app = byName(spans, 'handle /chat');
    const chat = byName(spans, 'chat gemma3:4b');
    const attempt = byName(spans, 'attempt local');
    expect(parentOf(chat)).toBe(app.spanContext().spanId);
    expect(parentOf(attempt)).toBe(chat.spanContext().spanId);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'ollama',
      'gen_ai.request.model': 'gemma3:4b',
      'gen_ai.response.model': 'gemma3:4b',
      'cortex.chunks': 3,
    });
    expect(chat.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    expect(typeof chat.attributes['gen_ai.usage.output_tokens']).toBe('number');
    expect(chat.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain('secret prompt'); // contents are never recorded
    tracing.dispose();
  });

  it('a failover is an event of the request span and a failed attempt span; a request that fails is an error span', async () => {
    exporter.reset();
    const { cortex } = await start([new MockWorker({ name: 'broken', priority: 1, failOnStart: true }), new MockWorker({ name: 'good', priority: 2, chunks: ['ok'] })]);
    const tracing = traceRequests(cortex, { tracer });
    await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]);
    let spans = exporter.getFinishedSpans();
    const chat = byName(spans, 'chat mock-model');
    expect(chat.events.map((e) => [e.name, e.attributes?.['cortex.worker']])).toEqual([['cortex.failover', 'broken']]);
    expect(byName(spans, 'attempt broken').status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(byName(spans, 'attempt broken').attributes['error.type']).toBe('start');
    expect(parentOf(byName(spans, 'attempt good'))).toBe(chat.spanContext().spanId);

    exporter.reset();
    const none = await start([new MockWorker({ name: 'down', failOnStart: true })]);
    const t2 = traceRequests(none.cortex, { tracer });
    await none.cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]).catch(() => undefined);
    spans = exporter.getFinishedSpans();
    expect(byName(spans, 'chat mock-model')).toMatchObject({ status: { code: SpanStatusCode.ERROR }, attributes: { 'error.type': 'no_workers' } });
    expect(trace.getActiveSpan()).toBeUndefined();
    tracing.dispose();
    t2.dispose();
  });

  it('without @opentelemetry/api it does nothing, and says so', async () => {
    const out = await runWithout('@opentelemetry/api', `
      const { startWorkers, DemoWorker } = await import('./src/index.ts');
      const { traceRequests } = await import('./src/tracing.ts');
      const cortex = await startWorkers({ workers: [new DemoWorker({ delayMs: 0 })], healthIntervalMs: 0 });
      const t = traceRequests(cortex);
      await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]);
      t.dispose();
      await cortex.stop();
      console.log(JSON.stringify({ enabled: t.enabled }));
    `);
    expect(JSON.parse(out.stdout.trim())).toEqual({ enabled: false });
  });
});
