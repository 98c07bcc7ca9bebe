import type { CacheHitEvent, StreamFinishedEvent } from '../events.js';
import type { KeyBudgetState, KeyEntry, KeyLimits } from './keys.js';

/**
 * One configured key's usage, as the dashboard shows it: its requests, tokens and cost since the
 * start of its budget's period (or of the UTC day, without a budget), counted by this gateway
 * instance; and its budget, whose `used` is counted in the shared store (every instance's).
 */
export interface KeyUsage {
  /** The key's id (never the key). */
  readonly id: string;
  /** From when it is counted, ms since the epoch. */
  readonly since: number;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** US dollars, for the requests whose worker has a price; absent when none had one. */
  readonly costUsd?: number;
  /** Its budget this period, when it has one. */
  readonly budget?: KeyBudgetState;
}

/** One line of usage: a key's requests on one worker and model, their tokens and cost. */
export interface UsageLine {
  readonly key: string | null;
  readonly worker: string;
  readonly model: string | null;
  readonly requests: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  /** US dollars, for the requests whose worker has a price; null when none had one. */
  readonly cost_usd: number | null;
  /** Requests answered from the response cache with this worker's answer (not in `requests`). */
  readonly cache_hits: number;
  /** US dollars those hits saved (what the answer cost when asked); null when none had a known cost. */
  readonly saved_usd: number | null;
}

interface Row {
  readonly hour: number;
  readonly key: string | null;
  readonly worker: string;
  readonly model: string | null;
  requests: number;
  input: number;
  output: number;
  cost: number | null;
  hits: number;
  saved: number | null;
}

const HOUR = 3_600_000;
/** How long usage is kept, hours (31 days). */
const KEEP_HOURS = 31 * 24;

/**
 * Usage and cost by key, worker and model, kept by the hour for 31 days in this process (what
 * `GET /v1/usage` answers). @internal
 */
export class UsageBook {
  readonly #rows = new Map<string, Row>();
  #prunedAt = 0;

  /** Counts a request's end (those that reached a worker). */
  record(e: StreamFinishedEvent, now: number = Date.now()): void {
    if (e.worker === undefined) return;
    const r = this.#row(now, e.tenant, e.worker, e.model);
    r.requests++;
    r.input += e.usage?.promptTokens ?? 0;
    r.output += e.usage?.completionTokens ?? 0;
    if (e.costUsd !== undefined) r.cost = (r.cost ?? 0) + e.costUsd;
  }

  /** Counts a cache hit, and what it saved, on the row of the worker whose answer it replayed. */
  hit(e: CacheHitEvent, now: number = Date.now()): void {
    if (e.worker === undefined) return;
    const r = this.#row(now, e.tenant, e.worker, e.workerModel);
    r.hits++;
    if (e.savedUsd !== undefined) r.saved = (r.saved ?? 0) + e.savedUsd;
  }

  #row(now: number, tenant: string | undefined, worker: string, asked: string | undefined): Row {
    const hour = Math.floor(now / HOUR) * HOUR;
    if (hour > this.#prunedAt) this.#prune(hour);
    const key = tenant ?? null;
    const model = asked ?? null;
    const id = `${hour}\0${key ?? ''}\0${worker}\0${model ?? ''}`;
    let r = this.#rows.get(id);
    if (r === undefined) this.#rows.set(id, (r = { hour, key, worker, model, requests: 0, input: 0, output: 0, cost: null, hits: 0, saved: null }));
    return r;
  }

  /** The usage since `since` (ms), of one key or all, summed by key, worker and model. */
  query(since: number, key?: string): UsageLine[] {
    const sums = new Map<string, Row>();
    for (const r of this.#rows.values()) {
      if (r.hour + HOUR <= since || (key !== undefined && r.key !== key)) continue;
      const id = `${r.key ?? ''}\0${r.worker}\0${r.model ?? ''}`;
      const s = sums.get(id);
      if (s === undefined) sums.set(id, { ...r });
      else {
        s.requests += r.requests;
        s.input += r.input;
        s.output += r.output;
        if (r.cost !== null) s.cost = (s.cost ?? 0) + r.cost;
        s.hits += r.hits;
        if (r.saved !== null) s.saved = (s.saved ?? 0) + r.saved;
      }
    }
    return [...sums.values()].map((s) => ({ key: s.key, worker: s.worker, model: s.model, requests: s.requests, input_tokens: s.input, output_tokens: s.output, cost_usd: s.cost, cache_hits: s.hits, saved_usd: s.saved }));
  }

  #prune(hour: number): void {
    this.#prunedAt = hour;
    for (const [id, r] of this.#rows) if (r.hour < hour - KEEP_HOURS * HOUR) this.#rows.delete(id);
  }
}

/** Each key's usage since its period started, with its budget (see {@link KeyUsage}). @internal */
export async function keyUsage(entries: readonly KeyEntry[], book: UsageBook, limits: KeyLimits, now: number = Date.now()): Promise<KeyUsage[]> {
  const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
  return Promise.all(
    entries.map(async (k) => {
      const budget = await limits.budgetOf(k, now);
      const since = budget?.since ?? dayStart;
      let requests = 0;
      let input = 0;
      let output = 0;
      let cost: number | undefined;
      for (const l of book.query(since, k.id)) {
        requests += l.requests;
        input += l.input_tokens;
        output += l.output_tokens;
        if (l.cost_usd !== null) cost = (cost ?? 0) + l.cost_usd;
      }
      return { id: k.id, since, requests, inputTokens: input, outputTokens: output, ...(cost !== undefined ? { costUsd: cost } : {}), ...(budget !== undefined ? { budget } : {}) };
    }),
  );
}
