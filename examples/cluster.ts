/**
 * Two app instances in two processes share one backend's limits through Redis.
 *
 *   npm run cluster -- --start-redis                 # a throwaway redis-server (needs redis-server installed)
 *   CORTEX_REDIS_URL=redis://127.0.0.1:6379 npm run cluster
 *   npm run cluster -- --ollama-url http://127.0.0.1:11434 --model llama3.2   # a real Ollama
 *
 * The parent starts a fake Ollama (unless given a real one) and forks two instances; each sends
 * `--requests` requests at once through a pool with `maxConcurrent: 2` on that backend. Without
 * shared state the backend would see up to 4 requests at once; with it, 2. The parent prints
 * what each instance got and the most requests the backend saw at once.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isCortexError, OllamaWorker, startWorkers } from '../src/index.js';
import { startFakeOllama, startRedisServer, type RedisServer } from '../src/testing.js';

const USAGE = 'usage: npm run cluster -- [--start-redis] [--requests N] [--ollama-url URL --model NAME]';

interface InstanceArgs {
  readonly redisUrl: string;
  readonly ollamaUrl: string;
  readonly model: string | undefined;
  readonly requests: number;
}

/** One instance: a tree on the shared store, N requests at once, a report to the parent. */
async function instance(args: InstanceArgs): Promise<void> {
  const cortex = await startWorkers({
    workers: [new OllamaWorker({ baseUrl: args.ollamaUrl, maxConcurrent: 2, ...(args.model ? { model: args.model } : {}) })],
    store: { kind: 'redis', url: args.redisUrl, prefix: 'cluster-example', timeoutMs: 1000 },
    healthIntervalMs: 0,
  });
  const outcomes = await Promise.all(
    Array.from({ length: args.requests }, async (_, i) => {
      try {
        await cortex.dispatcher.complete([{ role: 'user', content: `Say one word (${process.pid}-${i})` }]);
        return 'completed';
      } catch (e) {
        return isCortexError(e) ? e.code : 'failed';
      }
    }),
  );
  const { store } = await cortex.dispatcher.status();
  await cortex.stop();
  process.send!({ pid: process.pid, outcomes: count(outcomes), degraded: store.degraded });
}

function count(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'start-redis': { type: 'boolean', default: false },
        requests: { type: 'string', default: '10' },
        'ollama-url': { type: 'string' },
        model: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(`${USAGE}\n\nNeeds a Redis: --start-redis starts a throwaway one (Debian: apt-get install redis-server), else CORTEX_REDIS_URL or redis://127.0.0.1:6379.`);
    process.exit(0);
  }
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1 || requests > 1000) {
    console.error(`--requests: expected a whole number from 1 to 1000, got ${values.requests}\n${USAGE}`);
    process.exit(2);
  }
  let redis: RedisServer | undefined;
  const redisUrl = values['start-redis'] ? (redis = await startRedisServer()).url : (process.env.CORTEX_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const fake = values['ollama-url'] ? undefined : await startFakeOllama({ script: { chunks: ['Hello', '!'], delayMs: 20 } });
  const args: InstanceArgs = { redisUrl, ollamaUrl: values['ollama-url'] ?? fake!.url, model: values.model, requests };
  const self = fileURLToPath(import.meta.url);
  const reports = await Promise.all(
    [1, 2].map(
      (n) =>
        new Promise<unknown>((resolve, reject) => {
          const child = fork(self, [], { env: { ...process.env, CLUSTER_INSTANCE: JSON.stringify(args) }, execArgv: ['--import', 'tsx'] });
          child.once('message', resolve);
          child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`instance ${n} exited with ${code}`))));
        }),
    ),
  );
  for (const r of reports) console.log(JSON.stringify(r));
  if (fake) console.log(`the backend saw at most ${fake.peakActive} requests at once (limit 2, across both instances)`);
  const alone = (reports as Array<{ degraded: boolean }>).some((r) => r.degraded);
  await fake?.close();
  await redis?.close();
  if (alone || (fake !== undefined && fake.peakActive > 2)) {
    console.error(
      alone
        ? `Redis at ${redisUrl.replace(/\/\/[^@]*@/, '//')} could not be reached: each instance held the limit alone, so the cluster's was not held. Run with --start-redis (needs redis-server), or set CORTEX_REDIS_URL.`
        : 'the limit was not held across the instances',
    );
    process.exitCode = 1;
  }
}

if (process.env.CLUSTER_INSTANCE) await instance(JSON.parse(process.env.CLUSTER_INSTANCE) as InstanceArgs);
else await main();
