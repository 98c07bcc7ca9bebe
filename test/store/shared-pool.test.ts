/**
 * Several instances, one view of the backends: trees that share a store (a real redis-server,
 * or a MemoryStore for pools of one process) hold one worker's limits, circuit and cool-downs
 * together. Each "instance" here is a tree with its own store connection, as a process has.
 */
import { describe, expect, it } from 'vitest';
import { useRedisServer } from '../support/redis.js';
import { useServers } from '../support/servers.js';
import {
  createSystem,
  parseConfig,
  isCortexError,
  MemoryStore,
  OllamaWorker,
  RedisStore,
  type DispatchOptions,
  type InspectionEvent,
  type Workers,
} from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const { ollama, start } = useServers();

const redis = useRedisServer();

let prefixes = 0;
/** A RedisStore of a new cluster (`fresh`) or of the last one. */
function redisStore(fresh: boolean, leaseMs = 5000): RedisStore {
  if (fresh) prefixes++;
  // A generous timeout: a loaded CI machine must not degrade the store in tests about sharing.
  return new RedisStore({ url: redis().url, prefix: `pool${prefixes}`, leaseMs, timeoutMs: 3000 });
}

async function ask(cortex: Workers, content: string, options: DispatchOptions = {}): Promise<{ text: string; error?: unknown }> {
  let text = '';
  try {
    for await (const c of cortex.dispatcher.dispatchStream([{ role: 'user', content }], options)) text += c.text;
    return { text };
  } catch (error) {
    return { text, error };
  }
}

describe('limits shared by instances', () => {
  it.each([
    ['a MemoryStore (one process)', () => new MemoryStore()],
    ['Redis', () => redisStore(true)],
  ] as const)('through %s: 3 instances x 40 requests on a backend that takes 2: it never sees more than 2', async (_name, make) => {
    const server = await ollama({ script: { chunks: ['a', 'b'], delayMs: 2 } });
    const first = make();
    const stores = [first, first instanceof MemoryStore ? first.peer() : redisStore(false), first instanceof MemoryStore ? first.peer() : redisStore(false)];
    const trees = await Promise.all(stores.map((store) => start([new OllamaWorker({ baseUrl: server.url, maxConcurrent: 2 })], { store })));
    const answers = await Promise.all(trees.flatMap(({ cortex }) => Array.from({ length: 40 }, (_, i) => ask(cortex, `q${i}`))));
    expect(answers.filter((a) => a.error === undefined && a.text === 'ab')).toHaveLength(120);
    expect(server.peakActive).toBe(2);
    const status = await trees[0]!.cortex.dispatcher.status();
    expect(status.store).toEqual({ kind: first.kind, shared: true, degraded: false });
    expect(status.workers[0]).toMatchObject({ inflight: 0 });
    expect((await first.counters(['ollama-local'])).get('ollama-local')).toMatchObject({ requests: 120, successes: 120 });
    for (const s of stores) await s.close();
  });
});

describe('circuits and cool-downs shared through Redis', () => {
  it('a circuit opened by one instance holds the worker back in the other; one trial runs cluster-wide, and its success closes it for both', async () => {
    let failing = true;
    const flaky = await ollama({ script: () => (failing ? { status: 500, errorMessage: 'model crashed' } : { chunks: ['ok'], delayMs: 30 }) });
    const backup = await ollama({ script: { chunks: ['backup'] } });
    const a = redisStore(true);
    const b = redisStore(false);
    const workers = (): OllamaWorker[] => [new OllamaWorker({ name: 'flaky', baseUrl: flaky.url, priority: 1 }), new OllamaWorker({ name: 'backup', baseUrl: backup.url, priority: 2 })];
    const opts = { failureThreshold: 2, circuitResetMs: 300 };
    const one = await start(workers(), { ...opts, store: a });
    const two = await start(workers(), { ...opts, store: b });
    await ask(one.cortex, 'x'); // flaky fails, backup answers
    await ask(one.cortex, 'y'); // the second consecutive failure opens the circuit
    expect(flaky.requests).toHaveLength(2);
    expect(await ask(two.cortex, 'z')).toEqual({ text: 'backup' }); // two never tried flaky
    expect(flaky.requests).toHaveLength(2);
    expect(two.events).toContainEqual({ type: 'pool.circuit_changed', worker: 'flaky', state: 'open' });
    failing = false;
    await new Promise((r) => setTimeout(r, 450)); // past the reset time
    const both = await Promise.all([ask(one.cortex, 'p'), ask(two.cortex, 'q'), ask(one.cortex, 'r'), ask(two.cortex, 's')]);
    expect(flaky.requests).toHaveLength(3); // exactly one trial, cluster-wide
    expect(both.map((x) => x.text).sort()).toEqual(['backup', 'backup', 'backup', 'ok']);
    expect(await ask(two.cortex, 't')).toEqual({ text: 'ok' }); // closed for everybody
    await a.close();
    await b.close();
  });

  it('a 429 seen by one instance rests the worker in all of them', async () => {
    let limited = true;
    const api = await ollama({ script: () => (limited ? { status: 429, errorMessage: 'slow down', retryAfter: '2' } : { chunks: ['fine'] }) });
    const backup = await ollama({ script: { chunks: ['backup'] } });
    const a = redisStore(true);
    const b = redisStore(false);
    const workers = (): OllamaWorker[] => [new OllamaWorker({ name: 'api', baseUrl: api.url, priority: 1 }), new OllamaWorker({ name: 'backup', baseUrl: backup.url, priority: 2 })];
    const one = await start(workers(), { store: a });
    const two = await start(workers(), { store: b });
    expect(await ask(one.cortex, 'x')).toEqual({ text: 'backup' });
    limited = false;
    expect(await ask(two.cortex, 'y')).toEqual({ text: 'backup' }); // two rests api too
    expect(api.requests).toHaveLength(1);
    expect(two.events).toContainEqual(expect.objectContaining({ type: 'pool.cooldown', worker: 'api', reason: 'rate limited (429)' }));
    expect((await two.cortex.dispatcher.status()).workers.find((w) => w.name === 'api')!.coolingDownMs).toBeGreaterThan(1000);
    await a.close();
    await b.close();
  });
});

describe('the response cache shared through Redis', () => {
  it('an answer one instance kept is replayed by the other without asking a worker; a store in trouble is a miss, never a failure', async () => {
    const server = await ollama({ script: { chunks: ['Par', 'is'] } });
    const a = redisStore(true);
    const b = redisStore(false);
    const worker = (): OllamaWorker[] => [new OllamaWorker({ name: 'w', baseUrl: server.url })];
    const one = await start(worker(), { store: a, cache: { ttlMs: 60_000 } });
    const two = await start(worker(), { store: b, cache: { ttlMs: 60_000 } });
    expect(await ask(one.cortex, 'capital of France?')).toEqual({ text: 'Paris' });
    await expect.poll(async () => (await ask(two.cortex, 'capital of France?')).text).toBe('Paris');
    expect(server.requests).toHaveLength(1); // the second instance never asked a worker
    expect(two.events.filter((e) => e.type === 'pool.cache_hit')).toHaveLength(1);
    const chunks = [];
    for await (const c of two.cortex.dispatcher.dispatchStream([{ role: 'user', content: 'capital of France?' }])) chunks.push(c);
    expect(chunks.map((c) => [c.text, c.cached, c.done])).toEqual([['Par', true, false], ['is', true, false], ['', true, true]]);
    await b.close(); // instance two's store is gone: its lookups are misses, its requests still answered
    expect(await ask(two.cortex, 'capital of France?')).toEqual({ text: 'Paris' });
    expect(server.requests).toHaveLength(2);
    await a.close();
  });
});

describe('health shared through Redis', () => {
  it('one instance checks a worker per interval; the others read its result', async () => {
    const a = redisStore(true);
    const b = redisStore(false);
    const checkedByA = new MockWorker({ name: 'w', health: { status: 'unavailable', reason: 'model not loaded' } });
    const checkedByB = new MockWorker({ name: 'w' });
    const one = await start([checkedByA], { store: a, healthIntervalMs: 60_000 });
    await expect.poll(async () => (await one.cortex.dispatcher.status()).workers[0]!.health).toBe('unavailable');
    const two = await start([checkedByB], { store: b, healthIntervalMs: 60_000 });
    await expect.poll(async () => (await two.cortex.dispatcher.status()).workers[0]).toMatchObject({ health: 'unavailable', healthReason: 'model not loaded' });
    expect([checkedByA.healthChecks, checkedByB.healthChecks]).toEqual([1, 0]);
    await a.close();
    await b.close();
  });
});

describe('an instance configured differently', () => {
  it('is told, with the fields that differ', async () => {
    const server = await ollama();
    const a = redisStore(true);
    const b = redisStore(false);
    await start([new OllamaWorker({ baseUrl: server.url, model: 'llama3.2', maxConcurrent: 2 })], { store: a });
    const two = await start([new OllamaWorker({ baseUrl: server.url, model: 'qwen3', maxConcurrent: 4 })], { store: b });
    await expect.poll(() => two.events.find((e) => e.type === 'store.config_mismatch')).toEqual({
      type: 'store.config_mismatch',
      worker: 'ollama-local',
      fields: ['maxConcurrent', 'model'],
    });
    await a.close();
    await b.close();
  });
});

describe('Redis trouble never takes requests down', () => {
  it('Redis stopped mid-run, then restarted: requests complete throughout; state is shared again after', async () => {
    const server = await ollama({ script: { chunks: ['a', 'b'], delayMs: 1 } });
    // Stopped Redis refuses connections at once: the store degrades on the closed connection, not
    // on a timeout, so a generous timeout keeps a loaded machine from degrading it before the stop.
    const store = new RedisStore({ url: redis().url, prefix: `restart${++prefixes}`, timeoutMs: 3000 });
    const { cortex, events } = await start([new OllamaWorker({ baseUrl: server.url, maxConcurrent: 2 })], { store });
    const results: Array<{ text: string; error?: unknown }> = [];
    const batch = async (): Promise<void> => {
      results.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => ask(cortex, `q${i}`)))));
    };
    await batch();
    await redis().stop();
    await batch();
    await batch();
    expect(events.filter((e): e is Extract<InspectionEvent, { type: 'store.degraded' }> => e.type === 'store.degraded')).toHaveLength(1);
    expect((await cortex.dispatcher.status()).store).toEqual({ kind: 'redis', shared: true, degraded: true, trouble: 'unreachable', troubleReason: expect.stringMatching(/connection/) });
    expect(server.peakActive).toBeLessThanOrEqual(2); // limits held per instance meanwhile
    await redis().restart();
    await expect.poll(() => events.some((e) => e.type === 'store.restored'), { timeout: 5000 }).toBe(true);
    await batch();
    expect(results).toHaveLength(40);
    expect(results.filter((r) => r.error !== undefined).map((r) => (isCortexError(r.error) ? r.error.code : String(r.error)))).toEqual([]);
    expect((await cortex.dispatcher.status()).store.degraded).toBe(false);
    expect((await store.counters(['ollama-local'])).get('ollama-local')?.requests).toBe(10); // shared again (Redis came back empty)
    await store.close();
  });

  it('starts from a config file\'s store and serves when Redis is not there at all; its password shows nowhere', async () => {
    const server = await ollama();
    const system = createSystem();
    const events: InspectionEvent[] = [];
    system.inspect((e) => events.push(e));
    const url = 'redis://app:s3cret-pass@127.0.0.1:1';
    const { cortex } = await start([new OllamaWorker({ baseUrl: server.url })], { system, store: parseConfig({ workers: [{ kind: 'demo' }], store: { kind: 'redis', url, timeoutMs: 50 } }).store });
    expect((await ask(cortex, 'hi')).error).toBeUndefined();
    expect((await cortex.dispatcher.status()).store).toMatchObject({ kind: 'redis', shared: true, degraded: true, trouble: 'unreachable' });
    expect(events).toContainEqual({ type: 'store.degraded', store: 'redis', code: 'unreachable', reason: 'no connection to 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)' });
    expect(JSON.stringify(events.filter((e) => e.type.startsWith('store.')))).not.toContain('s3cret');
    const probe = new RedisStore({ url });
    expect(probe.server).toBe('127.0.0.1:1'); // never the credentials
    await probe.close();
    await cortex.stop();
    await system.shutdown();
  });
});
