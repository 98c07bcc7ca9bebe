import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { lib, testing } from './lib.js';
import type { ChatMessage, Workers } from '../src/index.js';
import { interleaved, interleavedOps, median, record } from './harness.js';

const run = promisify(execFile);
const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

async function firstChunk(w: Workers): Promise<void> {
  const g = w.dispatcher.dispatchStream(hi);
  await g.next();
  await g.return();
}

/** Commands Redis executed so far (from INFO commandstats), by command. */
async function commandCounts(url: string): Promise<Map<string, number>> {
  const { stdout } = await run('redis-cli', ['-u', url, 'INFO', 'commandstats']);
  const out = new Map<string, number>();
  for (const m of stdout.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** The Redis store: what one instance pays per request, round trips, and four processes against one Redis. */
export async function storeBench(): Promise<void> {
  const redis = await testing.startRedisServer();
  try {
    await addedLatency(redis.url);
    await roundTrips(redis.url);
    await fourInstances(redis.url);
    await sharedCacheHit(redis.url);
  } finally {
    await redis.close();
  }
  await rateWindow();
}

/**
 * A shared MemoryStore (the gateway's keys and the pool's limits without Redis): one admission and
 * its release, with 10 and with 20,000 admissions already in the worker's rate window (an rpm
 * limit under heavy traffic holds one entry per request of the last minute).
 */
async function rateWindow(): Promise<void> {
  const rules = { failureThreshold: Number.MAX_SAFE_INTEGER, resetMs: 1 };
  const limits = { maxConcurrent: Infinity, rpm: 1e9, tpm: Infinity };
  const once = async (store: InstanceType<typeof lib.MemoryStore>): Promise<void> => {
    const a = await store.admit({ candidates: [{ name: 'k', limits }], tokens: 10 });
    if (a.kind === 'admitted') await store.release(a.lease, { kind: 'success', tokens: 12 }, rules);
  };
  const filled = async (n: number): Promise<InstanceType<typeof lib.MemoryStore>> => {
    const store = new lib.MemoryStore();
    for (let i = 0; i < n; i++) await once(store);
    return store;
  };
  const small = await filled(10);
  const big = await filled(20_000);
  const r = await interleavedOps(500, { small: () => once(small), big: () => once(big) });
  const flat = median(r.big!) / median(r.small!);
  record({ group: 'store', name: 'MemoryStore admission + release, 10 in the rate window', value: median(r.small!), unit: 'ns' });
  record({ group: 'store', name: 'MemoryStore admission + release, 20,000 in the rate window / 10', value: flat, unit: 'x', goal: '<= 2x (flat)', met: flat <= 2 });
  await small.close();
  await big.close();
}

/** Time to first chunk through a pool on a loopback Redis store, against the same pool alone. */
async function addedLatency(url: string): Promise<void> {
  const B = 50;
  const worker = (): InstanceType<typeof testing.MockWorker> => new testing.MockWorker({ name: 'w', chunks: ['a'], limits: { maxConcurrent: 1_000 } });
  const alone = await lib.startWorkers({ workers: [worker()], healthIntervalMs: 0, prefix: 's1' });
  const store = new lib.RedisStore({ url, prefix: 'bench-latency' });
  store.subscribe((e) => e.type !== 'freed' && console.log(`  [store ${e.type}${e.type === 'degraded' ? `: ${e.reason}` : ''}]`));
  const shared = await lib.startWorkers({ workers: [worker()], healthIntervalMs: 0, prefix: 's2', store });
  const r = await interleaved(
    {
      // Each batch yields to I/O once (both alike): the pool alone never leaves the microtask
      // queue, and would starve the Redis connection's replies past their timeout.
      alone: async () => {
        for (let i = 0; i < B; i++) await firstChunk(alone);
        await new Promise(setImmediate);
      },
      redis: async () => {
        for (let i = 0; i < B; i++) await firstChunk(shared);
        await new Promise(setImmediate);
      },
    },
    { batch: B },
  );
  const added = (median(r.redis!) - median(r.alone!)) / 1e6;
  record({ group: 'store', name: 'time to first chunk, pool alone (MockWorker)', value: median(r.alone!) / 1e6, unit: 'ms' });
  record({ group: 'store', name: 'time to first chunk, pool on a loopback Redis store', value: median(r.redis!) / 1e6, unit: 'ms', note: `${(await shared.dispatcher.status()).store.degraded ? 'DEGRADED' : 'shared'}` });
  record({ group: 'store', name: 'added to the first chunk by a loopback Redis store', value: added, unit: 'ms', goal: '<= 0.3 ms', met: added <= 0.3 });
  await alone.stop();
  await shared.stop();
  await store.close();
}

/** Redis commands per request, counted by the server (each admission and release is one EVALSHA). */
async function roundTrips(url: string): Promise<void> {
  const store = new lib.RedisStore({ url, prefix: 'bench-trips' });
  const w = await lib.startWorkers({ workers: [new testing.MockWorker({ name: 'w', chunks: ['a', 'b'] })], healthIntervalMs: 0, prefix: 's3', store });
  await firstChunk(w); // scripts loaded
  await new Promise((r) => setTimeout(r, 50));
  const before = await commandCounts(url);
  const N = 1_000;
  for (let i = 0; i < N; i++) for await (const _ of w.dispatcher.dispatchStream(hi)) void _;
  await new Promise((r) => setTimeout(r, 50)); // the last release
  const after = await commandCounts(url);
  const delta = (cmd: string): number => (after.get(cmd) ?? 0) - (before.get(cmd) ?? 0);
  // commandstats also counts the commands a script runs; the client's round trips are the script calls.
  const trips = (delta('evalsha') + delta('eval')) / N;
  record({ group: 'store', name: 'Redis round trips per request (script calls: one admission, one release)', value: trips, unit: 'trips', goal: '<= 2', met: trips <= 2 });
  record({ group: 'store', name: 'commands Redis ran per request, inside the scripts included', value: [...after.keys()].filter((c) => c !== 'info').reduce((t, c) => t + delta(c), 0) / N, unit: 'cmd' });
  await w.stop();
  await store.close();
}

/** Four processes, 16 requests at a time each: requests per second on one Redis, against the same four alone. */
async function fourInstances(url: string): Promise<void> {
  const once = async (redisUrl: string | undefined): Promise<number> => {
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', new URL('./store-instance.ts', import.meta.url).pathname, JSON.stringify({ redisUrl, prefix: 'bench-four', requests: 3_000, concurrency: 16 })]),
      ),
    );
    return runs.reduce((sum, r) => sum + (JSON.parse(r.stdout.trim()) as { rps: number }).rps, 0);
  };
  const alone: number[] = [];
  const shared: number[] = [];
  for (let i = 0; i < 3; i++) {
    alone.push(await once(undefined));
    shared.push(await once(url));
  }
  record({ group: 'store', name: 'four processes, each alone: requests/s in all', value: median(alone), unit: 'req/s' });
  record({ group: 'store', name: 'four processes on one loopback Redis: requests/s in all', value: median(shared), unit: 'req/s' });
  record({ group: 'store', name: 'four processes on one Redis / alone', value: median(shared) / median(alone), unit: 'x', note: 'admissions and releases asked at the same moment share a script call' });
}

/** A response-cache hit kept in Redis by another instance: from the call to its first chunk. */
async function sharedCacheHit(url: string): Promise<void> {
  const keeper = new lib.RedisStore({ url, prefix: 'bench-cache', timeoutMs: 2000 });
  const reader = new lib.RedisStore({ url, prefix: 'bench-cache', timeoutMs: 2000 });
  const worker = (): InstanceType<typeof testing.MockWorker> => new testing.MockWorker({ name: 'w', chunks: ['a', 'b', 'c'] });
  const one = await lib.startWorkers({ workers: [worker()], healthIntervalMs: 0, prefix: 'c1', store: keeper, cache: {} });
  const two = await lib.startWorkers({ workers: [worker()], healthIntervalMs: 0, prefix: 'c2', store: reader, cache: {} });
  for await (const _ of one.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }])) void _;
  await new Promise((r) => setTimeout(r, 50)); // the write is fire-and-forget
  const times: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t0 = performance.now();
    const g = two.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }]);
    const first = await g.next();
    times.push(performance.now() - t0);
    if (first.value?.cached !== true) throw new Error('expected a cache hit');
    await g.return();
  }
  record({ group: 'store', name: 'response cache hit kept by another instance in Redis: call to first chunk, p50', value: median(times) * 1000, unit: 'us' });
  await one.stop();
  await two.stop();
  await keeper.close();
  await reader.close();
}
