import type { InspectionEvent } from '../events.js';
import { checkObject } from '../runtime/checks.js';
import type { Disposable } from '../runtime/inspection.js';
import { checkSystem, type ActorSystem } from '../runtime/system.js';
import type { PoolStatus } from '../pool/pool.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { peer } from '../lazy-require.js';
import { Counters, Histograms } from './series.js';
import { RequestSeries } from './request-series.js';

/** What {@link collectMetrics} reads: a `startWorkers` handle, or a system and a dispatcher. */
export interface MetricsSource {
  readonly system: ActorSystem;
  /** Where the pool's gauges are read from when scraped. */
  readonly dispatcher: {
    /** The pool's status (see `Dispatcher.status`). */
    status(): Promise<PoolStatus>;
  };
}

/** A prom-client `Registry`, as far as cortex uses it (typed here so cortex's types never need prom-client's). */
export interface PromRegistry {
  /** The exposition text of every metric on the registry. */
  metrics(): Promise<string>;
  readonly contentType: string;
  /** The metric registered under `name`, if any. */
  getSingleMetric(name: string): unknown;
  /** Removes the metric registered under `name`. */
  removeSingleMetric(name: string): void;
}

/** Options of {@link collectMetrics}. */
export interface CollectMetricsOptions {
  /** Register on this prom-client `Registry` (your app's, or `register`, the global one). Default: a new one. */
  registry?: PromRegistry;
  /**
   * Most distinct `gen_ai_request_model` values (an app may pass any model string): the first
   * this many keep their name, later ones are counted as `_other`, so a caller cannot grow the
   * series without bound. Default 32.
   */
  maxModels?: number;
}

/** The metrics of one cortex, from {@link collectMetrics}. */
export interface CortexMetrics extends Disposable {
  /** The registry they are on: serve `await registry.metrics()` with `registry.contentType` at `/metrics`. */
  readonly registry: PromRegistry;
  /** The exposition text (what `/metrics` answers). */
  metrics(): Promise<string>;
}

/** OpenTelemetry GenAI's advisory buckets, seconds. */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const FIRST_CHUNK_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const PER_CHUNK_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

type Prom = typeof import('prom-client');
type Labels = Record<string, string>;

const loadProm = peer<Prom>('prom-client', 'collectMetrics');

/**
 * Prometheus metrics of a running cortex, through prom-client (an optional peer dependency).
 * Names follow OpenTelemetry's GenAI conventions in Prometheus form where one exists
 * (`gen_ai_client_operation_duration_seconds`, `..._time_to_first_chunk_seconds`,
 * `..._time_per_output_chunk_seconds`, `gen_ai_client_token_usage`); cortex's own are prefixed
 * `cortex_`. Counters and histograms follow the system's events exactly; gauges (in flight,
 * capacity, circuit, health, queue) are read from `status()` when scraped. `dispose()` stops
 * and unregisters them.
 * @throws MissingPeerError without prom-client; InvalidArgumentError for a bad source or a registry that already has cortex's metrics.
 * @example
 * const metrics = collectMetrics(cortex);
 * http.createServer(async (_req, res) => res.setHeader('content-type', metrics.registry.contentType).end(await metrics.metrics()));
 */
export function collectMetrics(source: MetricsSource, options: CollectMetricsOptions = {}): CortexMetrics {
  checkObject(source, 'source');
  checkSystem(source.system, 'source.system');
  checkObject(options, 'options');
  const maxModels = options.maxModels ?? 32;
  if (!(Number.isInteger(maxModels) && maxModels >= 0)) throw new InvalidArgumentError('options.maxModels', 'a whole number >= 0', maxModels);
  const p = loadProm();
  const registry = (options.registry ?? new p.Registry()) as PromRegistry & InstanceType<Prom['Registry']>;
  if (registry.getSingleMetric('cortex_requests_total') !== undefined) {
    throw new InvalidArgumentError('options.registry', 'a registry without cortex metrics (one collectMetrics per registry)', 'a registry that has them');
  }
  const names: string[] = [];
  const add = <F extends Counters | Histograms>(f: F): F => {
    registry.registerMetric(f as never);
    names.push(f.name);
    return f;
  };
  const histogram = (name: string, help: string, buckets: number[]): Histograms => add(new Histograms(name, help, buckets));
  const counter = (name: string, help: string): Counters => add(new Counters(name, help));
  const m: Metrics = {
    duration: histogram('gen_ai_client_operation_duration_seconds', 'GenAI operation duration (a request, from its start to its end).', DURATION_BUCKETS),
    firstChunk: histogram('gen_ai_client_operation_time_to_first_chunk_seconds', 'Time from the request to its first chunk.', FIRST_CHUNK_BUCKETS),
    perChunk: histogram('gen_ai_client_operation_time_per_output_chunk_seconds', "Mean time between a stream's chunks after the first (one observation per stream).", PER_CHUNK_BUCKETS),
    tokens: histogram('gen_ai_client_token_usage', 'Tokens used per request, as the backend reported them.', TOKEN_BUCKETS),
    requests: counter('cortex_requests_total', 'Requests ended, by last worker and outcome.'),
    attemptFailures: counter('cortex_attempt_failures_total', 'Attempts that failed, by worker and phase.'),
    failovers: counter('cortex_failovers_total', 'Requests moved on from a worker before any text.'),
    continuations: counter('cortex_continuations_total', 'Requests continued on another worker after text was delivered.'),
    queueWait: histogram('cortex_queue_wait_seconds', "A checkout's wait for a slot (0 when one was free).", FIRST_CHUNK_BUCKETS),
    circuitChanges: counter('cortex_circuit_changes_total', 'Circuit state changes, by worker and new state.'),
    cooldowns: counter('cortex_cooldowns_total', 'Cool-downs (rate limits, bad keys, limit headers), by worker.'),
    healthChanges: counter('cortex_health_changes_total', 'Health changes, by worker and new health.'),
    restarts: counter('cortex_actor_restarts_total', 'Children restarted by their supervisor, by child id.'),
    cacheHits: counter('cortex_cache_hits_total', 'Requests answered from the response cache.'),
    hedges: counter('cortex_hedges_total', 'Hedge races, by result: hedge_won, primary_won, both_failed.'),
    usage: counter('cortex_usage_tokens_total', 'Tokens the backends reported, by tenant (the gateway key id), worker and type (input, output).'),
    cost: counter('cortex_cost_usd_total', "US dollars spent, by tenant and worker (for workers with a price; never guessed)."),
    saved: counter('cortex_cache_saved_usd_total', 'US dollars cache hits saved (what the answer replayed cost when it was asked), by tenant and worker.'),
  };
  names.push(...gauges(p, registry, source));
  const sub = source.system.inspect(listener(m, maxModels));
  return {
    registry,
    metrics: () => registry.metrics(),
    dispose() {
      sub.dispose();
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}

type Metrics = { [K in 'duration' | 'firstChunk' | 'perChunk' | 'tokens' | 'queueWait']: Histograms } & {
  [K in 'requests' | 'attemptFailures' | 'failovers' | 'continuations' | 'circuitChanges' | 'cooldowns' | 'healthChanges' | 'restarts' | 'cacheHits' | 'hedges' | 'usage' | 'cost' | 'saved']: Counters;
};

type Inc = (f: Counters, key: string, labels: () => Labels) => void;
type Observe = (f: Histograms, key: string, labels: () => Labels, v: number) => void;

const inc: Inc = (f, key, labels) => void f.cell(key, labels).value++;
const observe: Observe = (f, key, labels, v) => f.observe(f.cell(key, labels), v);
const NO_LABELS = (): Labels => ({});

/** The event listener: each event updates its metrics (a series found by a key, made once). */
function listener(m: Metrics, maxModels: number): (e: InspectionEvent) => void {
  const ends = new RequestSeries(m, maxModels);
  return (e) => {
    switch (e.type) {
      case 'pool.stream_finished':
        return ends.finished(e);
      case 'pool.dispatch':
        return observe(m.queueWait, '', NO_LABELS, e.queuedMs / 1000);
      case 'pool.attempt_failed':
        if (e.blame === 'caller') return; // the request was wrong, not the worker: seen in cortex_requests_total{outcome="invalid_request"}
        return inc(m.attemptFailures, `${e.worker}\0${e.phase}`, () => ({ worker: e.worker, phase: e.phase }));
      case 'pool.failover':
        return inc(e.deliveredChars > 0 ? m.continuations : m.failovers, e.from, () => ({ worker: e.from }));
      case 'pool.circuit_changed':
        return inc(m.circuitChanges, `${e.worker}\0${e.state}`, () => ({ worker: e.worker, state: e.state }));
      case 'pool.cooldown':
        return inc(m.cooldowns, e.worker, () => ({ worker: e.worker }));
      case 'pool.health_changed':
        return inc(m.healthChanges, `${e.worker}\0${e.to}`, () => ({ worker: e.worker, health: e.to }));
      case 'supervisor.child_restarting':
        return inc(m.restarts, e.id, () => ({ child: e.id }));
      case 'pool.cache_hit':
        inc(m.cacheHits, '', NO_LABELS);
        return ends.saved(e);
      case 'pool.hedge_settled':
        return inc(m.hedges, e.result, () => ({ result: e.result }));
      default:
        return;
    }
  };
}

const CIRCUIT = { closed: 0, half_open: 1, open: 2 } as const;

/** Gauges read from `status()` when scraped; returns their names. */
function gauges(p: Prom, registry: InstanceType<Prom['Registry']>, source: MetricsSource): string[] {
  let pending: Promise<PoolStatus | undefined> | null = null;
  // One status() per scrape, shared by every gauge.
  const status = (): Promise<PoolStatus | undefined> =>
    (pending ??= source.dispatcher.status().then(
      (s) => s,
      () => undefined,
    )).finally(() => setImmediate(() => (pending = null)));
  const gauge = (name: string, help: string, labelNames: string[], fill: (s: PoolStatus, set: (labels: Labels, v: number) => void) => void): string => {
    new p.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const s = await status();
        if (s !== undefined) fill(s, (labels, v) => this.set(labels, v));
      },
    });
    return name;
  };
  return [
    gauge('cortex_worker_inflight', 'Streams in flight per worker.', ['worker'], (s, set) => s.workers.forEach((w) => set({ worker: w.name }, w.inflight))),
    gauge('cortex_worker_capacity', 'A worker\'s maxConcurrent (absent when unlimited).', ['worker'], (s, set) =>
      s.workers.forEach((w) => w.limits?.maxConcurrent !== undefined && set({ worker: w.name }, w.limits.maxConcurrent)),
    ),
    gauge('cortex_circuit_state', 'Circuit per worker: 0 closed, 1 half-open, 2 open.', ['worker'], (s, set) => s.workers.forEach((w) => set({ worker: w.name }, CIRCUIT[w.circuit]))),
    gauge('cortex_worker_health', 'Health per worker: 1 for its current state.', ['worker', 'health'], (s, set) => s.workers.forEach((w) => set({ worker: w.name, health: w.health }, 1))),
    gauge('cortex_queue_depth', 'Requests waiting for a slot.', [], (s, set) => set({}, s.queued)),
    gauge('cortex_store_degraded', '1 while the shared store is unreachable.', [], (s, set) => set({}, s.store.degraded ? 1 : 0)),
  ];
}
