/**
 * The source of time for everything time-dependent in cortex (call timeouts, restart
 * intensity, backoff, health checks, stream timeouts). Inject a {@link SimulatedClock}
 * in tests instead of sleeping.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: `performance.now()` and the global timers, looked up at each call so
 * that test fake timers installed later still apply.
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface SimTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in time order and
 * lets promise callbacks settle after each one, so async actor code runs deterministically.
 *
 * @example
 * const clock = new SimulatedClock();
 * const system = createSystem({ clock });
 * await clock.advance(5_000); // every call timeout of 5 s fires here
 */
export class SimulatedClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<SimTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const t: SimTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(t);
    return t;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as SimTimer);
  }

  /** Number of timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order, and settling
   * promise callbacks after each.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.at > target) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Fires every timer (including ones scheduled meanwhile) until none is left, up to `limit` firings. */
  async runAll(limit = 10_000): Promise<void> {
    for (let i = 0; i < limit; i++) {
      const next = this.#earliest();
      if (next === undefined) return;
      await this.advance(next.at - this.#now);
    }
    throw new Error(`SimulatedClock.runAll: still ${this.#timers.size} timers after ${limit} firings`);
  }

  #earliest(): SimTimer | undefined {
    let best: SimTimer | undefined;
    for (const t of this.#timers) {
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Resolves after every queued promise callback has run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

// Captured at load so that fake timers installed later cannot stall `settle`.
const realSetImmediate = globalThis.setImmediate;

/**
 * Makes a timer handle keep the process alive (`on`) or not, where the clock's handles
 * support it (Node's timers do; simulated ones have nothing to keep alive).
 * @internal
 */
export function keepAlive(handle: unknown, on: boolean): void {
  const t = handle as { ref?: () => void; unref?: () => void } | null | undefined;
  if (on) t?.ref?.();
  else t?.unref?.();
}
