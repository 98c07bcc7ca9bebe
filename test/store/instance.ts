/**
 * One app instance for the cluster tests, run in its own Node process (through tsx): a tree
 * on the shared Redis store, `requests` requests at once, then a JSON report on stdout.
 * `hold`: prints HOLDING once its requests stream, then waits to be killed.
 */
import { isCortexError, OllamaWorker, startWorkers } from '../../src/index.js';

interface Args {
  mode: 'load' | 'hold';
  redisUrl: string;
  prefix: string;
  baseUrl: string;
  requests: number;
  maxConcurrent?: number;
  rpm?: number;
  queueTimeoutMs?: number;
  leaseMs?: number;
  timeoutMs?: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const cortex = await startWorkers({
  workers: [new OllamaWorker({ baseUrl: args.baseUrl, ...(args.maxConcurrent ? { maxConcurrent: args.maxConcurrent } : {}), ...(args.rpm ? { rpm: args.rpm } : {}) })],
  store: { kind: 'redis', url: args.redisUrl, prefix: args.prefix, ...(args.leaseMs ? { leaseMs: args.leaseMs } : {}), ...(args.timeoutMs ? { timeoutMs: args.timeoutMs } : {}) },
  healthIntervalMs: 0,
  maxQueue: 10_000,
  ...(args.queueTimeoutMs ? { queueTimeoutMs: args.queueTimeoutMs } : {}),
});

let degradations = 0;
cortex.system.inspect((e) => void (e.type === 'store.degraded' && degradations++));

const outcome = async (i: number): Promise<string> => {
  try {
    let text = '';
    for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content: `${process.pid}-${i}` }])) {
      text += c.text;
      if (args.mode === 'hold' && text !== '') process.stdout.write('CHUNK\n');
    }
    return 'completed';
  } catch (e) {
    return isCortexError(e) ? e.code : `untyped: ${String(e)}`;
  }
};

const all = await Promise.all(Array.from({ length: args.requests }, (_, i) => outcome(i)));
const report: Record<string, number> = {};
for (const o of all) report[o] = (report[o] ?? 0) + 1;
const status = await cortex.dispatcher.status();
process.stdout.write(`${JSON.stringify({ report, degraded: status.store.degraded, degradations })}\n`);
await cortex.stop({ drainMs: 0 });
