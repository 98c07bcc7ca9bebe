import { lib, testing } from './lib.js';
import type { ChatMessage, HedgeOptions, Workers } from '../src/index.js';
import { record } from './harness.js';

const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
const REQUESTS = 400;
const CONCURRENCY = 20;
/**
 * `slow` answers in 100 start after 2 s (per server, spread out so both servers' tails do not
 * line up); the others after 5 ms, or, with `spread`, anywhere from 20 to 200 ms (as real
 * answers vary: some of them then pass their worker's own percentile too).
 */
const slowTail = (slow: number, offset: number, spread = false) => (_r: unknown, i: number) =>
  (i * 7 + offset) % 100 < slow ? { chunks: ['slow'], delayMs: 2_000 } : { chunks: ['ok'], delayMs: spread ? 20 + ((i * 37) % 181) : 5 };

/** Time to first chunk of each of `REQUESTS` requests, `CONCURRENCY` at a time, ms. */
async function firstChunks(w: Workers): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next++;
        const t0 = performance.now();
        let first = 0;
        for await (const c of w.dispatcher.dispatchStream(hi)) if (first === 0 && c.text !== '') first = performance.now() - t0;
        out.push(first);
      }
    }),
  );
  return out;
}

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(0.99 * xs.length) - 1]!;

/**
 * Hedged requests against two fake Ollama servers with a slow tail (5 %, then 8 % of answers
 * start after 2 s), side by side with no hedging; the 8 % tail with the defaults.
 */
export async function hedgeBench(): Promise<void> {
  await tail(5, [
    ['no hedging', false],
    ['hedge after 50 ms', { afterMs: 50, budget: 0.1 }],
    ["hedge after the worker's p90", { afterMs: 'p90', fallbackMs: 50, budget: 0.1 }],
    ["hedge after the worker's p95 (on the 5 % tail's edge)", { afterMs: 'p95', fallbackMs: 50, budget: 0.1 }],
  ]);
  await tail(
    8,
    [
      ['8 % tail, answers 20-200 ms, no hedging', false],
      ['8 % tail, answers 20-200 ms, hedge at the default percentile and budget (p90, 0.2; fallback 250 ms)', { fallbackMs: 250 }],
      ['8 % tail, answers 20-200 ms, hedge at the former defaults (p95, 0.1; fallback 250 ms)', { afterMs: 'p95', budget: 0.1, fallbackMs: 250 }],
    ],
    0.2,
    true,
  );
}

async function tail(slow: number, runs: Array<[string, HedgeOptions | false]>, maxExtra = 0.1, spread = false): Promise<void> {
  let base = 0;
  for (const [name, hedge] of runs) {
    const a = await testing.startFakeOllama({ script: slowTail(slow, 0, spread) });
    const b = await testing.startFakeOllama({ script: slowTail(slow, 50, spread) });
    const w = await lib.startWorkers({
      workers: [new lib.OllamaWorker({ name: 'a', baseUrl: a.url, maxConcurrent: 64 }), new lib.OllamaWorker({ name: 'b', baseUrl: b.url, maxConcurrent: 64 })],
      strategy: 'round_robin',
      healthIntervalMs: 0,
      prefix: `hedge-${name.replace(/\W/g, '')}`,
      ...(hedge ? { hedge } : {}),
    });
    try {
      const times = await firstChunks(w);
      const sent = a.requests.length + b.requests.length;
      const extra = sent / REQUESTS - 1;
      const p = p99(times);
      if (hedge === false) base = p;
      const ratio = base / p;
      record({
        group: 'hedge',
        name: `${name}: p99 time to first chunk (${REQUESTS} requests, ${CONCURRENCY} at a time)`,
        value: p,
        unit: 'ms',
        note: `extra requests ${(extra * 100).toFixed(1)} %`,
        ...(hedge === false ? {} : { goal: `p99 >= 3x lower, <= ${maxExtra * 100} % extra`, met: ratio >= 3 && extra <= maxExtra }),
      });
      if (hedge !== false) record({ group: 'hedge', name: `${name}: p99 lower by`, value: ratio, unit: 'x' });
    } finally {
      await w.stop({ drainMs: 0 });
      await a.close();
      await b.close();
    }
  }
}
