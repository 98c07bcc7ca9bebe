/**
 * The live dashboard, with simulated traffic: three demo workers, one of which fails from time
 * to time and comes back.
 *
 *   npm run dashboard                 # prints the URL; Ctrl-C to stop
 *   npm run dashboard -- --port 9090
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startWorkers, type Workers } from '../src/index.js';
import { serveDashboard, type DashboardServer } from '../src/dashboard.js';
import { MockWorker } from '../src/testing.js';

/** A demo: the workers, the dashboard, traffic, and the flaky worker's switch. */
export interface Demo {
  readonly cortex: Workers;
  readonly dashboard: DashboardServer;
  readonly flaky: MockWorker;
  /** Breaks the flaky worker (its health check fails, its requests fail) or mends it. */
  setBroken(broken: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the demo: `rps` requests a second, and (unless `flapEveryMs` is 0) the flaky worker breaking and mending. */
export async function startDemo(options: { port?: number; rps?: number; flapEveryMs?: number } = {}): Promise<Demo> {
  const { port = 0, rps = 8, flapEveryMs = 8000 } = options;
  const words = ['Actors', ' keep', ' the', ' pool', ' alive', '.'];
  const usage = { promptTokens: 12, completionTokens: words.length };
  // A local GPU costs nothing per token; the cloud workers have a price (US dollars per million tokens).
  const flaky = new MockWorker({ name: 'local-gpu', priority: 10, chunks: words, delayMs: 30, limits: { maxConcurrent: 2 }, usage });
  const price = { inputPerMTok: 3, outputPerMTok: 15 };
  const cortex = await startWorkers({
    workers: [
      flaky,
      new MockWorker({ name: 'cloud-a', priority: 20, chunks: words, delayMs: 15, usage, price }),
      new MockWorker({ name: 'cloud-b', priority: 20, chunks: words, delayMs: 20, usage, price }),
    ],
    healthIntervalMs: 1000,
    failureThreshold: 2,
    circuitResetMs: 3000,
    firstChunkTimeoutMs: 2000,
  });
  const dashboard = await serveDashboard(cortex, { port });
  const setBroken = async (broken: boolean): Promise<void> => {
    flaky.set(broken ? { failOnStart: true, health: { status: 'unavailable', reason: 'GPU out of memory (simulated)' } } : { failOnStart: false, health: { status: 'available' } });
    await cortex.dispatcher.checkHealth();
  };
  // Two teams' keys (as the gateway's key ids), so the request log has something to filter by.
  const tenants = ['team-web', 'team-batch'];
  let sent = 0;
  const traffic = setInterval(() => void cortex.dispatcher.complete([{ role: 'user', content: 'hello' }], { tenant: tenants[sent++ % 2]! }).catch(() => undefined), 1000 / rps);
  let broken = false;
  const flap = flapEveryMs > 0 ? setInterval(() => void setBroken((broken = !broken)), flapEveryMs) : undefined;
  return {
    cortex,
    dashboard,
    flaky,
    setBroken,
    async stop() {
      clearInterval(traffic);
      if (flap) clearInterval(flap);
      await dashboard.close();
      await cortex.stop({ drainMs: 0 });
    },
  };
}

const DASHBOARD_USAGE = 'usage: npm run dashboard -- [--port N]   (a demo pool with traffic, and its dashboard)';

async function main(): Promise<void> {
  let port = 0;
  try {
    const { values } = parseArgs({ options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(DASHBOARD_USAGE);
      process.exit(0);
    }
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected a port number, got ${values.port}`);
    }
  } catch (e) {
    console.error(`${(e as Error).message}\n${DASHBOARD_USAGE}`);
    process.exit(2);
  }
  const demo = await startDemo({ port });
  console.log(`cortex dashboard: ${demo.dashboard.url}  (demo traffic; local-gpu fails every 8 s and comes back; Ctrl-C to stop)`);
  process.once('SIGINT', () => void demo.stop().then(() => process.exit(0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
