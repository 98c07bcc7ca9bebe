import { CLOSING } from './call.js';

/**
 * The gateway's requests in flight, and its close: once draining, no new request is taken; the
 * ones in flight are given the drain time to finish, then cut (each ends with its API's error,
 * never as a complete answer). @internal
 */
export class Lifetime {
  readonly #inflight = new Set<AbortController>();
  #draining = false;
  #idle: (() => void) | undefined;

  get draining(): boolean {
    return this.#draining;
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  /** A request begins: `ctl` aborts it; returns what to call when it is over. */
  enter(ctl: AbortController): () => void {
    this.#inflight.add(ctl);
    return () => {
      this.#inflight.delete(ctl);
      if (this.#inflight.size === 0) this.#idle?.();
    };
  }

  /** Stops taking requests, waits up to `drainMs` for those in flight, then cuts the rest and waits for them to end. */
  async close(drainMs: number): Promise<void> {
    this.#draining = true;
    await this.#settled(drainMs);
    for (const ctl of this.#inflight) ctl.abort(CLOSING);
    await this.#settled(CUT_GRACE_MS); // each writes its error and ends at once
  }

  async #settled(ms: number): Promise<void> {
    if (this.#inflight.size === 0 || ms <= 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#idle = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#idle = undefined;
  }
}

/** How long requests cut at the end of a drain get to write their error and end, ms. */
const CUT_GRACE_MS = 1_000;
