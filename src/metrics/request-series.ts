import type { CacheHitEvent, StreamFinishedEvent } from '../events.js';
import type { CounterCell, Counters, HistogramCell, Histograms } from './series.js';

/** The families a request's end updates. @internal */
export interface RequestFamilies {
  readonly requests: Counters;
  readonly duration: Histograms;
  readonly firstChunk: Histograms;
  readonly perChunk: Histograms;
  readonly tokens: Histograms;
  /** Tokens by tenant, worker and type (input, output). */
  readonly usage: Counters;
  /** US dollars by tenant and worker (requests whose worker has a price). */
  readonly cost: Counters;
  /** US dollars cache hits saved, by tenant and worker (the answer's cost when it was asked). */
  readonly saved: Counters;
}

/** The label of a model (or tenant) not among the first `maxModels` seen. */
export const OTHER_MODEL = '_other';

/** The GenAI series of one worker, provider and model. */
interface ModelCells {
  readonly labels: Readonly<Record<string, string>>;
  readonly key: string;
  /** Duration, by error type ('' when complete). */
  readonly duration: Map<string, HistogramCell>;
  readonly firstChunk: HistogramCell;
  readonly perChunk: HistogramCell;
  readonly input: HistogramCell;
  readonly output: HistogramCell;
}

/** One worker's series: requests by outcome, and its GenAI series by provider and model. */
interface WorkerCells {
  readonly outcomes: Map<string, CounterCell>;
  readonly models: Map<string, Map<string, ModelCells>>;
}

/**
 * The series a request's end updates, made once per worker, provider and model and found again
 * through maps keyed by the event's own strings: no key is built, and nothing allocated, per
 * request once a series exists. The model label (an app may pass any string) is bounded: the
 * first `maxModels` models seen keep their name, later ones are counted as `_other`.
 * @internal
 */
export class RequestSeries {
  readonly #workers = new Map<string, WorkerCells>();
  readonly #models = new Set<string>();
  readonly #tenants = new Set<string>();

  constructor(
    private readonly f: RequestFamilies,
    private readonly maxModels: number,
  ) {}

  /** Counts a request's end. */
  finished(e: StreamFinishedEvent): void {
    const worker = e.worker ?? 'none';
    const w = this.#worker(worker);
    let outcome = w.outcomes.get(e.outcome);
    if (outcome === undefined) w.outcomes.set(e.outcome, (outcome = this.f.requests.cell(`${worker}\0${e.outcome}`, () => ({ worker, outcome: e.outcome }))));
    outcome.value++;
    const m = this.#model(w, worker, e.kind ?? 'none', this.#label(e.model ?? ''));
    const error = e.outcome === 'complete' ? '' : e.outcome;
    let duration = m.duration.get(error);
    if (duration === undefined) m.duration.set(error, (duration = this.f.duration.cell(`${m.key}\0${error}`, () => ({ ...m.labels, error_type: error }))));
    this.f.duration.observe(duration, e.ms / 1000);
    if (e.firstChunkMs !== undefined) {
      this.f.firstChunk.observe(m.firstChunk, e.firstChunkMs / 1000);
      if (e.chunks > 1) this.f.perChunk.observe(m.perChunk, (e.lastChunkMs! - e.firstChunkMs) / (e.chunks - 1) / 1000);
    }
    const u = e.usage;
    if (u?.promptTokens !== undefined) this.f.tokens.observe(m.input, u.promptTokens);
    if (u?.completionTokens !== undefined) this.f.tokens.observe(m.output, u.completionTokens);
    if (u !== undefined || e.costUsd !== undefined) this.#spent(e, worker);
  }

  /** Tokens and cost by tenant (a bounded label, as the model's) and worker. */
  #spent(e: StreamFinishedEvent, worker: string): void {
    const tenant = this.#bounded(this.#tenants, e.tenant ?? '');
    const f = this.f;
    const u = e.usage;
    if (u?.promptTokens !== undefined) f.usage.cell(`${tenant}\0${worker}\0i`, () => ({ tenant, worker, type: 'input' })).value += u.promptTokens;
    if (u?.completionTokens !== undefined) f.usage.cell(`${tenant}\0${worker}\0o`, () => ({ tenant, worker, type: 'output' })).value += u.completionTokens;
    if (e.costUsd !== undefined) f.cost.cell(`${tenant}\0${worker}`, () => ({ tenant, worker })).value += e.costUsd;
  }

  /** Counts what a cache hit saved (nothing when its answer's cost is unknown). */
  saved(e: CacheHitEvent): void {
    if (e.savedUsd === undefined) return;
    const tenant = this.#bounded(this.#tenants, e.tenant ?? '');
    const worker = e.worker ?? 'none';
    this.f.saved.cell(`${tenant}\0${worker}`, () => ({ tenant, worker })).value += e.savedUsd;
  }

  #bounded(seen: Set<string>, value: string): string {
    if (value === '' || seen.has(value)) return value;
    if (seen.size >= this.maxModels) return OTHER_MODEL;
    seen.add(value);
    return value;
  }

  #worker(name: string): WorkerCells {
    let w = this.#workers.get(name);
    if (w === undefined) this.#workers.set(name, (w = { outcomes: new Map(), models: new Map() }));
    return w;
  }

  #label(model: string): string {
    return this.#bounded(this.#models, model);
  }

  #model(w: WorkerCells, worker: string, provider: string, model: string): ModelCells {
    let byModel = w.models.get(provider);
    if (byModel === undefined) w.models.set(provider, (byModel = new Map()));
    let m = byModel.get(model);
    if (m === undefined) byModel.set(model, (m = this.#cells(worker, provider, model)));
    return m;
  }

  #cells(worker: string, provider: string, model: string): ModelCells {
    const key = `${worker}\0${provider}\0${model}`;
    const labels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: provider, gen_ai_request_model: model, cortex_worker: worker };
    const f = this.f;
    return {
      labels,
      key,
      duration: new Map(),
      firstChunk: f.firstChunk.cell(key, () => labels),
      perChunk: f.perChunk.cell(key, () => labels),
      input: f.tokens.cell(`${key}\0i`, () => ({ ...labels, gen_ai_token_type: 'input' })),
      output: f.tokens.cell(`${key}\0o`, () => ({ ...labels, gen_ai_token_type: 'output' })),
    };
  }
}
