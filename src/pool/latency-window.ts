/**
 * The `q` percentile (0 < q <= 1) of ascending `sorted` values by nearest rank: the smallest
 * value with at least `q` of them at or below it. The pool's hedge delays and the dashboard's
 * figures all read their percentiles this way. @internal
 */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * A worker's recent times to first chunk: the last `size` samples in a ring, and a percentile of
 * them computed when asked (sorted once per new sample). For hedged requests' percentile delay.
 * @internal
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #count = 0;
  #next = 0;
  /** The sorted samples, made when a percentile is asked after a new sample. */
  #sorted: Float64Array | undefined = undefined;

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
    this.#sorted = undefined;
  }

  /** The `q` percentile (0 < q <= 1; nearest rank), or undefined with fewer than `min` samples. */
  percentile(q: number, min = 20): number | undefined {
    if (this.#count < min || this.#count === 0) return undefined;
    this.#sorted ??= this.#samples.slice(0, this.#count).sort();
    return nearestRank(this.#sorted, q);
  }
}
