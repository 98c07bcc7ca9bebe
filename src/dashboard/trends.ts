import { nearestRank } from '../pool/latency-window.js';
import type { AttemptFailedEvent, InspectionEvent, StreamFinishedEvent } from '../events.js';
import { isWorkerError } from '../errors/pool.js';

/** One minute of the last hour, as the dashboard's trend charts show it. */
export interface DashboardMinute {
  /** The minute's start, ms since the epoch. */
  readonly at: number;
  /** Requests that ended in it. */
  readonly requests: number;
  /** Of those, the ones that ended in an error (not `complete`, and not the caller's own abort or `abandoned`). */
  readonly errors: number;
  /** Time to first chunk of its requests, p50 and p95, ms (absent when none had one). */
  readonly firstChunkP50?: number;
  readonly firstChunkP95?: number;
}

/** Errors of one type since the dashboard started: a request's outcome, or an attempt's failure by kind and HTTP status. */
export interface DashboardErrorCount {
  /** `request: no_workers`, `attempt: http 503`, `attempt: first_chunk_timeout`, ... */
  readonly type: string;
  readonly count: number;
}

/** Minutes kept: the last hour. */
export const TREND_MINUTES = 60;
/** First-chunk times kept per minute (the first ones; enough for its p50 and p95). */
const SAMPLES_PER_MINUTE = 500;
/** Error types counted at most (more are counted as `other`): a bound on memory and on the page. */
const MAX_TYPES = 50;

interface Minute {
  at: number;
  requests: number;
  errors: number;
  readonly firstChunk: number[];
}

/** Outcomes that are nobody's failure: the caller chose them. */
const CHOSEN: ReadonlySet<StreamFinishedEvent['outcome']> = new Set(['complete', 'aborted', 'abandoned']);

/**
 * The last hour, minute by minute (requests, errors, first-chunk p50 / p95), and errors by type
 * since the dashboard started. A ring of {@link TREND_MINUTES} minutes: memory is bounded
 * whatever the traffic. @internal
 */
export class Trends {
  readonly #minutes: Minute[] = [];
  readonly #errors = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Follows one event; the others are ignored. */
  on(e: InspectionEvent): void {
    if (e.type === 'pool.stream_finished') this.#finished(e);
    else if (e.type === 'pool.attempt_failed') this.#count(attemptType(e));
  }

  #finished(e: StreamFinishedEvent): void {
    const m = this.#current();
    m.requests++;
    if (e.firstChunkMs !== undefined && m.firstChunk.length < SAMPLES_PER_MINUTE) m.firstChunk.push(e.firstChunkMs);
    if (CHOSEN.has(e.outcome)) return;
    m.errors++;
    this.#count(`request: ${e.outcome}`);
  }

  #count(type: string): void {
    const key = this.#errors.has(type) || this.#errors.size < MAX_TYPES ? type : 'other';
    this.#errors.set(key, (this.#errors.get(key) ?? 0) + 1);
  }

  /** The minute now is in, started if new; minutes older than the hour are dropped. */
  #current(): Minute {
    const at = minuteOf(this.now());
    const last = this.#minutes.at(-1);
    if (last !== undefined && last.at === at) return last;
    const m: Minute = { at, requests: 0, errors: 0, firstChunk: [] };
    this.#minutes.push(m);
    this.#drop(at);
    return m;
  }

  #drop(at: number): void {
    while (this.#minutes.length > 0 && this.#minutes[0]!.at <= at - TREND_MINUTES * 60_000) this.#minutes.shift();
  }

  /** Every minute of the last hour since `since` (the dashboard's start), oldest first, idle ones at 0. */
  minutes(since: number): DashboardMinute[] {
    const now = minuteOf(this.now());
    this.#drop(now);
    const out: DashboardMinute[] = [];
    let i = 0;
    for (let at = Math.max(minuteOf(since), now - (TREND_MINUTES - 1) * 60_000); at <= now; at += 60_000) {
      while (i < this.#minutes.length && this.#minutes[i]!.at < at) i++;
      const m = this.#minutes[i]?.at === at ? this.#minutes[i]! : undefined;
      out.push(m === undefined ? { at, requests: 0, errors: 0 } : summary(m));
    }
    return out;
  }

  /** Errors by type since the dashboard started, the most frequent first. */
  errorTypes(): DashboardErrorCount[] {
    return [...this.#errors].map(([type, count]) => ({ type, count })).sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : 1));
  }
}

function minuteOf(t: number): number {
  return Math.floor(t / 60_000) * 60_000;
}

function summary(m: Minute): DashboardMinute {
  if (m.firstChunk.length === 0) return { at: m.at, requests: m.requests, errors: m.errors };
  const sorted = [...m.firstChunk].sort((a, b) => a - b);
  const at = (p: number): number => Math.round(nearestRank(sorted, p));
  return { at: m.at, requests: m.requests, errors: m.errors, firstChunkP50: at(0.5), firstChunkP95: at(0.95) };
}

/** An attempt's failure by its kind and HTTP status (`attempt: http 503`), or by its blame for a refusal. */
function attemptType(e: AttemptFailedEvent): string {
  const err = e.error;
  if (isWorkerError(err)) return `attempt: ${err.kind}${err.status !== undefined ? ` ${err.status}` : ''}`;
  return `attempt: ${e.blame === 'caller' ? 'invalid_request' : 'other'}`;
}
