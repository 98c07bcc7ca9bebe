/**
 * One instance of the store benchmark, in its own process: `requests` requests, `concurrency`
 * at a time, through a pool with one MockWorker, on a Redis store (`redisUrl`) or alone. Prints
 * the requests per second it achieved.
 */
import { lib, testing } from './lib.js';

const { redisUrl, prefix, requests, concurrency } = JSON.parse(process.argv[2]!) as { redisUrl?: string; prefix: string; requests: number; concurrency: number };
const cortex = await lib.startWorkers({
  workers: [new testing.MockWorker({ name: 'w', chunks: ['a', 'b'], limits: { maxConcurrent: 1_000_000 } })],
  healthIntervalMs: 0,
  ...(redisUrl ? { store: { kind: 'redis' as const, url: redisUrl, prefix } } : {}),
});
let next = 0;
const lane = async (): Promise<void> => {
  while (next++ < requests) for await (const _ of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'hi' }])) void _;
};
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = (performance.now() - t0) / 1000;
const { store } = await cortex.dispatcher.status();
await cortex.stop();
process.stdout.write(`${JSON.stringify({ rps: requests / seconds, degraded: store.degraded })}\n`);
