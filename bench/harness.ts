import { Bench } from 'tinybench';

/** One measured figure, with its goal. */
export interface Row {
  group: string;
  name: string;
  value: number;
  unit: string;
  /** min..max across rounds, when measured in rounds. */
  spread?: [number, number];
  goal?: string;
  met?: boolean;
  note?: string;
}

export const rows: Row[] = [];

export function record(row: Row): Row {
  rows.push(row);
  const goal = row.goal ? `  goal ${row.goal}: ${row.met ? 'met' : 'NOT met'}` : '';
  const spread = row.spread ? ` (${fmt(row.spread[0])}..${fmt(row.spread[1])})` : '';
  console.log(`  ${row.group} | ${row.name}: ${fmt(row.value)} ${row.unit}${spread}${goal}${row.note ? `  [${row.note}]` : ''}`);
  return row;
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Measures tasks side by side, interleaved: `rounds` rounds, each a fresh tinybench run of
 * every task (order alternating), each task iteration doing `batch` operations. Returns the
 * per-operation median (ns) of each task per round.
 */
export async function interleaved(
  tasks: Record<string, () => Promise<void> | void>,
  { batch, rounds = 5, time = 250 }: { batch: number; rounds?: number; time?: number },
): Promise<Record<string, number[]>> {
  const names = Object.keys(tasks);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    const bench = new Bench({ time, warmupTime: 50 });
    for (const n of order) bench.add(n, tasks[n]!);
    await bench.run();
    for (const t of bench.tasks) {
      const res = t.result as { state: string; latency?: { p50?: number; mean: number }; error?: unknown };
      if (res.state !== 'completed' || !res.latency) throw new Error(`bench task ${t.name} failed: ${String(res.error)}`);
      out[t.name]!.push(((res.latency.p50 ?? res.latency.mean) * 1e6) / batch); // ms -> ns per op
    }
  }
  return out;
}

/** {@link interleaved} of operations done `batch` times in a row each: the per-operation median (ns) of each per round. */
export function interleavedOps(batch: number, ops: Record<string, () => Promise<unknown>>): Promise<Record<string, number[]>> {
  const tasks = Object.fromEntries(
    Object.entries(ops).map(([name, op]) => [
      name,
      async () => {
        for (let i = 0; i < batch; i++) await op();
      },
    ]),
  );
  return interleaved(tasks, { batch });
}

/** Ratio a/b per round, then median and spread. */
export function ratio(a: number[], b: number[]): { value: number; spread: [number, number] } {
  const rs = a.map((x, i) => x / b[i]!);
  return { value: median(rs), spread: [Math.min(...rs), Math.max(...rs)] };
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc (npm run bench does)');
  g();
  g();
}

/** Heap bytes retained per item by what `make(n)` builds (kept alive until measured). */
export async function bytesPer<T>(n: number, make: (n: number) => Promise<T> | T, dispose?: (t: T) => Promise<void> | void): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = await make(n);
  gc();
  const after = process.memoryUsage().heapUsed;
  await dispose?.(kept);
  return (after - before) / n;
}
