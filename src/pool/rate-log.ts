/** One admission in a rate window: when it was admitted, and the tokens it counts (corrected when its request ends). */
export interface RateEntry {
  readonly at: number;
  tokens: number;
}

/**
 * The admissions of a sliding window (what `rpm` and `tpm` limit), oldest first: each is appended
 * at the end and dropped from the front once `windowMs` old, by moving an index (the array is
 * compacted now and then), so an admission costs the same however many the window holds. Used by
 * the pool's own admission and by the shared {@link MemoryStore}.
 */
export class RateLog<E extends RateEntry = RateEntry> {
  #entries: E[] = [];
  #head = 0;
  /** The tokens the entries in the window count. */
  tokens = 0;

  constructor(readonly windowMs: number) {}

  /** How many admissions the window holds. */
  get count(): number {
    return this.#entries.length - this.#head;
  }

  /** The oldest admission in the window, if any. */
  get oldest(): E | undefined {
    return this.#entries[this.#head];
  }

  push(e: E): void {
    this.#entries.push(e);
    this.tokens += e.tokens;
  }

  /** Drops the admissions `windowMs` old at `now` (`dropped` sees each). */
  expire(now: number, dropped?: (e: E) => void): void {
    const es = this.#entries;
    while (this.#head < es.length && now - es[this.#head]!.at >= this.windowMs) {
      const e = es[this.#head++]!;
      this.tokens -= e.tokens;
      dropped?.(e);
    }
    if (this.#head > 64 && this.#head * 2 > es.length) {
      es.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Sets what an admission in the window counts (the tokens its backend reported). */
  correct(e: E, tokens: number): void {
    this.tokens += tokens - e.tokens;
    e.tokens = tokens;
  }

  /** Takes an admission back out of the window (one never used). */
  remove(e: E): void {
    const i = this.#entries.indexOf(e, this.#head);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    this.tokens -= e.tokens;
  }

  /** Puts an admission made earlier in its place by time (a stream counted late). */
  insert(e: E): void {
    let i = this.#entries.length;
    while (i > this.#head && this.#entries[i - 1]!.at > e.at) i--;
    this.#entries.splice(i, 0, e);
    this.tokens += e.tokens;
  }
}
