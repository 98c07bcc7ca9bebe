import { lib, testing } from './lib.js';
const { startWorkers } = lib;
const { MockWorker } = testing;
const hi = [{ role: 'user' as const, content: 'Hi' }];
const wc = await startWorkers({ workers: Array.from({ length: 10 }, (_, i) => new MockWorker({ name: `c${i}`, chunks: ['a', 'b', 'c', 'd'], delayMs: 50 })), strategy: 'least_loaded', healthIntervalMs: 0, prefix: 'b4' });
const mocks = Array.from({ length: 10 }, (_, i) => new MockWorker({ name: `d${i}`, chunks: ['a', 'b', 'c', 'd'], delayMs: 50 }));
let sink = 0;
const only = process.argv[2];
for (let round = 0; round < Number(process.env.ROUNDS ?? 4); round++) {
  let t0 = performance.now();
  if (only !== 'direct') await Promise.all(Array.from({ length: 10_000 }, async () => { for await (const c of wc.dispatcher.dispatchStream(hi)) sink += c.text.length; }));
  const pool = performance.now() - t0;
  t0 = performance.now();
  if (only !== 'pool') await Promise.all(Array.from({ length: 10_000 }, async (_, i) => { for await (const c of await mocks[i % 10]!.streamCompletion(hi, { signal: new AbortController().signal })) sink += c.text.length; }));
  const direct = performance.now() - t0;
  console.log(`pool ${(pool / 200).toFixed(2)}x, direct ${(direct / 200).toFixed(2)}x`);
}
await wc.stop();
if (sink < 0) console.log(sink);
