import { RateLog, type RateEntry } from './rate-log.js';
import { InvalidArgumentError } from '../errors/runtime.js';

/**
 * What a backend can take. Every field is optional; absent means unlimited. A worker at one of
 * its limits is not eligible: the pool picks among the others, or queues the request.
 */
export interface WorkerLimits {
  /** Streams at once (a local Ollama runs 1-4: `OLLAMA_NUM_PARALLEL`). */
  readonly maxConcurrent?: number;
  /** Requests admitted in any 60-second window. */
  readonly rpm?: number;
  /** Tokens (prompt + completion, as reported; estimated until then) in any 60-second window. */
  readonly tpm?: number;
}

/** {@link WorkerLimits} with every field set: `Infinity` where unlimited (what an {@link AdmissionStore} is given). */
export interface ResolvedLimits {
  readonly maxConcurrent: number;
  readonly rpm: number;
  readonly tpm: number;
}

/** No limit at all. @internal */
export const UNLIMITED: ResolvedLimits = Object.freeze({ maxConcurrent: Infinity, rpm: Infinity, tpm: Infinity });

/** The rate windows' length, ms. */
export const RATE_WINDOW_MS = 60_000;

/** Checks limits given by a worker or a config and fills in `Infinity`. @internal */
export function resolveLimits(l: WorkerLimits | undefined, field = 'limits'): ResolvedLimits {
  if (l === undefined) return UNLIMITED;
  if (typeof l !== 'object' || l === null) throw new InvalidArgumentError(field, 'an object { maxConcurrent?, rpm?, tpm? }', l);
  const one = (k: keyof WorkerLimits): number => {
    const v = l[k];
    if (v === undefined) return Infinity;
    if (!(Number.isInteger(v) && v > 0)) throw new InvalidArgumentError(`${field}.${k}`, 'a whole number > 0', v);
    return v;
  };
  return { maxConcurrent: one('maxConcurrent'), rpm: one('rpm'), tpm: one('tpm') };
}

/** A rough token count of a prompt (4 characters a token), for `tpm` before the backend reports usage. */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/** How much of its limits a worker uses now. */
export interface WorkerLoad {
  /** Streams holding a slot. */
  readonly inflight: number;
  /** Requests admitted in the last 60 s (counted only for a worker with `rpm` or `tpm`: 0 otherwise). */
  readonly requestsInWindow: number;
  /** Tokens counted in the last 60 s (reported, or estimated while a stream runs; only with `rpm` or `tpm`). */
  readonly tokensInWindow: number;
}

/** A slot held by one attempt, from {@link AdmissionStore.tryAcquire}. */
export interface Ticket {
  readonly id: number;
  readonly worker: string;
}

/**
 * Where admission state lives: slots in use and the rate windows of each worker. The pool
 * decides, the store counts; a pool that crashes and is rebuilt finds the slots of the streams
 * still running (they release into the store, exactly once). In memory by default.
 */
export interface AdmissionStore {
  /** Takes a slot on `worker` if `limits` allow one more request costing `tokens`; undefined if not. */
  tryAcquire(worker: string, limits: ResolvedLimits, tokens: number, now: number): Ticket | undefined;
  /** Gives the slot back; `tokens` corrects the estimate with what the backend reported. False if already released. */
  release(ticket: Ticket, tokens: number | undefined, now: number): boolean;
  /**
   * The worker's load now. The pool takes `inflight >= limits.maxConcurrent` to mean that
   * `tryAcquire` refuses (a queue's pass stops when that holds for every worker).
   */
  load(worker: string, now: number): WorkerLoad;
  /** When a rate window next frees room on `worker` (ms, on the pool's clock), or Infinity. */
  nextFree(worker: string, now: number): number;
}

interface Usage {
  inflight: number;
  /** Admissions in the window, oldest first: their times and token counts (corrected on release). */
  readonly log: RateLog;
}

/** The in-memory {@link AdmissionStore}: exact, synchronous, one process. */
export class MemoryAdmissionStore implements AdmissionStore {
  readonly #usage = new Map<string, Usage>();
  readonly #tickets = new Map<number, { worker: string; entry: RateEntry | null }>();
  #nextId = 1;

  tryAcquire(worker: string, limits: ResolvedLimits, tokens: number, now: number): Ticket | undefined {
    const u = this.#get(worker, now);
    if (u.inflight >= limits.maxConcurrent) return undefined;
    const windowed = limits.rpm !== Infinity || limits.tpm !== Infinity;
    if (windowed) {
      if (u.log.count >= limits.rpm) return undefined;
      // A request bigger than the whole budget still goes through when the window is empty.
      if (u.log.tokens + tokens > limits.tpm && u.log.tokens > 0) return undefined;
    }
    u.inflight++;
    let entry: RateEntry | null = null;
    if (windowed) {
      entry = { at: now, tokens };
      u.log.push(entry);
    }
    const id = this.#nextId++;
    this.#tickets.set(id, { worker, entry });
    return { id, worker };
  }

  release(ticket: Ticket, tokens: number | undefined, now: number): boolean {
    const t = this.#tickets.get(ticket.id);
    if (t === undefined) return false;
    this.#tickets.delete(ticket.id);
    const u = this.#get(t.worker, now);
    u.inflight--;
    if (t.entry !== null && tokens !== undefined && now - t.entry.at < RATE_WINDOW_MS) u.log.correct(t.entry, tokens);
    return true;
  }

  load(worker: string, now: number): WorkerLoad {
    const u = this.#get(worker, now);
    return { inflight: u.inflight, requestsInWindow: u.log.count, tokensInWindow: u.log.tokens };
  }

  nextFree(worker: string, now: number): number {
    const u = this.#get(worker, now);
    const oldest = u.log.oldest;
    return oldest !== undefined ? oldest.at + RATE_WINDOW_MS : Infinity;
  }

  /** The worker's usage with entries older than the window dropped. */
  #get(worker: string, now: number): Usage {
    let u = this.#usage.get(worker);
    if (u === undefined) {
      u = { inflight: 0, log: new RateLog(RATE_WINDOW_MS) };
      this.#usage.set(worker, u);
      return u;
    }
    u.log.expire(now);
    return u;
  }
}
