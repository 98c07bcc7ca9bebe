/**
 * Prometheus metrics (`cortex-otp/metrics`): OpenTelemetry GenAI names in Prometheus form, and
 * cortex's own; counters equal the events that happened, whatever the traffic.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError, OllamaWorker, OpenAIWorker, startWorkers, type InspectionEvent, type Workers } from '../../src/index.js';
import { collectMetrics } from '../../src/metrics.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';
import { runWithout } from '../support/run-script.js';

const { ollama, openai, start } = useServers();

/** The value of one sample of the registry's metrics, by name and labels (0 when absent). */
async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values as Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>) {
      const full = v.metricName ?? m.name;
      if (full === name && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)) return v.value;
    }
  }
  return 0;
}

async function ask(cortex: Workers, content = 'hi'): Promise<void> {
  await cortex.dispatcher.complete([{ role: 'user', content }]).catch(() => undefined);
}

describe('collectMetrics', () => {
  it('GenAI histograms in Prometheus form, with provider, model and worker, and cortex\'s counters and gauges', async () => {
    const server = await ollama({ script: { chunks: ['a', 'b', 'c'], delayMs: 2 } });
    const { cortex } = await start([new OllamaWorker({ name: 'local', baseUrl: server.url, maxConcurrent: 2 })]);
    const metrics = collectMetrics(cortex);
    for (let i = 0; i < 3; i++) await ask(cortex);
    const r = metrics.registry as Registry;
    const genai = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'ollama', gen_ai_request_model: 'gemma3:4b', cortex_worker: 'local' };
    expect(await sample(r, 'gen_ai_client_operation_duration_seconds_count', { ...genai, error_type: '' })).toBe(3);
    expect(await sample(r, 'gen_ai_client_operation_time_to_first_chunk_seconds_count', genai)).toBe(3);
    expect(await sample(r, 'gen_ai_client_operation_time_per_output_chunk_seconds_count', genai)).toBe(3);
    expect(await sample(r, 'gen_ai_client_token_usage_count', { ...genai, gen_ai_token_type: 'output' })).toBe(3);
    expect(await sample(r, 'cortex_requests_total', { worker: 'local', outcome: 'complete' })).toBe(3);
    expect(await sample(r, 'cortex_queue_wait_seconds_count')).toBe(3);
    expect(await sample(r, 'cortex_worker_capacity', { worker: 'local' })).toBe(2);
    expect(await sample(r, 'cortex_worker_inflight', { worker: 'local' })).toBe(0);
    expect(await sample(r, 'cortex_circuit_state', { worker: 'local' })).toBe(0);
    const text = await metrics.metrics();
    expect(text).toContain('# TYPE gen_ai_client_operation_duration_seconds histogram');
    expect(text).toContain('cortex_queue_depth 0');
    metrics.dispose();
    expect((await r.metrics()).trim()).toBe(''); // unregistered
  });

  it('counts failovers, continuations, circuit changes and restarts as they happen', async () => {
    const broken = new MockWorker({ name: 'broken', priority: 1, failOnStart: true });
    const midway = new MockWorker({ name: 'midway', priority: 2, chunks: ['x', 'y', 'z'], failAfter: 1 });
    const good = new MockWorker({ name: 'good', priority: 3, chunks: ['ok'] });
    const { cortex } = await start([broken, midway, good], { failureThreshold: 1, continuation: { maxSwitches: 1 } });
    const metrics = collectMetrics(cortex);
    await ask(cortex);
    const r = metrics.registry as Registry;
    expect(await sample(r, 'cortex_failovers_total', { worker: 'broken' })).toBe(1);
    expect(await sample(r, 'cortex_continuations_total', { worker: 'midway' })).toBe(1);
    expect(await sample(r, 'cortex_attempt_failures_total', { worker: 'broken', phase: 'start' })).toBe(1);
    expect(await sample(r, 'cortex_circuit_changes_total', { worker: 'broken', state: 'open' })).toBe(1);
    expect(await sample(r, 'cortex_circuit_state', { worker: 'broken' })).toBe(2);
    expect(await sample(r, 'cortex_requests_total', { worker: 'good', outcome: 'complete' })).toBe(1);
    metrics.dispose();
  });

  it("names the provider OTel lists for a preset (groq, mistral_ai), not the protocol's", async () => {
    const server = await openai({ script: { chunks: ['a'] } });
    const { cortex } = await start([new OpenAIWorker({ preset: 'mistral', name: 'mistral', baseUrl: server.url, model: 'mistral-small', apiKey: 'k-not-used-1234' })]);
    expect(new OpenAIWorker({ preset: 'groq', model: 'llama', apiKey: 'k-not-used-1234' }).info()).toMatchObject({ kind: 'openai', provider: 'groq' });
    const metrics = collectMetrics(cortex);
    await ask(cortex);
    const r = metrics.registry as Registry;
    expect(await sample(r, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_provider_name: 'mistral_ai', cortex_worker: 'mistral' })).toBe(1);
    expect(await sample(r, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_provider_name: 'openai' })).toBe(0);
    metrics.dispose();
  });

  it('counts a failover only when another attempt starts (one worker failing: none)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'only', failOnStart: true })]);
    const metrics = collectMetrics(cortex);
    await ask(cortex);
    const r = metrics.registry as Registry;
    expect(await sample(r, 'cortex_attempt_failures_total', { worker: 'only' })).toBe(1);
    expect(await sample(r, 'cortex_failovers_total', { worker: 'only' })).toBe(0);
    expect(await sample(r, 'cortex_requests_total', { worker: 'only', outcome: 'no_workers' })).toBe(1);
    metrics.dispose();
  });

  it('bounds the model label: the first maxModels models keep their name, the rest are _other', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const metrics = collectMetrics(cortex, { maxModels: 3 });
    for (let i = 0; i < 10; i++) await cortex.dispatcher.complete([{ role: 'user', content: 'x' }], { model: `app-model-${i}` });
    const r = metrics.registry as Registry;
    const models = new Set<string>();
    for (const m of await r.getMetricsAsJSON()) if (m.name === 'gen_ai_client_operation_duration_seconds') for (const v of m.values) models.add(String(v.labels.gen_ai_request_model));
    expect([...models].sort()).toEqual(['_other', 'app-model-0', 'app-model-1', 'app-model-2']);
    expect(await sample(r, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_request_model: '_other' })).toBe(7);
    expect(() => collectMetrics(cortex, { maxModels: -1, registry: new Registry() })).toThrow(/options.maxModels/);
    metrics.dispose();
  });

  it('counters equal the events that happened (property: random workers and traffic)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ failOnStart: fc.integer({ min: 0, max: 3 }), failAfter: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }) }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 12 }),
        async (specs, requests) => {
          const workers = specs.map((s, i) => new MockWorker({ name: `w${i}`, priority: i, chunks: ['a', 'b', 'c'], failOnStart: s.failOnStart, ...(s.failAfter ? { failAfter: s.failAfter } : {}) }));
          const cortex = await startWorkers({ workers, healthIntervalMs: 0, failureThreshold: 2, circuitResetMs: 1e9 });
          const events: InspectionEvent[] = [];
          const sub = cortex.system.inspect((e) => events.push(e));
          const metrics = collectMetrics(cortex);
          try {
            await Promise.all(Array.from({ length: requests }, (_, i) => ask(cortex, `q${i}`)));
            const r = metrics.registry as Registry;
            const count = (type: string, pred: (e: InspectionEvent) => boolean = () => true): number => events.filter((e) => e.type === type && pred(e)).length;
            for (const w of [...workers.map((x) => x.info().name), 'none']) {
              for (const outcome of ['complete', 'interrupted', 'no_workers']) {
                const expected = count('pool.stream_finished', (e) => e.type === 'pool.stream_finished' && (e.worker ?? 'none') === w && e.outcome === outcome);
                expect(await sample(r, 'cortex_requests_total', { worker: w, outcome })).toBe(expected);
              }
              const fo = count('pool.failover', (e) => e.type === 'pool.failover' && e.from === w && e.deliveredChars === 0);
              expect(await sample(r, 'cortex_failovers_total', { worker: w })).toBe(fo);
            }
            expect(count('pool.stream_finished')).toBe(requests);
          } finally {
            sub.dispose();
            metrics.dispose();
            await cortex.stop();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses a registry that already has cortex\'s metrics', async () => {
    const { cortex } = await start([new MockWorker()]);
    const registry = new Registry();
    const first = collectMetrics(cortex, { registry });
    let error: unknown;
    try {
      collectMetrics(cortex, { registry });
    } catch (e) {
      error = e;
    }
    expect(isInvalidArgumentError(error)).toBe(true);
    first.dispose();
    collectMetrics(cortex, { registry }).dispose(); // free again after dispose
  });

  it('without prom-client: MissingPeerError naming the package', async () => {
    const out = await runWithout('prom-client', `
      const { startWorkers, DemoWorker } = await import('./src/index.ts');
      const { collectMetrics } = await import('./src/metrics.ts');
      const cortex = await startWorkers({ workers: [new DemoWorker()], healthIntervalMs: 0 });
      try { collectMetrics(cortex); } catch (e) { console.log(JSON.stringify({ code: e.code, peer: e.peer })); }
      await cortex.stop();
    `);
    expect(JSON.parse(out.stdout.trim())).toEqual({ code: 'missing_peer', peer: 'prom-client' });
  });
});
