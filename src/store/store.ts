import type { ResolvedLimits } from '../pool/admission.js';
import type { HealthReport } from '../pool/health.js';

/**
 * State that several app instances share about their workers, so that four instances with
 * `maxConcurrent: 2` on one backend send it 2 requests at once, not 8: capacity leases, rate
 * windows, circuits and their single trial, cool-downs, health results and counters. Workers are
 * matched across instances by name. Every method is one atomic step on the store (a Lua script
 * on Redis). Two implementations pass one contract suite: {@link MemoryStore} (one process) and
 * `RedisStore` (many).
 *
 * The pool never waits on a store that is in trouble: a method that fails or times out marks
 * the store `degraded`, and the pool decides alone (limits then hold per instance) until the
 * store says it is `restored`.
 */
export interface SharedStore {
  /** `'memory'` or `'redis'`, shown in `status()`. */
  readonly kind: 'memory' | 'redis';
  /** This instance's id (in lease ids and health locks). */
  readonly instance: string;
  /** True while the store cannot be reached: the pool then decides alone. */
  readonly degraded: boolean;
  /** Why it is degraded, while it is (undefined otherwise, and for stores that cannot tell). */
  readonly trouble?: { readonly code: StoreTrouble; readonly reason: string } | undefined;
  /**
   * Takes a capacity lease on the first candidate (in the order given) that the shared state
   * lets in: not cooling down, circuit not open (an open circuit whose reset time passed lets
   * this request in as its one trial, cluster-wide), under `maxConcurrent`, `rpm` and `tpm`.
   */
  admit(request: AdmitRequest): Promise<Admission>;
  /**
   * Gives a lease back and records how it went: counters, the worker's consecutive failures and
   * circuit (opened at `rules.failureThreshold`, or by a failed trial), cool-downs. Answers the
   * worker's circuit after it. A lease already released or expired is ignored.
   */
  release(lease: SharedLease, settlement: Settlement, rules: CircuitRules): Promise<Verdict>;
  /**
   * Counts a stream this instance admitted alone while the store was away, now that it is back:
   * a capacity lease whatever the limit (the stream is running), and its request in the rate
   * windows as of `ageMs` ago when `windowed`. Released as any lease. Stores without it are not
   * told (limits may then be overshot for as long as those streams run).
   */
  claim?(worker: string, stream: { readonly tokens: number; readonly ageMs: number; readonly windowed: boolean }): Promise<SharedLease>;
  /** Leaves `worker` alone for `ms` in every instance (a 429, the backend's limit headers). */
  rest(worker: string, ms: number, reason: string): Promise<void>;
  /** Of `workers`, those this instance should health-check now: at most one instance per worker per `intervalMs`. */
  claimHealth(workers: readonly string[], intervalMs: number): Promise<string[]>;
  /** Shares health results; they are read by the others for `ttlMs`. */
  publishHealth(reports: readonly HealthReport[], ttlMs: number): Promise<void>;
  /** The latest shared health result of each of `workers` that has one. */
  readHealth(workers: readonly string[]): Promise<HealthReport[]>;
  /**
   * Says how this instance configures `worker` (kind, model, URL, limits); answers the fields
   * in which another live instance's config differs (empty when they agree or none is known).
   */
  announce(worker: string, config: WorkerFingerprint): Promise<string[]>;
  /** Cluster-wide counters per worker (all of them when `workers` is absent). */
  counters(workers?: readonly string[]): Promise<Map<string, WorkerCounters>>;
  /** Resolves true once the store can be used; false if not within `timeoutMs` (it then starts degraded). */
  ready(timeoutMs?: number): Promise<boolean>;
  /** The live instances of the cluster (this one included), with their own counts: the per-instance view. */
  instances(): Promise<InstanceCounters[]>;
  /** Renews this instance's leases now (a heartbeat does it every third of the lease time). */
  renew(): Promise<void>;
  /** The response cache's entry under `key` (its JSON text), or undefined (none, or expired). */
  cacheGet(key: string): Promise<string | undefined>;
  /** Keeps `value` under `key` for `ttlMs`, in a cache of at most `maxEntries` entries (the oldest dropped first). */
  cacheSet(key: string, value: string, ttlMs: number, maxEntries: number): Promise<void>;
  /**
   * Adds `count` (each number a delta) to its hour's usage counts, kept 31 days: the gateway's
   * usage and cost, shared by its instances. Optional: a store without it leaves each gateway
   * instance counting alone.
   */
  usageAdd?(count: UsageCount): Promise<void>;
  /** Every usage count of the hours from `since` (ms) on, the hour it falls in included, summed over the instances. */
  usageRead?(since: number): Promise<UsageCount[]>;
  /** Tells `listener` of the store's own news; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /** Stops renewing this instance's leases and closes connections. Leases still held expire. */
  close(): Promise<void>;
}

/** What {@link SharedStore.admit} is asked. */
export interface AdmitRequest {
  /** Workers in the order the pool prefers them (its strategy's). */
  readonly candidates: readonly StoreCandidate[];
  /** Estimated tokens of the request, for `tpm`. */
  readonly tokens: number;
  /**
   * Whether the caller waits for a slot if this one is refused as full (a pool's queued request);
   * false for one answered at once (a hedge, a gateway key's limits). Only a refusal of a caller
   * that waits makes freed slots news (see {@link StoreEvent}). Default true.
   */
  readonly waits?: boolean;
}

/** A worker and its limits, as given to {@link SharedStore.admit}. */
export interface StoreCandidate {
  readonly name: string;
  readonly limits: ResolvedLimits;
}

/** A capacity lease held by one attempt; renewed while this instance lives. */
export interface SharedLease {
  readonly id: string;
  readonly worker: string;
}

/** Why the shared state held a worker back from an admission. */
export type Hold =
  /** Cooling down for `ms` more. */
  | { readonly kind: 'cooling'; readonly worker: string; readonly ms: number; readonly reason: string }
  /** Circuit open for `ms` more. */
  | { readonly kind: 'open'; readonly worker: string; readonly ms: number }
  | { readonly kind: 'trial'; readonly worker: string };

/** The answer of {@link SharedStore.admit}; `held` names the workers skipped for shared reasons. */
export type Admission =
  | { readonly kind: 'admitted'; readonly lease: SharedLease; readonly trial: boolean; readonly held: readonly Hold[] }
  /** Some candidate is at its limits; in `retryMs` a rate window frees room, if known (else when a slot is freed). */
  | { readonly kind: 'full'; readonly retryMs: number | undefined; readonly held: readonly Hold[] }
  /** Every candidate is held back (cooling down, circuit open, trial in flight). */
  | { readonly kind: 'none'; readonly held: readonly Hold[] };

/** How an attempt ended, for {@link SharedStore.release}. `tokens` (as reported) corrects the estimate. */
export type Settlement =
  | { readonly kind: 'success'; readonly tokens?: number }
  | { readonly kind: 'cancelled'; readonly tokens?: number }
  /** The lease was never used (its caller gave up before it came): as if never admitted, so it costs no `rpm` / `tpm`. */
  | { readonly kind: 'unused' }
  /** `error` is a short label for the counters (a `WorkerErrorKind`, or `'error'`). */
  | { readonly kind: 'failure'; readonly error: string; readonly tokens?: number }
  /** Cools the worker down in every instance; not counted as a failure of the circuit. */
  | { readonly kind: 'rate_limited'; readonly restMs: number; readonly reason: string; readonly tokens?: number }
  /** A bad key or an exhausted quota: rests the worker and opens its circuit. */
  | { readonly kind: 'disabled'; readonly error: string; readonly restMs: number; readonly reason: string; readonly tokens?: number };

/** The pool's circuit rules, for {@link SharedStore.release}. */
export interface CircuitRules {
  readonly failureThreshold: number;
  readonly resetMs: number;
}

/** A worker's shared circuit after a release. */
export interface Verdict {
  readonly circuit: 'closed' | 'open' | 'half_open';
  /** Consecutive failures, cluster-wide. */
  readonly failures: number;
}

/** What identifies a worker's config across instances (no secrets: URLs without credentials). */
export type WorkerFingerprint = Readonly<Record<string, string | number | undefined>>;

/** Cluster-wide counts of one worker, from {@link SharedStore.counters}. */
export interface WorkerCounters {
  readonly requests: number;
  readonly successes: number;
  /** Failures by kind (`rate_limited`, `connection`, `first_chunk_timeout`...). */
  readonly failures: Readonly<Record<string, number>>;
  /** Tokens reported by the backend. */
  readonly tokens: number;
}

/** One live instance's counts, from {@link SharedStore.instances}. */
export interface InstanceCounters {
  readonly instance: string;
  /** Requests it admitted, completed, and that failed (since its store was made). */
  readonly requests: number;
  readonly successes: number;
  readonly failures: number;
  /** Leases it holds now (streams in flight). */
  readonly inflight: number;
}

/** Counts an instance keeps of its own admissions and releases. @internal */
export class OwnCounts {
  requests = 0;
  successes = 0;
  failures = 0;

  /** Counts a release by its settlement. */
  settled(kind: Settlement['kind']): void {
    if (kind === 'success') this.successes++;
    else if (kind === 'unused') this.requests--;
    else if (kind !== 'cancelled') this.failures++;
  }

  view(instance: string, inflight: number): InstanceCounters {
    return { instance, requests: this.requests, successes: this.successes, failures: this.failures, inflight };
  }
}

/**
 * Why a shared store is degraded: `auth_failed` (a wrong password or user), `protocol` (the
 * server does not speak Redis), `timeout` (it accepts connections but does not answer in time),
 * `unreachable` (refused, reset, closed, unknown host).
 */
export type StoreTrouble = 'auth_failed' | 'protocol' | 'timeout' | 'unreachable';

/**
 * News from a store: a slot freed by any instance, or the connection lost (and why) / back. A
 * freed slot is news only while some instance waits for one (a request of any instance that
 * waits was refused as full in the last 10 s; a waiting instance asks again well within it):
 * on Redis each piece of news reaches every instance.
 */
export type StoreEvent =
  | { readonly type: 'freed'; readonly worker: string }
  | { readonly type: 'degraded'; readonly reason: string; readonly code: StoreTrouble }
  | { readonly type: 'restored' };

/** Length of the rate windows, ms (as in the pool). @internal */
export const WINDOW_MS = 60_000;

/** How long a request refused as full makes freed slots news (see {@link StoreEvent}), ms. @internal */
export const WANTED_MS = 10_000;

/** What a key's requests on one worker and model used in one hour (the gateway's usage counts). */
export interface UsageCount {
  /** The hour's start, ms since the epoch. */
  readonly hour: number;
  /** The key's id; null for requests without a key. */
  readonly key: string | null;
  readonly worker: string;
  /** The model asked of the worker; null when unknown. */
  readonly model: string | null;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** US dollars, of the requests whose cost is known; null when none's is. */
  readonly costUsd: number | null;
  /** Requests answered from the response cache with this worker's answer. */
  readonly cacheHits: number;
  /** US dollars those hits saved; null when none's is known. */
  readonly savedUsd: number | null;
}

/** The span of one usage count, ms: an hour. */
export const USAGE_HOUR_MS = 3_600_000;

/** How long usage counts are kept, ms (31 days). */
export const USAGE_KEPT_MS = 31 * 24 * USAGE_HOUR_MS;

/** The identity of a usage count (hour, key, worker, model) as one string. @internal */
export function usageId(c: Pick<UsageCount, 'hour' | 'key' | 'worker' | 'model'>): string {
  return JSON.stringify([c.hour, c.key, c.worker, c.model]);
}

/** `a + b` for two counts of one identity (null costs stay null only when both are). @internal */
export function addUsage(a: UsageCount, b: UsageCount): UsageCount {
  const plus = (x: number | null, y: number | null): number | null => (x === null && y === null ? null : (x ?? 0) + (y ?? 0));
  return {
    hour: a.hour,
    key: a.key,
    worker: a.worker,
    model: a.model,
    requests: a.requests + b.requests,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costUsd: plus(a.costUsd, b.costUsd),
    cacheHits: a.cacheHits + b.cacheHits,
    savedUsd: plus(a.savedUsd, b.savedUsd),
  };
}
