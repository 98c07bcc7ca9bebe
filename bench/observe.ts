import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { lib, testing } from './lib.js';
import type { ChatMessage, InspectionEvent, Workers } from '../src/index.js';
import { interleaved, median, record } from './harness.js';

const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

async function whole(w: Workers): Promise<void> {
  for await (const _ of w.dispatcher.dispatchStream(hi)) void _;
}

/**
 * What metrics and traces add to a request (3 chunks, MockWorker), each against the same pool
 * unobserved, interleaved; and the OpenTelemetry SDK's own cost for the two spans a request makes.
 */
export async function observeBench(): Promise<void> {
  const { collectMetrics } = (await import(new URL('../dist/metrics.js', import.meta.url).href)) as typeof import('../src/metrics.js');
  const { traceRequests } = (await import(new URL('../dist/tracing.js', import.meta.url).href)) as typeof import('../src/tracing.js');
  const { dashboardHandler } = (await import(new URL('../dist/dashboard.js', import.meta.url).href)) as typeof import('../src/dashboard.js');
  const sdkTracer = new BasicTracerProvider().getTracer('bench'); // records spans, exports nothing
  const pools: Record<string, Workers> = {};
  const setups: Record<string, (w: Workers) => void> = {
    plain: () => undefined,
    listened: (w) => void w.system.inspect(() => undefined), // the events alone, a listener that does nothing
    metrics: (w) => void collectMetrics(w),
    tracing: (w) => void traceRequests(w, { tracer: sdkTracer }),
    both: (w) => {
      collectMetrics(w);
      traceRequests(w, { tracer: sdkTracer });
    },
    apiOnly: (w) => void traceRequests(w), // @opentelemetry/api without an SDK: its no-op tracer
    dashboard: (w) => void dashboardHandler(w), // mounted, nobody watching: only its event tallies
  };
  for (const [name, setup] of Object.entries(setups)) {
    pools[name] = await lib.startWorkers({ workers: [new testing.MockWorker({ name: 'w', chunks: ['a', 'b', 'c'] })], healthIntervalMs: 0, prefix: `o-${name}` });
    setup(pools[name]!);
  }
  const B = 100;
  const tasks = Object.fromEntries(
    Object.entries(pools).map(([name, w]) => [
      name,
      async () => {
        for (let i = 0; i < B; i++) await whole(w);
      },
    ]),
  );
  const r = await interleaved(tasks, { batch: B });
  const plain = median(r.plain!);
  const added = (name: string): number => (median(r[name]!) - plain) / 1000;
  record({ group: 'observe', name: 'a request (3 chunks), unobserved', value: plain / 1000, unit: 'us' });
  record({ group: 'observe', name: 'added by the events alone (a listener that does nothing)', value: added('listened'), unit: 'us' });
  record({ group: 'observe', name: 'added by metrics (collectMetrics)', value: added('metrics'), unit: 'us' });
  record({ group: 'observe', name: 'added by a mounted dashboard (its tallies; the feed samples on its own tick)', value: added('dashboard'), unit: 'us' });
  record({ group: 'observe', name: 'added by tracing, OpenTelemetry API without an SDK', value: added('apiOnly'), unit: 'us' });
  record({ group: 'observe', name: 'added by tracing, SDK tracer, no exporter', value: added('tracing'), unit: 'us' });
  const both = added('both');
  record({ group: 'observe', name: 'added by metrics + tracing (SDK tracer, no exporter)', value: both, unit: 'us' });
  // The SDK's own floor: the two spans a request makes (request, attempt), with their attributes;
  // the median of 7 rounds, as the figure it is taken from is a median too.
  const spans = (): number => {
    const N = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const a = sdkTracer.startSpan('chat m', { kind: 2, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm' } }, context.active());
      const b = sdkTracer.startSpan('attempt w', { kind: 2, attributes: { 'gen_ai.provider.name': 'mock', 'cortex.worker': 'w', 'cortex.attempt': 1 } }, trace.setSpan(context.active(), a));
      b.end();
      a.setAttributes({ 'cortex.chunks': 3, 'gen_ai.response.model': 'm' });
      a.end();
    }
    return ((performance.now() - t0) / N) * 1000;
  };
  const sdk = median(Array.from({ length: 7 }, spans));
  record({ group: 'observe', name: 'of which the SDK itself: two spans with their attributes', value: sdk, unit: 'us' });
  // The goal is cortex's own part, beyond what the SDK's spans cost (the performance issue's):
  // measured below on the listeners alone, as metrics' own work is, where the pools' noise
  // (a few us either way between two runs) does not reach.
  for (const w of Object.values(pools)) await w.stop();
  await metricsListener(collectMetrics);
  await observedListeners(collectMetrics, traceRequests, sdkTracer, spans);
  await cacheHit();
}

/** The events of one request: started, dispatch, finished with usage. */
const requestEvents = (requestId: number): InspectionEvent[] => [
  { type: 'pool.request_started', requestId, model: 'm', messages: 1 },
  { type: 'pool.dispatch', requestId, worker: 'w', attempt: 1, segment: 0, kind: 'mock', model: 'm', queuedMs: 0 },
  { type: 'pool.stream_finished', requestId, worker: 'w', outcome: 'complete', chars: 3, ms: 5, chunks: 3, firstChunkMs: 1, lastChunkMs: 4, usage: { promptTokens: 5, completionTokens: 3 }, kind: 'mock', model: 'm' },
];

/**
 * What the listeners `listen` adds cost per request, alone: the events of one request fed to
 * them, against the same events to a listener that does nothing, `n` requests a round. No pool,
 * no scheduler. Each round returns the listeners' cost and, when given, `beside()` measured in
 * the same round (a floor to take from it, free of the machine's drift between rounds).
 */
async function listenerCost(name: string, listen: (w: Workers) => void, opts: { rounds: number; n: number; beside?: () => number }): Promise<Array<{ added: number; beside: number }>> {
  const make = async (suffix: string, on: (w: Workers) => void): Promise<Workers> => {
    const w = await lib.startWorkers({ workers: [new testing.MockWorker({ name: 'w' })], healthIntervalMs: 0, prefix: `${name}-${suffix}` });
    on(w);
    return w;
  };
  const empty = await make('empty', (w) => void w.system.inspect(() => undefined));
  const listened = await make('listened', listen);
  const run = (w: Workers): number => {
    const t0 = performance.now();
    for (let i = 0; i < opts.n; i++) for (const e of requestEvents(i)) w.system.events.emit(() => e);
    return ((performance.now() - t0) / opts.n) * 1000;
  };
  const rounds: Array<{ added: number; beside: number }> = [];
  for (let r = 0; r < opts.rounds; r++) {
    const beside = opts.beside?.() ?? 0;
    rounds.push({ added: run(listened) - run(empty), beside });
  }
  await empty.stop();
  await listened.stop();
  return rounds;
}

/**
 * cortex's own part of metrics + tracing per request: collectMetrics' and traceRequests'
 * listeners (SDK tracer, no exporter), less what the SDK's two spans cost alone, in each round.
 */
async function observedListeners(
  collectMetrics: typeof import('../src/metrics.js').collectMetrics,
  traceRequests: typeof import('../src/tracing.js').traceRequests,
  tracer: ReturnType<BasicTracerProvider['getTracer']>,
  sdkSpans: () => number,
): Promise<void> {
  const rounds = await listenerCost(
    'ol',
    (w) => {
      collectMetrics(w);
      traceRequests(w, { tracer });
    },
    { rounds: 9, n: 20_000, beside: sdkSpans },
  );
  const listeners = median(rounds.map((r) => r.added));
  const own = median(rounds.map((r) => r.added - r.beside));
  record({ group: 'observe', name: 'metrics + tracing listeners per request (SDK tracer), the events of one request', value: listeners, unit: 'us' });
  record({ group: 'observe', name: "cortex's own part of metrics + tracing (the listeners beyond the SDK's two spans)", value: own, unit: 'us', goal: '<= 2 us', met: own <= 2 });
}

/** cortex's own metrics work per request, alone: collectMetrics' listener, to the nanosecond. */
async function metricsListener(collectMetrics: typeof import('../src/metrics.js').collectMetrics): Promise<void> {
  const rounds = await listenerCost('ml', (w) => void collectMetrics(w), { rounds: 7, n: 50_000 });
  const own = median(rounds.map((r) => r.added));
  record({ group: 'observe', name: "metrics' own work per request (its listener, the events of one request)", value: own, unit: 'us', goal: '<= 1.3 us (ADR 0007)', met: own <= 1.3 });
}

/** A response-cache hit: from the call to its first chunk. */
async function cacheHit(): Promise<void> {
  const w = await lib.startWorkers({ workers: [new testing.MockWorker({ name: 'w', chunks: ['a', 'b', 'c'] })], healthIntervalMs: 0, prefix: 'o-cache', cache: {} });
  await whole(w); // kept
  const N = 20_000;
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const g = w.dispatcher.dispatchStream(hi);
      await g.next();
      await g.return();
    }
    times.push(((performance.now() - t0) / N) * 1000);
  }
  const us = median(times);
  record({ group: 'observe', name: 'response cache hit: call to first chunk (in memory)', value: us, unit: 'us', goal: '< 20 us', met: us < 20 });
  await w.stop();
}
