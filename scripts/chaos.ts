/**
 * Chaos run: many requests with bounded concurrency across 5 workers with random faults (5 % fail
 * on start, 5 % fail mid-stream, 2 % hang, 10 % slow, 20 % failing health checks), while the Pool and Registry actors
 * are killed at random moments and restarted by their supervisor. Everything runs on a
 * simulated clock from a seeded random source, so a run is fast and repeatable.
 *
 *   npm run chaos                 # 10,000 requests
 *   npm run chaos -- 2000 42      # requests, seed
 */
import { createHook } from 'node:async_hooks';
import { fileURLToPath } from 'node:url';
import {
  createSystem,
  isCortexError,
  kill,
  SimulatedClock,
  startWorkers,
  WorkerError,
  type ChatMessage,
  type CompletionChunk,
  type Health,
  type LlmWorker,
  type StreamOptions,
} from '../src/index.js';

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const answerOf = (name: string): string[] => Array.from({ length: 8 }, (_, i) => `${name}-${i} `);

/** A worker whose every request draws a fault. */
class ChaosWorker implements LlmWorker {
  /** Streams running now, and the most at once. */
  active = 0;
  peak = 0;
  constructor(
    readonly name: string,
    private readonly clock: SimulatedClock,
    private readonly random: () => number,
  ) {}
  info() {
    return { name: this.name, kind: 'chaos', models: ['chaos'] };
  }
  priority() {
    return 10 + Number(this.name.slice(1));
  }
  /** Every worker takes a few streams at once: admission is part of the chaos. */
  limits() {
    return { maxConcurrent: 4 + Number(this.name.slice(1)) };
  }
  async healthCheck(): Promise<Health> {
    return this.random() < 0.2 ? { status: 'unavailable', reason: 'flapping' } : { status: 'available' };
  }
  async streamCompletion(_m: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    const roll = this.random();
    if (roll < 0.05) throw new WorkerError(this.name, 'connection', 'chaos: refused');
    const failAt = roll < 0.1 ? Math.floor(this.random() * 8) : -1;
    const hang = roll >= 0.1 && roll < 0.12;
    const delay = roll >= 0.12 && roll < 0.22 ? 200 : 5;
    const { clock, name } = this;
    const self = this;
    const signal = opts.signal;
    const sleep = (ms: number) =>
      new Promise<void>((resolve, reject) => {
        const t = clock.setTimeout(resolve, ms);
        signal.addEventListener('abort', () => (clock.clearTimeout(t), reject(signal.reason)), { once: true });
      });
    return (async function* () {
      // Counted as a server would: from the request until its end, or until the client aborts
      // it (the connection closes then, whatever the generator does after).
      self.peak = Math.max(self.peak, ++self.active);
      let counted = true;
      const uncount = (): void => {
        if (counted) self.active--;
        counted = false;
      };
      signal.addEventListener('abort', uncount, { once: true });
      try {
        if (hang) await sleep(1e12);
        const words = answerOf(name);
        for (let i = 0; i < words.length; i++) {
          if (i === failAt) throw new WorkerError(name, 'connection', 'chaos: cut mid-stream');
          await sleep(delay);
          yield { text: words[i]! };
        }
        uncount(); // a server that sent its final chunk is done with the request
        yield { text: '', done: true, finishReason: 'stop' as const };
      } finally {
        signal.removeEventListener('abort', uncount);
        uncount();
      }
    })();
  }
}

/** What a chaos run found. */
export interface ChaosReport {
  requests: number;
  completed: number;
  errors: Record<string, number>;
  hung: number;
  truncatedReportedComplete: number;
  crashes: { pool: number; registry: number };
  inflightAtEnd: number;
  /** Requests waiting in the pool's queue at the end. */
  queuedAtEnd: number;
  /** The most streams a worker ran at once beyond its maxConcurrent (must be 0). */
  overAdmitted: number;
  liveActorsAtEnd: number;
  /** Simulated-clock timers left (actor timers, call deadlines, pool watchdogs). */
  pendingTimersAtEnd: number;
  /** Timers and sockets the run created and left open at its end (tracked with async_hooks). */
  openHandlesAtEnd: number;
  heapBeforeMB: number;
  heapAfterMB: number;
}

/**
 * Counts the handles (timers, sockets) created from now on that are still open
 * when `stop()` is called: what a run leaves behind, never a negative number.
 */
const LEAKABLE = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'TCPCONNECTWRAP', 'HTTPCLIENTREQUEST', 'HTTPINCOMINGMESSAGE', 'PIPEWRAP']);

function trackHandles(): { stop(): number } {
  const open = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (LEAKABLE.has(type)) open.set(id, type);
    },
    destroy(id) {
      open.delete(id);
    },
  }).enable();
  return {
    stop() {
      hook.disable();
      return open.size;
    },
  };
}

export async function runChaos(requests = 10_000, seed = 1, concurrency = 64): Promise<ChaosReport> {
  const random = rng(seed);
  const clock = new SimulatedClock();
  const system = createSystem({ clock });
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const handles = trackHandles();
  const chaosWorkers = Array.from({ length: 5 }, (_, i) => new ChaosWorker(`w${i}`, clock, random));
  const cortex = await startWorkers({
    system,
    workers: chaosWorkers,
    strategy: 'least_loaded',
    healthIntervalMs: 1_000,
    firstChunkTimeoutMs: 500,
    idleTimeoutMs: 1_000,
    deadlineMs: 10_000,
    circuitResetMs: 2_000,
    maxRestarts: 1_000_000,
    maxSeconds: 1,
  });
  const report: ChaosReport = {
    requests,
    completed: 0,
    errors: {},
    hung: 0,
    truncatedReportedComplete: 0,
    crashes: { pool: 0, registry: 0 },
    inflightAtEnd: -1,
    queuedAtEnd: -1,
    overAdmitted: -1,
    liveActorsAtEnd: -1,
    pendingTimersAtEnd: -1,
    openHandlesAtEnd: -1,
    heapBeforeMB: heapBefore / 2 ** 20,
    heapAfterMB: 0,
  };
  let next = 0;
  let finished = 0;
  const messages: ChatMessage[] = [{ role: 'user', content: 'chaos' }];

  async function one(): Promise<void> {
    const startedAt = clock.now();
    let text = '';
    let done = false;
    let worker = '';
    try {
      for await (const c of cortex.dispatcher.dispatchStream(messages)) {
        text += c.text;
        worker = c.worker;
        if (c.done) done = true;
      }
      if (!done) report.truncatedReportedComplete++; // ended without error and without done
      else if (text !== answerOf(worker).join('')) report.truncatedReportedComplete++;
      else report.completed++;
    } catch (e) {
      const code = isCortexError(e) ? e.code : "untyped";
      report.errors[code] = (report.errors[code] ?? 0) + 1;
    }
    if (clock.now() - startedAt > 10_000 + 5_000) report.hung++; // took longer than its deadline allows
  }

  let lanesLeft = concurrency;
  async function lane(): Promise<void> {
    try {
      await laneLoop();
    } finally {
      lanesLeft--;
    }
  }
  async function laneLoop(): Promise<void> {
    while (next < requests) {
      next++;
      await one();
      finished++;
      // Think time between a lane's requests (simulated), as real clients have.
      await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.floor(random() * 50)));
    }
  }

  const lanes = Array.from({ length: concurrency }, lane);
  // Drive time, and crash the Pool or the Registry now and then.
  let stalled = 0;
  let last = -1;
  while (lanesLeft > 0) {
    await clock.advance(5);
    const r = random();
    if (r < 0.002) {
      const pool = system.whereis('cortex.pool');
      if (pool) {
        kill(pool);
        report.crashes.pool++;
      }
    } else if (r < 0.003) {
      const registry = system.whereis('cortex.registry');
      if (registry) {
        kill(registry);
        report.crashes.registry++;
      }
    }
    stalled = finished === last ? stalled + 1 : 0;
    last = finished;
    if (stalled > 20_000) {
      report.hung += requests - finished; // no progress for 100 simulated seconds
      break;
    }
  }
  if (stalled <= 20_000) await Promise.all(lanes);
  await clock.advance(1); // let the last releases land
  const status = await cortex.dispatcher.status();
  report.inflightAtEnd = status.workers.reduce((a, w) => a + w.inflight, 0);
  report.queuedAtEnd = status.queued;
  report.overAdmitted = Math.max(0, ...chaosWorkers.map((w) => w.peak - w.limits().maxConcurrent));
  await cortex.stop();
  report.liveActorsAtEnd = system.size;
  await clock.advance(60_000); // the shared call-timeout timer ends once nothing waits
  report.pendingTimersAtEnd = clock.pendingTimers;
  await new Promise((r) => setImmediate(r)); // let the destroy hooks of handles closed just now run
  report.openHandlesAtEnd = handles.stop();
  globalThis.gc?.();
  report.heapAfterMB = process.memoryUsage().heapUsed / 2 ** 20;
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [n = '10000', seed = '1'] = process.argv.slice(2);
  const t0 = performance.now();
  const r = await runChaos(Number(n), Number(seed));
  console.log(JSON.stringify({ ...r, seconds: +((performance.now() - t0) / 1000).toFixed(1) }, null, 2));
  const ok = r.hung === 0 && r.truncatedReportedComplete === 0 && r.inflightAtEnd === 0 && r.queuedAtEnd === 0 && r.overAdmitted === 0 && r.liveActorsAtEnd === 0 && r.pendingTimersAtEnd === 0 && r.openHandlesAtEnd === 0 && !r.errors.untyped;
  console.log(ok ? 'chaos: OK' : 'chaos: FAILED');
  process.exit(ok ? 0 : 1);
}
