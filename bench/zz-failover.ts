import { lib, testing } from './lib.js';
const { startWorkers } = lib;
const { MockWorker } = testing;
const hi = [{ role: 'user' as const, content: 'Hi' }];
async function first(w: Awaited<ReturnType<typeof startWorkers>>) { const g = w.dispatcher.dispatchStream(hi); await g.next(); await g.return(); }
const quiet = { healthIntervalMs: 0 } as const;
const wf = await startWorkers({ workers: [new MockWorker({ name: 'bad', priority: 1, failOnStart: true }), new MockWorker({ name: 'good', priority: 2, chunks: ['a'] })], ...quiet, failureThreshold: 1_000_000_000, prefix: 'b6' });
const wn = await startWorkers({ workers: [new MockWorker({ name: 'good', chunks: ['a'] })], ...quiet, prefix: 'b7' });
const failingDirect = new MockWorker({ name: 'bad', failOnStart: true });
const only = process.argv[2];
const B = 2000;
for (let round = 0; round < Number(process.env.ROUNDS ?? 6); round++) {
  const out: string[] = [];
  for (const [k, f] of [['none', () => first(wn)], ['failover', () => first(wf)], ['failure', () => failingDirect.streamCompletion(hi, { signal: new AbortController().signal }).catch(() => undefined)]] as const) {
    if (only && k !== only) continue;
    const t0 = performance.now();
    for (let i = 0; i < B; i++) await f();
    out.push(`${k} ${((performance.now() - t0) * 1000 / B).toFixed(2)} us`);
  }
  console.log(out.join(' | '));
}
await wf.stop(); await wn.stop();
