import { lib, testing } from './lib.js';
import type { ChatMessage, HedgeOptions, Workers } from '../src/index.js';
import { record } from './harness.js';

const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
const REQUESTS = 400;
const CONCURRENCY = 20;
/** One answer in 20 starts after 2 s (per server, spread out so both servers' tails do not line up). */
const slowTail = (offset: number) => (_r: unknown, i: number) => ((i + offset) % 20 === 0 ? { chunks: ['slow'], delayMs: 2_000 } : { chunks: ['ok'], delayMs: 5 });

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

/** Hedged requests against two fake Ollama servers with a slow tail (5 % of answers start after 2 s), side by side with no hedging. */
export async function hedgeBench(): Promise<void> {
  const runs: Array<[string, HedgeOptions | false]> = [
    ['no hedging', false],
    ['hedge after 50 ms', { afterMs: 50, budget: 0.1 }],
    ["hedge after the worker's p90", { afterMs: 'p90', fallbackMs: 50, budget: 0.1 }],
    ["hedge after the worker's p95 (on the 5 % tail's edge)", { afterMs: 'p95', fallbackMs: 50, budget: 0.1 }],
  ];
  let base = 0;
  for (const [name, hedge] of runs) {
    const a = await testing.startFakeOllama({ script: slowTail(0) });
    const b = await testing.startFakeOllama({ script: slowTail(10) });
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
        ...(hedge === false ? {} : { goal: 'p99 >= 3x lower, <= 10 % extra', met: ratio >= 3 && extra <= 0.1 }),
      });
      if (hedge !== false) record({ group: 'hedge', name: `${name}: p99 lower by`, value: ratio, unit: 'x' });
    } finally {
      await w.stop({ drainMs: 0 });
      await a.close();
      await b.close();
    }
  }
}
