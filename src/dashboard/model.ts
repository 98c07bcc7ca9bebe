import { canAnswer } from '../pool/readiness.js';
import { nearestRank } from '../pool/latency-window.js';
import type { InspectionEvent } from '../events.js';
import { formatEvent } from '../logger.js';
import type { Disposable } from '../runtime/inspection.js';
import type { ActorSystem } from '../runtime/system.js';
import type { PoolStatus, WorkerStatus } from '../pool/pool.js';
import type { InstanceCounters, SharedStore, WorkerCounters } from '../store/store.js';
import { RequestLog, type DashboardRequest, type TraceIds } from './request-log.js';
import { Trends, type DashboardErrorCount, type DashboardMinute } from './trends.js';
import type { KeyUsage } from '../gateway/usage.js';

/** One worker as the dashboard shows it. */
export interface DashboardWorker {
  readonly name: string;
  readonly kind: string;
  readonly model?: string;
  /** `green` available, `amber` busy / cooling / half-open, `red` down / circuit open. */
  readonly color: 'green' | 'amber' | 'red';
  /** Why it is not green, in a few words. */
  readonly state: string;
  readonly inflight: number;
  /** `maxConcurrent`, when set. */
  readonly capacity?: number;
  /** Requests and tokens admitted in the last 60 s against its `rpm` and `tpm`, for a worker with either. */
  readonly rate?: { readonly requests: number; readonly rpm?: number; readonly tokens: number; readonly tpm?: number };
  /** Requests that ended on it since the dashboard started (this instance). */
  readonly requests: number;
  /** Failed attempts / attempts, 0..1. */
  readonly errorRate: number;
  /** Time to first chunk over its last 200 requests, ms. */
  readonly firstChunkP50?: number;
  readonly firstChunkP95?: number;
  /** Whole answer (request start to its end), over its last 200 complete requests, ms. */
  readonly totalP50?: number;
  readonly totalP95?: number;
  /** Tokens its complete answers reported since the pool started (`WorkerStatus.usage`), and their cost in US dollars with a price. */
  readonly usage?: WorkerStatus['usage'];
  /** Cluster-wide counts, with a shared store. */
  readonly cluster?: WorkerCounters;
}

/** What the dashboard's feed sends, a few times a second. */
export interface DashboardSnapshot {
  readonly at: number;
  readonly workers: readonly DashboardWorker[];
  /** Requests ended per second, oldest first: one per whole second since the dashboard started, up to the last 5 minutes. */
  readonly rps: readonly number[];
  readonly mostUsed?: string;
  readonly queued: number;
  /** Since the dashboard started: requests moved on before any text, continued after some, hedged, and answered from the cache. */
  readonly totals: DashboardTotals;
  readonly store: PoolStatus['store'];
  /** The last failovers, circuit changes, cool-downs, health changes and restarts, newest first. */
  readonly recent: ReadonlyArray<{ readonly at: number; readonly text: string }>;
  /** The last hour minute by minute (since the dashboard started), oldest first: requests, errors, first-chunk p50 / p95. */
  readonly trend: readonly DashboardMinute[];
  /** Errors by type since the dashboard started (request outcomes, attempt failures by kind and HTTP status), the most frequent first. */
  readonly errorTypes: readonly DashboardErrorCount[];
  /** The request log, newest first: on the feed, only the requests this client was not sent yet (the page keeps the last 200). */
  readonly requests: readonly DashboardRequest[];
  readonly ready: boolean;
  /** With `keys` (the gateway): each key's usage since its period started, and its budget. */
  readonly keys?: readonly KeyUsage[];
  /** With a shared store: every live instance of the cluster, with its own counts (total them for the cluster). */
  readonly instances?: readonly InstanceCounters[];
}

/** What the pool did to keep answers coming, counted since the dashboard started. */
export interface DashboardTotals {
  readonly failovers: number;
  readonly continuations: number;
  readonly hedges: number;
  readonly cacheHits: number;
  /** Attempts that waited in the pool's queue for a slot. */
  readonly queueWaits: number;
  /** Their wait, p95 over the last 200, ms (absent before any). */
  readonly queueWaitP95?: number;
}

const SECONDS = 300;
const SAMPLES = 200;
const RECENT = 25;

interface Tally {
  requests: number;
  attempts: number;
  failures: number;
  readonly firstChunk: number[];
  /** Whole times of complete answers, ms. */
  readonly total: number[];
}

/**
 * The dashboard's memory of what happened: counts per worker, the time to first chunk of each
 * worker's last requests, requests per second over the last five minutes, and the last notable
 * events. Fed by the system's events (a few increments per request); read on the feed's tick.
 * @internal
 */
export class DashboardModel implements Disposable {
  readonly #tallies = new Map<string, Tally>();
  readonly #perSecond = new Float64Array(SECONDS);
  readonly #started: number;
  #second: number;
  readonly #recent: Array<{ at: number; text: string }> = [];
  readonly #totals = { failovers: 0, continuations: 0, hedges: 0, cacheHits: 0, queueWaits: 0 };
  readonly #queueWaits: number[] = [];
  readonly #log: RequestLog;
  readonly #trends: Trends;
  readonly #sub: Disposable;

  /**
   * @param now the wall clock, ms (injected by tests).
   * @param traces where the request log finds trace ids (`traceRequests`'s handle), if anywhere.
   */
  constructor(
    system: ActorSystem,
    private readonly now: () => number = Date.now,
    traces?: TraceIds,
  ) {
    this.#started = this.#second = Math.floor(now() / 1000);
    this.#log = new RequestLog(now, traces);
    this.#trends = new Trends(now);
    this.#sub = system.inspect((e) => this.#on(e));
  }

  dispose(): void {
    this.#sub.dispose();
  }

  #tally(worker: string): Tally {
    let t = this.#tallies.get(worker);
    if (t === undefined) this.#tallies.set(worker, (t = { requests: 0, attempts: 0, failures: 0, firstChunk: [], total: [] }));
    return t;
  }

  #on(e: InspectionEvent): void {
    this.#log.on(e);
    this.#trends.on(e);
    switch (e.type) {
      case 'pool.dispatch':
        this.#tally(e.worker).attempts++;
        if (e.queuedMs > 0) {
          this.#totals.queueWaits++;
          sample(this.#queueWaits, e.queuedMs);
        }
        return;
      case 'pool.attempt_failed':
        if (e.blame === 'worker') this.#tally(e.worker).failures++;
        return;
      case 'pool.stream_finished':
        return this.#finished(e);
      case 'pool.hedge_started':
        this.#totals.hedges++;
        return;
      case 'pool.cache_hit':
        this.#totals.cacheHits++;
        return;
      case 'pool.failover':
        if (e.deliveredChars > 0) this.#totals.continuations++;
        else this.#totals.failovers++;
        return this.#remember(e);
      case 'pool.circuit_changed':
      case 'pool.cooldown':
      case 'pool.health_changed':
      case 'supervisor.child_restarting':
      case 'store.degraded':
      case 'store.restored':
        return this.#remember(e);
      default:
        return;
    }
  }

  /** Keeps a notable event in the recent list. */
  #remember(e: InspectionEvent): void {
    this.#recent.unshift({ at: this.now(), text: formatEvent(e) });
    if (this.#recent.length > RECENT) this.#recent.pop();
  }

  #finished(e: Extract<InspectionEvent, { type: 'pool.stream_finished' }>): void {
    this.#roll();
    this.#perSecond[this.#second % SECONDS]!++;
    if (e.worker === undefined) return;
    const t = this.#tally(e.worker);
    t.requests++;
    if (e.firstChunkMs !== undefined) sample(t.firstChunk, e.firstChunkMs);
    if (e.outcome === 'complete') sample(t.total, e.ms);
  }

  /** Moves the per-second ring to now, zeroing the seconds that passed. */
  #roll(): void {
    const now = Math.floor(this.now() / 1000);
    for (let s = Math.max(this.#second + 1, now - SECONDS + 1); s <= now; s++) this.#perSecond[s % SECONDS] = 0;
    if (now > this.#second) this.#second = now;
  }

  /** The snapshot the feed sends: `status` from the pool, `cluster` from a shared store, the requests logged after `since` (a `seq`). */
  snapshot(status: PoolStatus, cluster: Map<string, WorkerCounters> | undefined, instances?: readonly InstanceCounters[], since = 0): DashboardSnapshot {
    this.#roll();
    const rps: number[] = [];
    // Whole seconds only, and none from before the dashboard started (they would read as idle).
    for (let s = Math.max(this.#started, this.#second - SECONDS + 1); s < this.#second; s++) rps.push(this.#perSecond[s % SECONDS]!);
    const workers = status.workers.map((w) => this.#worker(w, cluster?.get(w.name)));
    const mostUsed = [...workers].sort((a, b) => b.requests - a.requests)[0];
    return {
      at: this.now(),
      workers,
      rps,
      ...(mostUsed !== undefined && mostUsed.requests > 0 ? { mostUsed: mostUsed.name } : {}),
      queued: status.queued,
      totals: { ...this.#totals, ...queueWaitP95(this.#queueWaits) },
      store: status.store,
      recent: [...this.#recent],
      trend: this.#trends.minutes(this.#started * 1000),
      errorTypes: this.#trends.errorTypes(),
      requests: this.#log.since(since),
      ready: workers.some((w) => w.color !== 'red'),
      ...(instances !== undefined ? { instances } : {}),
    };
  }

  #worker(w: WorkerStatus, cluster: WorkerCounters | undefined): DashboardWorker {
    const t = this.#tally(w.name);
    const [color, state] = colorOf(w);
    const first = percentiles(t.firstChunk);
    const total = percentiles(t.total);
    return {
      name: w.name,
      kind: w.kind,
      ...(w.model !== undefined ? { model: w.model } : {}),
      color,
      state,
      inflight: w.inflight,
      ...(w.limits?.maxConcurrent !== undefined ? { capacity: w.limits.maxConcurrent } : {}),
      ...(w.window !== undefined ? { rate: { requests: w.window.requests, tokens: w.window.tokens, ...(w.limits?.rpm !== undefined ? { rpm: w.limits.rpm } : {}), ...(w.limits?.tpm !== undefined ? { tpm: w.limits.tpm } : {}) } } : {}),
      requests: t.requests,
      errorRate: t.attempts === 0 ? 0 : t.failures / t.attempts,
      ...(first !== undefined ? { firstChunkP50: first[0], firstChunkP95: first[1] } : {}),
      ...(total !== undefined ? { totalP50: total[0], totalP95: total[1] } : {}),
      ...(w.usage !== undefined ? { usage: w.usage } : {}),
      ...(cluster !== undefined ? { cluster } : {}),
    };
  }
}

/** Keeps the last {@link SAMPLES} values. */
function sample(xs: number[], v: number): void {
  xs.push(v);
  if (xs.length > SAMPLES) xs.shift();
}

/** The rounded p50 and p95 of `xs` (nearest rank, as the trends and the pool read them), or undefined when there is none. */
function percentiles(xs: readonly number[]): [number, number] | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  return [Math.round(nearestRank(sorted, 0.5)), Math.round(nearestRank(sorted, 0.95))];
}

/** The p95 of the queue waits kept, when there is one. */
function queueWaitP95(waits: readonly number[]): { queueWaitP95?: number } {
  const p = percentiles(waits);
  return p === undefined ? {} : { queueWaitP95: p[1] };
}

/** A worker's color and the words for it. */
export function colorOf(w: WorkerStatus): ['green' | 'amber' | 'red', string] {
  if (w.circuit === 'open') return ['red', 'circuit open'];
  if (!canAnswer(w)) return ['red', `down: ${w.healthReason ?? 'unavailable'}`];
  if (w.coolingDownMs !== undefined) return ['amber', `cooling down ${Math.ceil(w.coolingDownMs / 1000)} s`];
  if (w.circuit === 'half_open') return ['amber', 'circuit half-open'];
  if (w.health === 'busy') return ['amber', 'busy'];
  if (w.limits?.maxConcurrent !== undefined && w.inflight >= w.limits.maxConcurrent) return ['amber', 'at capacity'];
  return ['green', w.health === 'unknown' ? 'not checked yet' : 'available'];
}

/** The cluster's view from a shared store: counters per worker and the live instances; nothing without one (or if it did not answer). @internal */
export async function clusterView(
  store: SharedStore | undefined,
  names: readonly string[],
): Promise<{ counters?: Map<string, WorkerCounters>; instances?: InstanceCounters[] }> {
  if (store === undefined || store.degraded) return {};
  try {
    const [counters, instances] = await Promise.all([store.counters(names), store.instances()]);
    return { counters, instances };
  } catch {
    return {};
  }
}
