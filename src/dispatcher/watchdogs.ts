import type { Clock } from '../runtime/clock.js';

/** What a {@link Watchdogs} looks after: a request, with its place in the heap. @internal */
export interface Watched {
  /** When it is to be looked at (Infinity while it is not in the heap). */
  watchAt: number;
  /** Its index in the heap (-1 while it is not in it). */
  watchIndex: number;
  /** Called at (or just after) `watchAt`, once it is out of the heap; it may set itself again. */
  onWatch(): void;
}

/**
 * The watchdogs of a dispatcher's requests on one clock timer: a binary heap ordered by when
 * each request is next to be looked at, and one timer armed for the earliest. A request costs a
 * slot in an array instead of a timer of its own (a Node `Timeout`, 128 B, plus the closure it
 * calls), and arming or moving it is O(log n) without touching the clock's timers but when the
 * earliest changes. The timer keeps the process alive while some request is watched (as each
 * request's own timer did) and is cleared when none is.
 * @internal
 */
export class Watchdogs {
  readonly #clock: Clock;
  readonly #heap: Watched[] = [];
  #timer: unknown = undefined;
  #timerAt = Infinity;
  readonly #fire = (): void => this.#onTimer();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Requests being watched. */
  get size(): number {
    return this.#heap.length;
  }

  /** Looks at `w` at `at` (sooner or later than it was to be). */
  set(w: Watched, at: number): void {
    const heap = this.#heap;
    if (w.watchIndex < 0) {
      w.watchIndex = heap.length;
      heap.push(w);
    }
    const sooner = at < w.watchAt;
    w.watchAt = at;
    if (sooner) this.#up(w.watchIndex);
    else this.#down(w.watchIndex);
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Stops watching `w`. */
  remove(w: Watched): void {
    const i = w.watchIndex;
    if (i < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    w.watchIndex = -1;
    w.watchAt = Infinity;
    if (last !== w) {
      heap[i] = last;
      last.watchIndex = i;
      this.#down(i);
      this.#up(last.watchIndex);
    }
    // The timer stays armed if others are watched (it fires, finds nothing due, and is armed for
    // the next): clearing and re-arming it for every request that ends would cost more.
    if (heap.length === 0) this.#clear();
  }

  #arm(at: number): void {
    this.#clear();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(1, Math.ceil(at - this.#clock.now())));
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const due: Watched[] = [];
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.watchAt <= now) {
      const w = heap[0]!;
      this.remove(w);
      due.push(w);
    }
    for (const w of due) w.onWatch();
    if (heap.length > 0 && heap[0]!.watchAt < this.#timerAt) this.#arm(heap[0]!.watchAt);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const w = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.watchAt <= w.watchAt) break;
      heap[i] = parent;
      parent.watchIndex = i;
      i = p;
    }
    heap[i] = w;
    w.watchIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const w = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.watchAt < heap[l]!.watchAt ? r : l;
      const child = heap[c]!;
      if (child.watchAt >= w.watchAt) break;
      heap[i] = child;
      child.watchIndex = i;
      i = c;
    }
    heap[i] = w;
    w.watchIndex = i;
  }
}
