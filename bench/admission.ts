import { execFileSync } from 'node:child_process';
import { lib, testing } from './lib.js';
import type { ChatMessage, Workers } from '../src/index.js';
import { interleaved, median, record } from './harness.js';
const { startWorkers } = lib;
const { MockWorker } = testing;

const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
const quiet = { healthIntervalMs: 0 } as const;

async function firstChunk(w: Workers): Promise<void> {
  const g = w.dispatcher.dispatchStream(hi);
  await g.next();
  await g.return();
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Admission's cost, a queued request's start, the 40-request spill-over, and the cold start. */
export async function admissionBench(): Promise<void> {
  // Admission when a slot is free: the same pool with and without limits on its worker.
  const B = 100;
  const free = await startWorkers({ workers: [new MockWorker({ name: 'w', chunks: ['a'] })], ...quiet, prefix: 'a1' });
  const limited = await startWorkers({
    workers: [new MockWorker({ name: 'w', chunks: ['a'], limits: { maxConcurrent: 1_000, rpm: 1_000_000_000, tpm: 1_000_000_000 } })],
    ...quiet,
    prefix: 'a2',
  });
  const r = await interleaved(
    {
      unlimited: async () => {
        for (let i = 0; i < B; i++) await firstChunk(free);
      },
      limited: async () => {
        for (let i = 0; i < B; i++) await firstChunk(limited);
      },
    },
    { batch: B },
  );
  const added = (median(r.limited!) - median(r.unlimited!)) / 1000;
  record({ group: 'admission', name: 'added to a dispatch by admission (maxConcurrent + rpm + tpm), slot free', value: added, unit: 'us', goal: '< 1 us', met: added < 1 });
  await free.stop();
  await limited.stop();

  // A queued request, once the slot it waits for is released: its first chunk, against an uncontended dispatch.
  const one = await startWorkers({ workers: [new MockWorker({ name: 'w', chunks: ['a'], limits: { maxConcurrent: 1 } })], ...quiet, prefix: 'a3' });
  const afterRelease: number[] = [];
  const uncontended: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const a = one.dispatcher.dispatchStream(hi);
    await a.next(); // holds the slot
    const b = one.dispatcher.dispatchStream(hi);
    const bFirst = b.next(); // queued
    await new Promise((res) => setImmediate(res));
    const t0 = performance.now();
    await a.return(); // releases
    await bFirst;
    afterRelease.push((performance.now() - t0) * 1000);
    await b.return();
    const t1 = performance.now();
    await firstChunk(one);
    uncontended.push((performance.now() - t1) * 1000);
  }
  const queued = median(afterRelease) - median(uncontended);
  record({ group: 'admission', name: 'release -> queued request has its first chunk', value: median(afterRelease), unit: 'us' });
  record({ group: 'admission', name: 'a queued start after the release, beyond an uncontended dispatch', value: queued, unit: 'us', goal: '<= 5 us', met: queued <= 5 });
  await one.stop();

  // 40 requests at once: local (one at a time) and a cloud worker with room; 20 ms to a first chunk each.
  const spill = await startWorkers({
    workers: [
      new MockWorker({ name: 'local', priority: 10, chunks: ['l', 'm'], delayMs: 20, limits: { maxConcurrent: 1 } }),
      new MockWorker({ name: 'cloud', priority: 60, chunks: ['c', 'd'], delayMs: 20 }),
    ],
    ...quiet,
    firstChunkTimeoutMs: 2_000,
    prefix: 'a4',
  });
  const timeToFirst = async (): Promise<number> => {
    const t0 = performance.now();
    const g = spill.dispatcher.dispatchStream(hi);
    await g.next();
    const ms = performance.now() - t0;
    for await (const _ of g) void _;
    return ms;
  };
  const unloaded: number[] = [];
  for (let i = 0; i < 20; i++) unloaded.push(await timeToFirst());
  const loaded: number[] = [];
  for (let round = 0; round < 5; round++) loaded.push(...(await Promise.all(Array.from({ length: 40 }, timeToFirst))));
  const p95 = percentile(loaded, 95) / median(unloaded);
  record({ group: 'admission', name: '40 at once, local full: p95 first chunk', value: percentile(loaded, 95), unit: 'ms' });
  record({ group: 'admission', name: '40 at once: p95 first chunk / an unloaded request', value: p95, unit: 'x', goal: '<= 2x', met: p95 <= 2 });
  await spill.stop();
  await deepQueue();

  // Cold start: a fresh process importing the package, against one importing nothing.
  const runs = (code: string): number[] =>
    Array.from({ length: 11 }, () => {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const t = performance.now(); ${code}; console.log(performance.now() - t);`], { encoding: 'utf8' });
      return Number(out.trim());
    });
  const nothing = median(runs('await Promise.resolve()'));
  // Each entry point, beyond its optional peers (none is installed by these imports' own code).
  for (const [entry, file] of [['cortex-otp', 'index'], ['cortex-otp/testing', 'testing'], ['cortex-otp/gateway', 'gateway'], ['cortex-otp/dashboard', 'dashboard'], ['cortex-otp/metrics', 'metrics'], ['cortex-otp/tracing', 'tracing']] as const) {
    const url = new URL(`../dist/${file}.js`, import.meta.url).href;
    const coldMs = median(runs(`await import(${JSON.stringify(url)})`)) - nothing;
    record({ group: 'admission', name: `cold start: import('${entry}') in a fresh process`, value: coldMs, unit: 'ms', goal: '<= 25 ms', met: coldMs <= 25 });
  }
  const zod = runs("await import('zod')");
  record({ group: 'admission', name: "of which: import('zod') alone", value: median(zod) - nothing, unit: 'ms' });
}

/**
 * A deep queue: n requests at once through one slot (`maxConcurrent: 1`), the CPU each costs, with
 * 50 and with 1,000 waiting (a release used to ask every waiter, so a request cost grew with the
 * queue). Alternating, three rounds each.
 */
async function deepQueue(): Promise<void> {
  const through = async (n: number): Promise<number> => {
    const w = await startWorkers({ workers: [new MockWorker({ name: 'one', chunks: ['a'], limits: { maxConcurrent: 1 } })], healthIntervalMs: 0, prefix: `dq${n}` });
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: n }, async () => {
      for await (const _ of w.dispatcher.dispatchStream(hi)) void _;
    }));
    const used = process.cpuUsage(cpu);
    await w.stop();
    return (used.user + used.system) / n;
  };
  await through(1_000); // warm up
  const shallow: number[] = [];
  const deep: number[] = [];
  for (let round = 0; round < 3; round++) {
    shallow.push(await through(50));
    deep.push(await through(1_000));
  }
  const grows = median(deep) / median(shallow);
  record({ group: 'admission', name: 'a queued request, 1,000 waiting: CPU', value: median(deep), unit: 'us', note: `50 waiting: ${median(shallow).toFixed(1)} us` });
  record({ group: 'admission', name: 'a queued request, 1,000 waiting / 50 waiting, CPU', value: grows, unit: 'x', goal: '<= 2x', met: grows <= 2 });
}
