import { CallAbortedError, CallTimeoutError } from '../errors/runtime.js';
import type { DeadlineList, DeadlineNode, Deadlines } from './deadlines.js';
import type { From } from './types.js';

/** The mailbox kind of a call (casts and infos are the actor's `Notice`s). @internal */
export const CALL = 0;

/** What a pending call needs of the actor it waits on (the `Actor` is one). @internal */
export interface Caller {
  /** The actor's name or id, for errors. */
  readonly label: string;
  /** Calls whose handler answers later (`noreply`): a settled one leaves the set. */
  readonly deferred: Set<PendingCall> | null;
  readonly system: { readonly deadlines: Deadlines };
}

/** A caller waiting for a reply: mailbox entry, deadline node and `From` at once. @internal */
export class PendingCall implements DeadlineNode, From<unknown> {
  readonly kind = CALL;
  settled = false;
  deadline = 0;
  prev: DeadlineNode | null = null;
  next: DeadlineNode | null = null;
  list: DeadlineList | null = null;
  /** Set once the caller holds a promise; until then an outcome is kept in `early`. */
  resolve: ((v: unknown) => void) | null = null;
  reject: ((e: unknown) => void) | null = null;
  /** Answered before the caller got its promise (a handler that replied at once): 1 ok, 2 failed. */
  early: 0 | 1 | 2 = 0;
  outcome: unknown = undefined;
  #controller: AbortController | null = null;
  #callerSignal: AbortSignal | undefined = undefined;

  constructor(
    readonly actor: Caller,
    readonly msg: unknown,
    readonly timeoutMs: number,
  ) {}

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.settled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  reply(value: unknown): void {
    if (this.settled) return;
    this.#settle();
    if (this.resolve !== null) this.resolve(value);
    else {
      this.early = 1;
      this.outcome = value;
    }
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.#settle();
    this.#controller?.abort(error);
    if (this.reject !== null) this.reject(error);
    else {
      this.early = 2;
      this.outcome = error;
    }
  }

  expire(): void {
    this.fail(new CallTimeoutError(this.actor.label, this.timeoutMs));
  }

  listen(signal: AbortSignal): void {
    this.#callerSignal = signal;
    signal.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.fail(new CallAbortedError(this.actor.label, this.#callerSignal?.reason));
  }

  #settle(): void {
    this.settled = true;
    this.actor.deferred?.delete(this);
    if (this.list !== null) this.actor.system.deadlines.remove(this);
    this.#callerSignal?.removeEventListener('abort', this);
  }
}

