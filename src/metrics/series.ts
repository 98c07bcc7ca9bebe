/**
 * Counters and histograms kept as plain numbers per labelled series, handed to a prom-client
 * registry as its custom-metric objects (`name`, `help`, `type`, `get()`): prom-client formats
 * and serves them. prom-client's own `Histogram.observe` hashes the label set on every call
 * (about 1.5 us with five labels); here a request finds its series by a key it built once, and
 * an observation is a bucket search and two additions.
 * @internal
 */

type Labels = Readonly<Record<string, string>>;

/** One labelled series of a counter. */
export interface CounterCell {
  value: number;
}

/** One labelled series of a histogram: per-bucket counts (not cumulative), sum and count. */
export interface HistogramCell {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A metric value as prom-client's registry reads it. */
interface Value {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

/** A family of labelled series. */
abstract class Family<C> {
  readonly #cells = new Map<string, { readonly labels: Labels; readonly cell: C }>();
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The series under `key` (made with `labels()` the first time). */
  cell(key: string, labels: () => Labels): C {
    let c = this.#cells.get(key);
    if (c === undefined) this.#cells.set(key, (c = { labels: labels(), cell: this.make() }));
    return c.cell;
  }

  /** What prom-client's registry calls to format the family. */
  get(): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    for (const { labels, cell } of this.#cells.values()) this.values(labels, cell, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#cells.clear();
  }

  abstract readonly type: string;
  protected abstract make(): C;
  protected abstract values(labels: Labels, cell: C, out: Value[]): void;
}

/** A counter family. @internal */
export class Counters extends Family<CounterCell> {
  readonly type = 'counter';

  protected make(): CounterCell {
    return { value: 0 };
  }

  protected values(labels: Labels, cell: CounterCell, out: Value[]): void {
    out.push({ value: cell.value, labels });
  }
}

/** A histogram family with fixed bucket bounds. @internal */
export class Histograms extends Family<HistogramCell> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    super(name, help);
  }

  /** Records `v` in `cell`. */
  observe(cell: HistogramCell, v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    cell.counts[i]!++;
    cell.sum += v;
    cell.count++;
  }

  protected make(): HistogramCell {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  protected values(labels: Labels, cell: HistogramCell, out: Value[]): void {
    let cumulative = 0;
    const bucket = `${this.name}_bucket`;
    this.bounds.forEach((le, i) => {
      cumulative += cell.counts[i]!;
      out.push({ metricName: bucket, labels: { ...labels, le: String(le) }, value: cumulative });
    });
    out.push({ metricName: bucket, labels: { ...labels, le: '+Inf' }, value: cell.count });
    out.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
    out.push({ metricName: `${this.name}_count`, labels, value: cell.count });
  }
}
