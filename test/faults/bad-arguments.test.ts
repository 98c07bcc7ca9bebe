/**
 * One walk over the public functions with bad arguments: each answers with a typed error that
 * has a `code` (thrown, or as a rejection for functions that return a promise), never a bare
 * TypeError from deep inside, and never accepts a negative or non-finite time.
 */
import { describe, expect, it } from 'vitest';
import * as cortex from '../../src/index.js';
import * as testing from '../../src/testing.js';
import * as metrics from '../../src/metrics.js';
import * as tracing from '../../src/tracing.js';
import * as dashboard from '../../src/dashboard.js';
import * as gateway from '../../src/gateway.js';

const system = cortex.createSystem();
const live = await system.spawn({ init: () => null }, undefined);

type Case = readonly [string, () => unknown];
const cases: Case[] = [
  // runtime
  ['createSystem({ clock: 5 })', () => cortex.createSystem({ clock: 5 as never })],
  ['system.spawn(null)', () => system.spawn(null as never, undefined)],
  ['system.spawn(b, a, { mailboxLimit: -1 })', () => system.spawn({ init: () => null }, undefined, { mailboxLimit: -1 })],
  ['system.shutdown(-1)', () => cortex.createSystem().shutdown(-1)],
  ['system.shutdown(NaN)', () => cortex.createSystem().shutdown(Number.NaN)],
  ['call(undefined)', () => cortex.call(undefined as never, { type: 'x' } as never)],
  ['call(ref, msg, { timeout: -1 })', () => cortex.call(live, { type: 'x' } as never, { timeout: -1 })],
  ['call(ref, msg, { signal: 5 })', () => cortex.call(live, { type: 'x' } as never, { signal: 5 as never })],
  ['cast(undefined)', () => cortex.cast(undefined as never, {} as never)],
  ['send({})', () => cortex.send({} as never, {} as never)],
  ['stop(ref, r, { timeout: -1 })', () => cortex.stop(live, 'normal', { timeout: -1 })],
  ['stop(undefined)', () => cortex.stop(undefined as never)],
  ['kill(undefined)', () => cortex.kill(undefined as never)],
  ['link(undefined, ref)', () => cortex.link(undefined as never, live)],
  ['unlink(ref, 5)', () => cortex.unlink(live, 5 as never)],
  ['monitor(ref, undefined)', () => cortex.monitor(live, undefined as never)],
  ['demonitor(undefined)', () => cortex.demonitor(undefined as never)],
  ['whenExited(undefined)', () => cortex.whenExited(undefined as never)],
  // supervisors
  ['startSupervisor(system, { children: "x" })', () => cortex.startSupervisor(system, { children: 'x' as never })],
  ['startSupervisor(undefined)', () => cortex.startSupervisor(undefined as never)],
  ['startChild(undefined, spec)', () => cortex.startChild(undefined as never, { id: 'x', start: () => system.spawn({ init: () => null }, undefined) })],
  ['backoffDelay({ initialMs: -1 }, 0)', () => cortex.backoffDelay({ initialMs: -1 }, 0)],
  ['backoffDelay({}, -1)', () => cortex.backoffDelay({}, -1)],
  ['recordRestart("x", 0, 3, 5)', () => cortex.recordRestart('x' as never, 0, 3, 5)],
  ['recordRestart([], 0, -1, 5)', () => cortex.recordRestart([], 0, -1, 5)],
  // registry
  ['startRegistry(undefined)', () => cortex.startRegistry(undefined as never)],
  ['register(undefined, ...)', () => cortex.register(undefined as never, 'a', new testing.MockWorker())],
  ['lookup(undefined, "a")', () => cortex.lookup(undefined as never, 'a')],
  // pool and dispatcher
  ['startWorkers({ workers: "x" })', () => cortex.startWorkers({ workers: 'x' as never })],
  ['startWorkers({ workers: [{}] })', () => cortex.startWorkers({ workers: [{} as never] })],
  ['startWorkers(5)', () => cortex.startWorkers(5 as never)],
  ['startWorkers({ healthTimeoutMs: Infinity })', () => cortex.startWorkers({ healthTimeoutMs: Number.POSITIVE_INFINITY })],
  ['startWorkers({ prefix: "" })', () => cortex.startWorkers({ prefix: '' })],
  ['startPool(system, { registry: undefined })', () => cortex.startPool(system, { registry: undefined as never })],
  ['poolStatus(undefined)', () => cortex.poolStatus(undefined as never)],
  ['checkHealth(undefined)', () => cortex.checkHealth(undefined as never)],
  ['new Dispatcher(undefined, "p")', () => new cortex.Dispatcher(undefined as never, 'p')],
  ['validateMessages(null)', () => cortex.validateMessages(null as never)],
  // adapters
  ['new DemoWorker({ delayMs: -1 })', () => new cortex.DemoWorker({ delayMs: -1 })],
  ['new DemoWorker(5)', () => new cortex.DemoWorker(5 as never)],
  ['new OllamaWorker({ timeoutMs: -1 })', () => new cortex.OllamaWorker({ timeoutMs: -1 })],
  ['new OpenAIWorker(undefined)', () => new cortex.OpenAIWorker(undefined as never)],
  // shared stores
  ['startWorkers({ store: "redis" })', () => cortex.startWorkers({ store: 'redis' as never })],
  ['startWorkers({ store: { kind: "redis", url: "http://x" } })', () => cortex.startWorkers({ store: { kind: 'redis', url: 'http://x' } })],
  ['startPool(system, { registry, shared: 5 })', () => cortex.startPool(system, { registry: {} as never, shared: 5 as never })],
  ['new RedisStore({ prefix: "a b" })', () => new cortex.RedisStore({ prefix: 'a b' })],
  ['new RedisStore({ timeoutMs: 0 })', () => new cortex.RedisStore({ timeoutMs: 0 })],
  ['new RedisStore({ leaseMs: -1 })', () => new cortex.RedisStore({ leaseMs: -1 })],
  ['new MemoryStore({ leaseMs: Infinity })', () => new cortex.MemoryStore({ leaseMs: Number.POSITIVE_INFINITY })],
  ['new MemoryStore({ now: 5 })', () => new cortex.MemoryStore({ now: 5 as never })],
  ['memoryStore.subscribe(5)', () => new cortex.MemoryStore().subscribe(5 as never)],
  ['parseConfig({ store: { kind: "redis", url: "x" } })', () => cortex.parseConfig({ workers: [{ kind: 'demo' }], store: { kind: 'redis', url: 'x' } })],
  ['collectMetrics(undefined)', () => metrics.collectMetrics(undefined as never)],
  ['collectMetrics({ system: 5 })', () => metrics.collectMetrics({ system: 5 } as never)],
  ['traceRequests(undefined)', () => tracing.traceRequests(undefined as never)],
  ['dashboardHandler(undefined)', () => dashboard.dashboardHandler(undefined as never)],
  ['dashboardHandler(w, { token: "short" })', () => dashboard.dashboardHandler({ system, dispatcher: { status: () => Promise.reject(new Error('x')) } } as never, { token: 'short' })],
  ['dashboardHandler(w, { intervalMs: 1 })', () => dashboard.dashboardHandler({ system, dispatcher: { status: () => Promise.reject(new Error('x')) } } as never, { intervalMs: 1 })],
  ['serveDashboard(w, { port: -1 })', () => dashboard.serveDashboard({ system, dispatcher: { status: () => Promise.reject(new Error('x')) } } as never, { port: -1 })],
  ['logEvents(system, { logger: {} })', () => cortex.logEvents(system, { logger: {} as never })],
  ['createGateway(undefined)', () => gateway.createGateway(undefined as never)],
  ['createGateway(w, { keys: ["short"] })', () => gateway.createGateway({ dispatcher: { dispatchStream: () => undefined } } as never, { keys: ['short'] })],
  ['serveGateway(w, { port: 70000 })', () => gateway.serveGateway({ dispatcher: { dispatchStream: () => undefined } } as never, { port: 70_000 })],
  ['rulesRouter("x")', () => cortex.rulesRouter('x' as never)],
  ['rulesRouter([{ tag: "" }])', () => cortex.rulesRouter([{ tag: '' }])],
  ['startWorkers({ route: 5 })', () => cortex.startWorkers({ route: 5 as never })],
  // config, logging
  ['parseConfig(null)', () => cortex.parseConfig(null)],
  ['loadConfig(42)', () => cortex.loadConfig(42 as never)],
  ['loadConfig("/nonexistent.json")', () => cortex.loadConfig('/nonexistent/cortex.json')],
  ['logEvents(undefined)', () => cortex.logEvents(undefined as never)],
  ['logEvents(system, { write: 5 })', () => cortex.logEvents(system, { write: 5 as never })],
  // testing helpers
  ['new MockWorker({ delayMs: -1 })', () => new testing.MockWorker({ delayMs: -1 })],
  ['withFaults(undefined, {})', () => testing.withFaults(undefined as never, {})],
  ['startFakeOllama({ script: 5 })', () => testing.startFakeOllama({ script: 5 as never })],
  ['startRedisServer({ bin: "/nonexistent" })', () => testing.startRedisServer({ bin: '/nonexistent/redis-server' })],
];

async function outcome(f: () => unknown): Promise<unknown> {
  try {
    const r = f();
    if (r instanceof Promise) await r;
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('public functions refuse bad arguments with a typed error', () => {
  it.each(cases)('%s', async (_name, f) => {
    const e = await outcome(f);
    expect(e, 'expected an error').toBeDefined();
    expect(cortex.isCortexError(e), `not a typed error: ${String(e)}`).toBe(true);
    expect(typeof (e as { code: unknown }).code).toBe('string');
  });
});
