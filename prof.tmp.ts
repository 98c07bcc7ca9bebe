import { startWorkers } from './dist/index.js';
import { MockWorker } from './dist/testing.js';
const w = await startWorkers({ workers: [new MockWorker({ name: 'w', chunks: ['a', 'b'] })], healthIntervalMs: 0 });
const hi = [{ role: 'user' as const, content: 'Hi' }];
for (let r = 0; r < 5; r++) {
  const t = performance.now();
  for (let i = 0; i < 20000; i++) { const g = w.dispatcher.dispatchStream(hi); await g.next(); await g.return(); }
  console.log(((performance.now() - t) / 20000 * 1000).toFixed(2), 'us');
}
await w.stop();
