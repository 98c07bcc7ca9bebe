import { lib, testing } from './lib.js';
import type { ChatMessage, Workers } from '../src/index.js';
import { bytesPer, interleaved, median, ratio, record } from './harness.js';
const { startWorkers } = lib;
const { MockWorker } = testing;

const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

async function firstChunkViaPool(w: Workers): Promise<void> {
  const g = w.dispatcher.dispatchStream(hi);
  await g.next();
  await g.return();
}

async function firstChunkDirect(m: InstanceType<typeof MockWorker>): Promise<void> {
  const it = (await m.streamCompletion(hi, { signal: new AbortController().signal }))[Symbol.asyncIterator]();
  await it.next();
  await it.return?.();
}

export async function poolBench(): Promise<void> {
  const quiet = { healthIntervalMs: 0 } as const;

  // dispatch + first chunk vs a direct MockWorker call
  const direct = new MockWorker({ name: 'w', chunks: ['a', 'b'] });
  const w1 = await startWorkers({ workers: [new MockWorker({ name: 'w', chunks: ['a', 'b'] })], ...quiet, prefix: 'b1' });
  const B = 100;
  const r1 = await interleaved(
    {
      direct: async () => {
        for (let i = 0; i < B; i++) await firstChunkDirect(direct);
      },
      pool: async () => {
        for (let i = 0; i < B; i++) await firstChunkViaPool(w1);
      },
    },
    { batch: B },
  );
  const added = (median(r1.pool!) - median(r1.direct!)) / 1000;
  record({ group: 'pool', name: 'direct MockWorker: call + first chunk', value: median(r1.direct!) / 1000, unit: 'us' });
  record({ group: 'pool', name: 'through the pool: dispatch + first chunk', value: median(r1.pool!) / 1000, unit: 'us' });
  record({ group: 'pool', name: 'added by the pool to the first chunk', value: added, unit: 'us', goal: '< 10 us', met: added < 10 });
  await w1.stop();

  // per chunk vs a raw async generator
  const N = 1_000;
  const words = Array.from({ length: N }, (_, i) => `w${i} `);
  const w2 = await startWorkers({ workers: [new MockWorker({ name: 'long', chunks: words })], ...quiet, prefix: 'b2' });
  const longMock = new MockWorker({ name: 'long', chunks: words });
  async function* raw(): AsyncGenerator<{ text: string }> {
    for (const t of words) yield { text: t };
  }
  let sink = 0;
  const r2 = await interleaved(
    {
      raw: async () => {
        for await (const c of raw()) sink += c.text.length;
      },
      mock: async () => {
        for await (const c of await longMock.streamCompletion(hi, { signal: new AbortController().signal })) sink += c.text.length;
      },
      pool: async () => {
        for await (const c of w2.dispatcher.dispatchStream(hi)) sink += c.text.length;
      },
    },
    { batch: N },
  );
  const pc = ratio(r2.pool!, r2.raw!);
  record({ group: 'pool', name: 'per chunk: raw async generator', value: median(r2.raw!), unit: 'ns' });
  record({ group: 'pool', name: 'per chunk: MockWorker read directly', value: median(r2.mock!), unit: 'ns' });
  record({ group: 'pool', name: 'per chunk: through the pool', value: median(r2.pool!), unit: 'ns' });
  const own = ratio(r2.pool!, r2.mock!);
  record({ group: 'pool', name: 'per chunk, pool / MockWorker read directly', value: own.value, unit: 'x', spread: own.spread });
  record({ group: 'pool', name: 'per chunk, pool / raw generator', value: pc.value, unit: 'x', spread: pc.spread, goal: '<= 3x', met: pc.value <= 3 });
  await w2.stop();

  // selection cost with 10 / 1,000 / 10,000 workers
  const sizes = [10, 1_000, 10_000];
  const pools: Record<string, Workers> = {};
  for (const n of sizes) {
    pools[n] = await startWorkers({
      workers: Array.from({ length: n }, (_, i) => new MockWorker({ name: `m${i}`, priority: 10 + (i % 7), chunks: ['x'] })),
      ...quiet,
      prefix: `b3-${n}`,
    });
    await pools[n]!.dispatcher.status(); // settled
  }
  const r3 = await interleaved(
    Object.fromEntries(
      sizes.map((n) => [
        `${n} workers`,
        async () => {
          for (let i = 0; i < B; i++) await firstChunkViaPool(pools[n]!);
        },
      ]),
    ),
    { batch: B },
  );
  for (const n of sizes) record({ group: 'pool', name: `dispatch + first chunk, ${n} workers`, value: median(r3[`${n} workers`]!) / 1000, unit: 'us' });
  const flat = ratio(r3['10000 workers']!, r3['10 workers']!);
  record({ group: 'pool', name: '10,000 workers / 10 workers', value: flat.value, unit: 'x', spread: flat.spread, goal: '<= 2x (flat)', met: flat.value <= 2 });

  // memory per registered worker (registry entry, worker actor, pool slot with its breaker)
  const big = pools[10_000]!;
  const perWorker = await bytesPer(
    2_000,
    async (n) => {
      for (let i = 0; i < n; i++) await big.addWorker(new MockWorker({ name: `extra${i}` }));
      await big.dispatcher.status();
      return n;
    },
  );
  record({ group: 'pool', name: 'memory per registered worker (incl. the MockWorker)', value: perWorker, unit: 'B' });
  for (const n of sizes) await pools[n]!.stop();

  // 10,000 concurrent streams: each 4 chunks 50 ms apart (ideal wall time 200 ms)
  const wc = await startWorkers({
    workers: Array.from({ length: 10 }, (_, i) => new MockWorker({ name: `c${i}`, chunks: ['a', 'b', 'c', 'd'], delayMs: 50 })),
    strategy: 'least_loaded',
    ...quiet,
    prefix: 'b4',
  });
  const mocks = Array.from({ length: 10 }, (_, i) => new MockWorker({ name: `d${i}`, chunks: ['a', 'b', 'c', 'd'], delayMs: 50 }));
  const walls: number[] = [];
  const directWalls: number[] = [];
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    await Promise.all(
      Array.from({ length: 10_000 }, async () => {
        for await (const c of wc.dispatcher.dispatchStream(hi)) sink += c.text.length;
      }),
    );
    walls.push(performance.now() - t0);
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: 10_000 }, async (_, i) => {
        for await (const c of await mocks[i % 10]!.streamCompletion(hi, { signal: new AbortController().signal })) sink += c.text.length;
      }),
    );
    directWalls.push(performance.now() - t0);
  }
  const wall = median(walls);
  record({ group: 'pool', name: '10,000 concurrent streams read directly from MockWorkers, wall / ideal', value: median(directWalls) / 200, unit: 'x' });
  record({
    group: 'pool',
    name: '10,000 concurrent streams, wall / ideal (200 ms)',
    value: wall / 200,
    unit: 'x',
    spread: [Math.min(...walls) / 200, Math.max(...walls) / 200],
    goal: '<= 1.5x',
    met: wall / 200 <= 1.5,
  });
  const inflight = (await wc.dispatcher.status()).workers.reduce((a, w) => a + w.inflight, 0);
  record({ group: 'pool', name: 'in-flight count after 30,000 streams', value: inflight, unit: '', goal: '0', met: inflight === 0 });

  // memory per in-flight stream (held open on a hanging worker)
  const wm = await startWorkers({ workers: [new MockWorker({ name: 'hang', hang: true })], ...quiet, prefix: 'b5' });
  const controllers: AbortController[] = [];
  const perStream = await bytesPer(5_000, async (n) => {
    const gens = [];
    for (let i = 0; i < n; i++) {
      const ac = new AbortController();
      controllers.push(ac);
      const g = wm.dispatcher.dispatchStream(hi, { signal: ac.signal });
      gens.push(g.next().catch(() => undefined));
    }
    await new Promise((r) => setTimeout(r, 50));
    return gens;
  });
  record({ group: 'pool', name: 'memory per in-flight stream', value: perStream, unit: 'B', goal: '<= 2.5 KB', met: perStream <= 2_560 });
  for (const ac of controllers) ac.abort();
  await wm.stop();
  await wc.stop();

  // failover cost: the first worker fails at once, the second answers
  const failing = new MockWorker({ name: 'bad', priority: 1, failOnStart: true });
  const wf = await startWorkers({
    workers: [failing, new MockWorker({ name: 'good', priority: 2, chunks: ['a'] })],
    ...quiet,
    failureThreshold: 1_000_000_000,
    prefix: 'b6',
  });
  const wn = await startWorkers({ workers: [new MockWorker({ name: 'good', chunks: ['a'] })], ...quiet, prefix: 'b7' });
  const failingDirect = new MockWorker({ name: 'bad', failOnStart: true });
  const r4 = await interleaved(
    {
      'no failure': async () => {
        for (let i = 0; i < B; i++) await firstChunkViaPool(wn);
      },
      failover: async () => {
        for (let i = 0; i < B; i++) await firstChunkViaPool(wf);
      },
      'the failure itself': async () => {
        for (let i = 0; i < B; i++) await failingDirect.streamCompletion(hi, { signal: new AbortController().signal }).catch(() => undefined);
      },
    },
    { batch: B },
  );
  const budget = median(r4['no failure']!) + median(r4['the failure itself']!);
  const fo = median(r4.failover!) / budget;
  record({ group: 'pool', name: 'first chunk after a failover', value: median(r4.failover!) / 1000, unit: 'us' });
  record({ group: 'pool', name: 'failover / (no-failure path + the failure)', value: fo, unit: 'x', goal: '<= 1.2x', met: fo <= 1.2 });
  await wf.stop();
  await wn.stop();
  if (sink === -1) console.log(sink);
}
