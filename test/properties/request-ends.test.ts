/**
 * Every request ends exactly once, and is seen ending: whatever mix of requests that complete,
 * fail, are aborted by their caller, are abandoned (the consumer stops reading: `break`), or are
 * cut by a shutdown, each has one `pool.stream_finished` event with its own outcome, one count in
 * `cortex_requests_total`, and one ended request span (none left open in tracing).
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type InspectionEvent, type Workers } from '../../src/index.js';
import { collectMetrics } from '../../src/metrics.js';
import { MockWorker } from '../../src/testing.js';
import { traceRequests } from '../../src/tracing.js';

const exporter = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => void context.setGlobalContextManager(contextManager.enable()));
afterAll(() => {
  contextManager.disable();
  context.disable();
});

type Ending = 'complete' | 'error' | 'abort' | 'break' | 'shutdown';
const EXPECTED: Record<Ending, string> = { complete: 'complete', error: 'no_workers', abort: 'aborted', break: 'abandoned', shutdown: 'shutdown' };
const ask = [{ role: 'user' as const, content: 'x' }];

/** Runs one request to the ending asked for; `shutdown` ones are left waiting for the pool's stop. */
async function run(cortex: Workers, ending: Ending): Promise<void> {
  const d = cortex.dispatcher;
  switch (ending) {
    case 'complete':
      for await (const _ of d.dispatchStream(ask, { route: 'good' }));
      return;
    case 'error':
      await d.complete(ask, { route: 'bad' }).catch(() => undefined);
      return;
    case 'abort': {
      const ctl = new AbortController();
      const it = d.dispatchStream(ask, { route: 'silent', signal: ctl.signal })[Symbol.asyncIterator]();
      const next = it.next().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1));
      ctl.abort(new Error('the user left'));
      await next;
      return;
    }
    case 'break':
      for await (const _ of d.dispatchStream(ask, { route: 'good' })) break;
      return;
    case 'shutdown':
      void d.complete(ask, { route: 'silent' }).catch(() => undefined);
      return;
    default:
      throw new Error(ending satisfies never);
  }
}

async function requestsTotal(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await registry.getMetricsAsJSON()) {
    if (m.name !== 'cortex_requests_total') continue;
    for (const v of m.values) out.set(String(v.labels.outcome), (out.get(String(v.labels.outcome)) ?? 0) + v.value);
  }
  return out;
}

describe('every request ends exactly once', () => {
  it('events, metrics and spans each count every request once, with its own outcome (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Ending>('complete', 'error', 'abort', 'break', 'shutdown'), { minLength: 1, maxLength: 12 }), async (endings) => {
        exporter.reset();
        const cortex = await startWorkers({
          workers: [
            new MockWorker({ name: 'good', tags: ['good'], chunks: ['a', 'b', 'c'] }),
            new MockWorker({ name: 'bad', tags: ['bad'], failOnStart: true }),
            new MockWorker({ name: 'silent', tags: ['silent'], hang: true }),
          ],
          healthIntervalMs: 0,
          circuitResetMs: 1e9,
          failureThreshold: 1_000,
        });
        const events: Extract<InspectionEvent, { type: 'pool.stream_finished' | 'pool.request_started' }>[] = [];
        cortex.system.inspect((e) => {
          if (e.type === 'pool.stream_finished' || e.type === 'pool.request_started') events.push(e);
        });
        const registry = new Registry();
        const metrics = collectMetrics(cortex, { registry });
        const tracing = traceRequests(cortex, { tracer });
        const ordered = [...endings.filter((e) => e !== 'shutdown'), ...endings.filter((e) => e === 'shutdown')];
        for (const ending of ordered) await run(cortex, ending);
        await new Promise((r) => setTimeout(r, 2)); // the shutdown ones are waiting on their worker
        await cortex.stop({ drainMs: 0 });

        const started = events.filter((e) => e.type === 'pool.request_started').map((e) => e.requestId);
        const finished = events.filter((e): e is Extract<InspectionEvent, { type: 'pool.stream_finished' }> => e.type === 'pool.stream_finished');
        expect(started).toHaveLength(endings.length);
        expect(finished.map((e) => e.requestId).sort()).toEqual([...started].sort());
        expect(finished.map((e) => e.outcome)).toEqual(ordered.map((e) => EXPECTED[e]));
        const want = new Map<string, number>();
        for (const e of ordered) want.set(EXPECTED[e], (want.get(EXPECTED[e]) ?? 0) + 1);
        expect(await requestsTotal(registry)).toEqual(want);
        expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('chat'))).toHaveLength(endings.length);
        metrics.dispose();
        tracing.dispose();
      }),
      { numRuns: 25 },
    );
  });

  it('an abandoned stream frees its slot and ends its attempt span', async () => {
    exporter.reset();
    const only = new MockWorker({ name: 'only', chunks: ['a', 'b', 'c'], limits: { maxConcurrent: 1 } });
    const cortex = await startWorkers({ workers: [only], healthIntervalMs: 0 });
    const tracing = traceRequests(cortex, { tracer });
    try {
      for await (const _ of cortex.dispatcher.dispatchStream(ask)) break;
      expect((await cortex.dispatcher.status()).workers[0]).toMatchObject({ inflight: 0, failures: 0 });
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name).sort()).toEqual(['attempt only', 'chat mock-model']);
      expect((await cortex.dispatcher.complete(ask)).text).toBe('abc'); // the one slot is free again
    } finally {
      tracing.dispose();
      await cortex.stop();
    }
  });
});
