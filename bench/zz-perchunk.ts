import { lib, testing } from './lib.js';
const { startWorkers } = lib;
const { MockWorker } = testing;
const hi = [{ role: 'user' as const, content: 'Hi' }];
const N = 1000;
const words = Array.from({ length: N }, (_, i) => `w${i} `);
const w2 = await startWorkers({ workers: [new MockWorker({ name: 'long', chunks: words })], healthIntervalMs: 0, prefix: 'b2' });
async function* raw() { for (const t of words) yield { text: t }; }
let sink = 0;
const mode = process.argv[2] ?? 'both';
for (let round = 0; round < 8; round++) {
  let t0 = performance.now();
  for (let i = 0; i < 200; i++) for await (const c of raw()) sink += c.text.length;
  const rawNs = (performance.now() - t0) * 1e6 / (200 * N);
  t0 = performance.now();
  for (let i = 0; i < 200; i++) for await (const c of w2.dispatcher.dispatchStream(hi)) sink += c.text.length;
  const poolNs = (performance.now() - t0) * 1e6 / (200 * N);
  const m = new MockWorker({ name: 'long', chunks: words });
  t0 = performance.now();
  for (let i = 0; i < 200; i++) for await (const c of await m.streamCompletion(hi, { signal: new AbortController().signal })) sink += c.text.length;
  const mockNs = (performance.now() - t0) * 1e6 / (200 * N);
  t0 = performance.now();
  for (let i = 0; i < 200; i++) for await (const c of (async function* () { for await (const x of raw()) yield x; })()) sink += c.text.length;
  const twoNs = (performance.now() - t0) * 1e6 / (200 * N);
  console.log(`mock ${mockNs.toFixed(0)} ns, two raw generators nested ${twoNs.toFixed(0)} ns`);
  console.log(`raw ${rawNs.toFixed(0)} ns, pool ${poolNs.toFixed(0)} ns, ${(poolNs / rawNs).toFixed(2)}x`);
}
await w2.stop();
if (sink === -1) console.log(mode);
