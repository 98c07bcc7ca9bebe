import type { CacheHitEvent, StreamFinishedEvent } from '../events.js';
import type { KeyBudgetState, KeyEntry, KeyLimits } from './keys.js';
import { addUsage, USAGE_HOUR_MS, USAGE_KEPT_MS, usageId, type SharedStore, type UsageCount } from '../store/store.js';

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

/** How a usage answer was counted: by every gateway instance (from the shared store), or by this one alone. */
export type UsageScope = 'cluster' | 'instance';

/**
 * Usage and cost by key, worker and model, kept by the hour for 31 days: in this process, and,
 * with a shared store that keeps usage (Redis, or the memory store of one process), added there
 * too, so that `GET /v1/usage` and the dashboard answer for every gateway instance. When the
 * store cannot answer, the answer is this instance's own (and says so). @internal
 */
export class UsageBook {
  readonly #rows = new Map<string, UsageCount>();
  #prunedAt = 0;

  constructor(private readonly shared?: SharedStore) {}

  /** Counts a request's end (those that reached a worker). */
  record(e: StreamFinishedEvent, now: number = Date.now()): void {
    if (e.worker === undefined) return;
    this.#add({ ...this.#identity(now, e.tenant, e.worker, e.model), requests: 1, inputTokens: e.usage?.promptTokens ?? 0, outputTokens: e.usage?.completionTokens ?? 0, costUsd: e.costUsd ?? null, cacheHits: 0, savedUsd: null });
  }

  /** Counts a cache hit, and what it saved, on the row of the worker whose answer it replayed. */
  hit(e: CacheHitEvent, now: number = Date.now()): void {
    if (e.worker === undefined) return;
    this.#add({ ...this.#identity(now, e.tenant, e.worker, e.workerModel), requests: 0, inputTokens: 0, outputTokens: 0, costUsd: null, cacheHits: 1, savedUsd: e.savedUsd ?? null });
  }

  #identity(now: number, tenant: string | undefined, worker: string, model: string | undefined): Pick<UsageCount, 'hour' | 'key' | 'worker' | 'model'> {
    return { hour: Math.floor(now / USAGE_HOUR_MS) * USAGE_HOUR_MS, key: tenant ?? null, worker, model: model ?? null };
  }

  #add(delta: UsageCount): void {
    if (delta.hour > this.#prunedAt) this.#prune(delta.hour);
    const id = usageId(delta);
    const had = this.#rows.get(id);
    this.#rows.set(id, had === undefined ? delta : addUsage(had, delta));
    // Shared by every instance; a write the store misses is counted here only.
    this.shared?.usageAdd?.(delta).catch(() => undefined);
  }

  /** The usage since `since` (ms), of one key or all, summed by key, worker and model: the cluster's when the store answers, else this instance's. */
  async query(since: number, key?: string): Promise<{ scope: UsageScope; data: UsageLine[] }> {
    const { scope, counts } = await this.counts(since);
    return { scope, data: lines(counts, since, key) };
  }

  /** Every count from `since` on, in one read: the cluster's from the store when it answers, else this instance's. */
  async counts(since: number): Promise<{ scope: UsageScope; counts: readonly UsageCount[] }> {
    const store = this.shared;
    if (store?.usageRead !== undefined && !store.degraded) {
      const counts = await store.usageRead(since).catch(() => undefined);
      if (counts !== undefined) return { scope: 'cluster', counts };
    }
    return { scope: 'instance', counts: [...this.#rows.values()] };
  }

  #prune(hour: number): void {
    this.#prunedAt = hour;
    for (const [id, r] of this.#rows) if (r.hour < hour - USAGE_KEPT_MS) this.#rows.delete(id);
  }
}

/** Counts from `since` on, of one key or all, summed by key, worker and model. */
function lines(counts: Iterable<UsageCount>, since: number, key: string | undefined): UsageLine[] {
  const sums = new Map<string, UsageCount>();
  for (const c of counts) {
    if (c.hour + USAGE_HOUR_MS <= since || (key !== undefined && c.key !== key)) continue;
    const id = usageId({ ...c, hour: 0 });
    const s = sums.get(id);
    sums.set(id, s === undefined ? c : addUsage(s, c));
  }
  return [...sums.values()].map((s) => ({ key: s.key, worker: s.worker, model: s.model, requests: s.requests, input_tokens: s.inputTokens, output_tokens: s.outputTokens, cost_usd: s.costUsd, cache_hits: s.cacheHits, saved_usd: s.savedUsd }));
}

/** Each key's usage since its period started, with its budget (see {@link KeyUsage}). @internal */
export async function keyUsage(entries: readonly KeyEntry[], book: UsageBook, limits: KeyLimits, now: number = Date.now()): Promise<KeyUsage[]> {
  const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
  const budgets = await Promise.all(entries.map((k) => limits.budgetOf(k, now)));
  const sinces = budgets.map((b) => b?.since ?? dayStart);
  // One read of the counts for every key (from the earliest period), not one per key.
  const { counts } = await book.counts(Math.min(dayStart, ...sinces));
  return entries.map((k, i) => {
    const budget = budgets[i];
    const since = sinces[i]!;
    let requests = 0;
    let input = 0;
    let output = 0;
    let cost: number | undefined;
    for (const l of lines(counts, since, k.id)) {
      requests += l.requests;
      input += l.input_tokens;
      output += l.output_tokens;
      if (l.cost_usd !== null) cost = (cost ?? 0) + l.cost_usd;
    }
    return { id: k.id, since, requests, inputTokens: input, outputTokens: output, ...(cost !== undefined ? { costUsd: cost } : {}), ...(budget !== undefined ? { budget } : {}) };
  });
}
