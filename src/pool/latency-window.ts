/**
 * A worker's recent times to first chunk: the last `size` samples in a ring, and a percentile of
 * them computed when asked (cached until the next sample). For hedged requests' `'p95'` delay.
 * @internal
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #count = 0;
  #next = 0;
  #cached: number | undefined = undefined;

  constructor(readonly size = 64) {
    this.#samples = new Float64Array(size);
  }

  /** Samples held (at most `size`). */
  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.size;
    if (this.#count < this.size) this.#count++;
    this.#cached = undefined;
  }

  /** The 95th percentile (nearest rank), or undefined with fewer than `min` samples. */
  p95(min = 20): number | undefined {
    if (this.#count < min || this.#count === 0) return undefined;
    if (this.#cached === undefined) {
      const sorted = this.#samples.slice(0, this.#count).sort();
      this.#cached = sorted[Math.ceil(0.95 * this.#count) - 1]!;
    }
    return this.#cached;
  }
}
