import { WorkerError } from '../errors/pool.js';
import type { Clock } from '../runtime/clock.js';
import type { AttemptOutcome, Lease } from '../pool/types.js';

/** Thrown inside a request's loop when the request was ended from outside while a read was pending. @internal */
export const ENDED = Object.freeze({ name: 'Ended', message: 'the request was ended' });

/** The abort reason of an attempt that is over (shared: no stack trace to capture per request). */
export const ATTEMPT_OVER = Object.freeze({ name: 'AttemptOver', message: 'the attempt is over' });

/**
 * One try of a request on one worker: the worker's slot (given back exactly once), the
 * attempt's own abort signal, the time limits the watchdog checks, and reads that an abort
 * interrupts even when the worker ignores its signal.
 * @internal
 */
export class Attempt {
  readonly ctl = new AbortController();
  readonly started: number;
  /** When the first chunk came (undefined before). */
  firstAt: number | undefined = undefined;
  /** True while waiting on the worker; false while the consumer holds a chunk (its slowness is not the worker's). */
  waiting = true;
  waitingSince: number;
  /** The worker accepted the request (its stream is open). */
  accepted = false;
  #released = false;
  #wake: ((reason: unknown) => void) | null = null;

  constructor(
    readonly lease: Lease,
    private readonly clock: Clock,
    /** Silence allowed before the first chunk (Infinity when no other worker is left). */
    readonly firstLimit: number,
    readonly idleLimit: number,
    /** Tells the pool how the attempt ended (after the slot is back in the store). */
    private readonly report: (name: string, outcome: AttemptOutcome) => void,
  ) {
    this.started = this.waitingSince = clock.now();
  }

  get name(): string {
    return this.lease.name;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Gives the slot back and reports the outcome, once; `tokens` corrects the store's estimate. */
  release(outcome: AttemptOutcome, tokens?: number): void {
    if (this.#released) return;
    this.#released = true;
    this.lease.store.release(this.lease.ticket, tokens, this.clock.now());
    this.lease.settle?.(outcome, tokens);
    this.report(this.lease.name, outcome);
  }

  /** Aborts the worker's request and wakes a read in progress. */
  abort(reason: unknown): void {
    if (this.ctl.signal.aborted) return;
    this.ctl.abort(reason);
    this.#wake?.(reason);
  }

  /**
   * The worker accepted the request (its stream is open). The guard of the call that opened it is
   * let go: kept, it would hold that call's settled promise and its functions for the whole stream.
   */
  accept(): void {
    this.accepted = true;
    this.#wake = null;
  }

  /** `p`, or a rejection as soon as the attempt is aborted (for a worker that may ignore its signal). */
  read<T>(p: Promise<T>): Promise<T> {
    if (this.ctl.signal.aborted) {
      p.catch(() => {});
      return Promise.reject(this.ctl.signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#wake = reject;
      p.then(resolve, reject);
    });
  }

  /** A chunk arrived (at `now`, given for the attempt's first): from now on the idle limit applies. */
  chunk(now?: number): void {
    if (this.firstAt === undefined) this.firstAt = now;
    this.waiting = false;
  }

  /** The consumer asks for the next chunk: the worker is waited on again. */
  resume(now: number): void {
    this.waiting = true;
    this.waitingSince = now;
  }

  /**
   * The watchdog's view at `now`: the timeout error if the worker has been silent too long, or
   * when to look again (Infinity: no limit applies).
   */
  due(now: number): WorkerError | number {
    if (this.ctl.signal.aborted) return Infinity;
    const first = this.firstAt === undefined;
    const limit = first ? this.firstLimit : this.idleLimit;
    if (limit === Infinity) return Infinity;
    if (this.waiting && now - this.waitingSince >= limit) {
      return first
        ? new WorkerError(this.name, 'first_chunk_timeout', `no first chunk within ${limit} ms`)
        : new WorkerError(this.name, 'idle_timeout', `no chunk for ${limit} ms`);
    }
    return (this.waiting ? this.waitingSince : now) + limit;
  }

  /** Ends the attempt's resources: a stream that broke may still hold its connection. */
  close(completed: boolean): void {
    this.#wake = null;
    if (!this.#released) {
      // The consumer stopped reading early: cancel the worker's request; not the worker's fault.
      this.release({ kind: 'cancelled' });
      this.ctl.abort(ATTEMPT_OVER);
    } else if (!completed && this.accepted && !this.ctl.signal.aborted) {
      this.ctl.abort(ATTEMPT_OVER);
    }
  }
}
