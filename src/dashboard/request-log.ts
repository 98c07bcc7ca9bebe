import type { CacheHitEvent, DispatchEvent, InspectionEvent, StreamFinishedEvent } from '../events.js';

/** One request as the dashboard's request log shows it, when it ended. */
export interface DashboardRequest {
  /** Its place in the log: grows by one per request logged (the page keeps what it has not seen). */
  readonly seq: number;
  /** When it ended, ms since the epoch. */
  readonly at: number;
  /** The pool's id for it (as in its events); absent for a cache hit, which no worker served. */
  readonly requestId?: number;
  /** Who it was for (`DispatchOptions.tenant`: the gateway's key id), when told. */
  readonly tenant?: string;
  /** The route (tag) it went to, when one was asked or chosen. */
  readonly route?: string;
  /** The workers it was sent to, in order (failovers, hedges and continuations each add one). */
  readonly workers: readonly string[];
  /** How it ended (`pool.stream_finished`'s outcome), or `cached` when the cache answered. */
  readonly outcome: StreamFinishedEvent['outcome'] | 'cached';
  /** Tokens its backend reported, when it did. */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** What it cost (or, for `cached`, what it saved), US dollars, when known. */
  readonly costUsd?: number;
  /** From its start to its first chunk, ms (absent when none came). */
  readonly firstChunkMs?: number;
  /** From its start to its end, ms (0 for a cache hit). */
  readonly ms: number;
  /** Why it did not complete, in words, when known. */
  readonly reason?: string;
  /** Its OpenTelemetry trace id, when the dashboard was given the tracing (`DashboardOptions.tracing`). */
  readonly traceId?: string;
}

/** Where the log finds a request's trace id: `traceRequests(...)`'s handle. */
export interface TraceIds {
  /** The trace id of a request in flight, by its `requestId`. */
  traceIdOf(requestId: number): string | undefined;
}

/** Requests the log keeps: the newest, so memory stays bounded. */
export const LOG_SIZE = 200;
/** Requests in flight it follows at most (each ends exactly once, so this only guards a leak). */
const OPEN_MAX = 10_000;

interface Open {
  readonly workers: string[];
  traceId?: string;
}

/**
 * The last {@link LOG_SIZE} requests, built from the pool's events: the workers each was sent
 * to (`pool.dispatch`), then one entry when it ends (`pool.stream_finished`) or when the cache
 * answers (`pool.cache_hit`). A few map operations per request. @internal
 */
export class RequestLog {
  readonly #entries: DashboardRequest[] = [];
  readonly #open = new Map<number, Open>();
  #seq = 0;

  constructor(
    private readonly now: () => number,
    private readonly traces?: TraceIds,
  ) {}

  /** The newest entry's `seq` (0 before any). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Follows one event; the others are ignored. */
  on(e: InspectionEvent): void {
    if (e.type === 'pool.request_started') this.#opened(e.requestId);
    else if (e.type === 'pool.dispatch') this.#dispatched(e);
    else if (e.type === 'pool.stream_finished') this.#finished(e);
    else if (e.type === 'pool.cache_hit') this.#hit(e);
  }

  /** Entries after `since` (a `seq`), newest first. */
  since(since: number): DashboardRequest[] {
    const out: DashboardRequest[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && this.#entries[i]!.seq > since; i--) out.push(this.#entries[i]!);
    return out;
  }

  #opened(id: number): Open {
    let o = this.#open.get(id);
    if (o === undefined) {
      if (this.#open.size >= OPEN_MAX) this.#open.delete(this.#open.keys().next().value!);
      this.#open.set(id, (o = { workers: [] }));
    }
    // Asked at each event until known: the tracer may follow events after this log does.
    o.traceId ??= this.traces?.traceIdOf(id);
    return o;
  }

  #dispatched(e: DispatchEvent): void {
    this.#opened(e.requestId).workers.push(e.worker);
  }

  #finished(e: StreamFinishedEvent): void {
    const o = this.#open.get(e.requestId);
    this.#open.delete(e.requestId);
    const workers = o?.workers ?? (e.worker !== undefined ? [e.worker] : []);
    this.#add({
      requestId: e.requestId,
      ...(e.tenant !== undefined ? { tenant: e.tenant } : {}),
      ...(e.route !== undefined ? { route: e.route } : {}),
      workers,
      outcome: e.outcome,
      ...(e.usage?.promptTokens !== undefined ? { inputTokens: e.usage.promptTokens } : {}),
      ...(e.usage?.completionTokens !== undefined ? { outputTokens: e.usage.completionTokens } : {}),
      ...(e.costUsd !== undefined ? { costUsd: e.costUsd } : {}),
      ...(e.firstChunkMs !== undefined ? { firstChunkMs: e.firstChunkMs } : {}),
      ms: e.ms,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(o?.traceId !== undefined ? { traceId: o.traceId } : {}),
    });
  }

  #hit(e: CacheHitEvent): void {
    this.#add({
      ...(e.tenant !== undefined ? { tenant: e.tenant } : {}),
      workers: e.worker !== undefined ? [e.worker] : [],
      outcome: 'cached',
      ...(e.savedUsd !== undefined ? { costUsd: e.savedUsd } : {}),
      ms: 0,
    });
  }

  #add(entry: Omit<DashboardRequest, 'seq' | 'at'>): void {
    this.#entries.push({ seq: ++this.#seq, at: this.now(), ...entry });
    if (this.#entries.length > LOG_SIZE) this.#entries.shift();
  }
}
