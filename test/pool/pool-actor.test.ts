/**
 * The pool actor itself (`startPool` over a registry), on a simulated clock: its health rounds
 * (the first at start, then every interval; callers of `checkHealth` during a round share it),
 * the registry it follows, its queue (bounded, served when a slot or a rate window frees room),
 * circuit resets, and what `status()` says of its store.
 */
import { describe, expect, it } from 'vitest';
import { settle } from '../support/settle.js';
import {
  checkHealth,
  createSystem,
  isInvalidArgumentError,
  MemoryStore,
  poolStatus,
  register,
  SimulatedClock,
  startPool,
  startRegistry,
  stop,
  unregister,
  whenExited,
  WorkerError,
  type ActorSystem,
  type PoolOptions,
  type PoolRef,
  type RegistryRef,
} from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { checkoutNow, reportOutcome, reportRest, type Checkout, type CheckoutRequest, type Lease } from '../../src/pool/pool.js';

interface Setup {
  clock: SimulatedClock;
  system: ActorSystem;
  registry: RegistryRef;
  pool: PoolRef;
  workers: MockWorker[];
}

async function setup(workers: MockWorker[], options: PoolOptions & { shared?: MemoryStore } = {}): Promise<Setup> {
  const clock = new SimulatedClock();
  const system = createSystem({ clock });
  const registry = await startRegistry(system);
  for (const w of workers) await register(registry, w.info().name, w);
  const pool = await startPool(system, { registry, healthIntervalMs: 0, ...options });
  await settle();
  return { clock, system, registry, pool, workers };
}

const req = (r: Partial<CheckoutRequest> = {}): CheckoutRequest => ({ type: 'checkout', exclude: [], tokens: 1, priority: 0, ...r });

async function lease(s: Setup, r: Partial<CheckoutRequest> = {}): Promise<Lease> {
  const c = await checkoutNow(s.pool, req(r), 10_000, undefined);
  if (!c.ok) throw new Error(`no lease: ${JSON.stringify(c)}`);
  return c.lease;
}

/** Gives the lease's slot back and tells the pool, as an attempt does when its stream ends. */
function done(s: Setup, l: Lease): void {
  l.store.release(l.ticket, undefined, s.clock.now());
  reportOutcome(s.pool, l.name, { kind: 'success', firstChunkMs: 1, latencyMs: 2 });
}

describe('the pool actor', () => {
  it('refuses a missing registry and a shared store that is not one, by field', async () => {
    const system = createSystem();
    const field = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => (isInvalidArgumentError(e) ? e.field : e));
    expect(await field(startPool(system, { registry: null as never }))).toBe('registry');
    const registry = await startRegistry(system);
    expect(await field(startPool(system, { registry, shared: {} as never }))).toBe('shared');
    expect(await field(startPool(system, { registry, shared: null as never }))).toBe('shared');
  });

  it("says its strategy and its store: the pool's own memory, not shared", async () => {
    const s = await setup([new MockWorker({ name: 'a' })], { strategy: 'round_robin', maxQueue: 7 });
    expect(await poolStatus(s.pool)).toMatchObject({ strategy: 'round_robin', queued: 0, maxQueue: 7, store: { kind: 'memory', shared: false, degraded: false } });
  });

  it('checks health when it starts, then every healthIntervalMs', async () => {
    const w = new MockWorker({ name: 'a' });
    const s = await setup([w], { healthIntervalMs: 1_000 });
    expect(w.healthChecks).toBe(1);
    await s.clock.advance(999);
    expect(w.healthChecks).toBe(1);
    await s.clock.advance(1);
    expect(w.healthChecks).toBe(2);
    await s.clock.advance(1_000);
    expect(w.healthChecks).toBe(3);
  });

  it('with healthIntervalMs 0 it checks only when asked; callers during a round share it', async () => {
    const w = new MockWorker({ name: 'a', health: { status: 'busy', reason: 'loading' } });
    const s = await setup([w]);
    expect(w.healthChecks).toBe(0);
    const [one, two] = await Promise.all([checkHealth(s.pool), checkHealth(s.pool)]);
    expect(w.healthChecks).toBe(1);
    expect(one).toEqual(two);
    expect(one).toMatchObject([{ worker: 'a', health: { status: 'busy', reason: 'loading' } }]);
    expect((await poolStatus(s.pool)).workers[0]).toMatchObject({ health: 'busy', healthReason: 'loading' });
  });

  it('follows its registry: workers registered later are used, unregistered ones dropped', async () => {
    const s = await setup([new MockWorker({ name: 'a', priority: 20 })]);
    await register(s.registry, 'b', new MockWorker({ name: 'b', priority: 10 }));
    await settle();
    expect((await lease(s)).name).toBe('b');
    await unregister(s.registry, 'b');
    await settle();
    expect((await lease(s)).name).toBe('a');
    expect((await poolStatus(s.pool)).workers.map((w) => w.name)).toEqual(['a']);
  });

  it('exits when its registry does', async () => {
    const s = await setup([new MockWorker({ name: 'a' })]);
    await stop(s.registry);
    expect(await whenExited(s.pool)).toMatchObject({ error: { message: 'the registry exited' } });
  });

  it('queues a checkout when every worker is full, bounded by maxQueue; a request that must not wait is told at once', async () => {
    const s = await setup([new MockWorker({ name: 'a', limits: { maxConcurrent: 1 } })], { maxQueue: 1 });
    const first = await lease(s);
    const queued = checkoutNow(s.pool, req(), 10_000, undefined) as Promise<Checkout>;
    await settle();
    expect((await poolStatus(s.pool)).queued).toBe(1);
    expect(await checkoutNow(s.pool, req(), 10_000, undefined)).toEqual({ ok: false, kind: 'queue_full', maxQueue: 1, depth: 1 });
    expect(await checkoutNow(s.pool, req({ noWait: true }), 10_000, undefined)).toEqual({
      ok: false,
      kind: 'none',
      skipped: [{ worker: '(pool)', reason: 'no other worker has room now' }],
    });
    done(s, first);
    expect(await queued).toMatchObject({ ok: true, lease: { name: 'a' } });
  });

  it('serves a request queued behind a rate window when the window frees room, not before', async () => {
    const s = await setup([new MockWorker({ name: 'a', limits: { rpm: 1 } })]);
    done(s, await lease(s));
    let got: Checkout | undefined;
    void (checkoutNow(s.pool, req(), 120_000, undefined) as Promise<Checkout>).then((c) => (got = c));
    await s.clock.advance(59_999);
    expect(got).toBeUndefined();
    await s.clock.advance(1);
    expect(got).toMatchObject({ ok: true, lease: { name: 'a' } });
  });

  it('a rest reported by an attempt cools the worker down', async () => {
    const s = await setup([new MockWorker({ name: 'a' })]);
    reportRest(s.pool, 'a', 2_000, 'the backend said so');
    expect((await poolStatus(s.pool)).workers[0]).toMatchObject({ coolingDownMs: 2_000 });
    await s.clock.advance(2_000);
    expect((await poolStatus(s.pool)).workers[0]!.coolingDownMs).toBeUndefined();
  });

  it('a circuit opened by failures half-opens after circuitResetMs', async () => {
    const s = await setup([new MockWorker({ name: 'a' })], { failureThreshold: 1, circuitResetMs: 1_000 });
    const l = await lease(s);
    l.store.release(l.ticket, undefined, 0);
    reportOutcome(s.pool, 'a', { kind: 'failure', error: new WorkerError('a', 'http', 'HTTP 500', { status: 500 }) });
    expect((await poolStatus(s.pool)).workers[0]!.circuit).toBe('open');
    await s.clock.advance(999);
    expect((await poolStatus(s.pool)).workers[0]!.circuit).toBe('open');
    await s.clock.advance(1);
    expect((await poolStatus(s.pool)).workers[0]!.circuit).toBe('half_open');
  });

  it('with a shared store: admitted through it, its leases settled there, its circuit verdicts applied here', async () => {
    const shared = new MemoryStore({ now: () => 0 });
    try {
      const s = await setup([new MockWorker({ name: 'a', limits: { maxConcurrent: 1 } }), new MockWorker({ name: 'b', priority: 90 })], { shared, failureThreshold: 1 });
      expect((await poolStatus(s.pool)).store).toEqual({ kind: 'memory', shared: true, degraded: false });
      const first = await lease(s);
      expect(first.name).toBe('a');
      expect((await lease(s)).name).toBe('b'); // a is full cluster-wide
      first.store.release(first.ticket, undefined, 0);
      first.settle!({ kind: 'failure', error: new WorkerError('a', 'http', 'HTTP 500', { status: 500 }) }, undefined);
      reportOutcome(s.pool, 'a', { kind: 'failure', error: new WorkerError('a', 'http', 'HTTP 500', { status: 500 }) });
      await settle();
      expect((await poolStatus(s.pool)).workers.find((w) => w.name === 'a')!.circuit).toBe('open');
      expect((await lease(s)).name).toBe('b');
    } finally {
      await shared.close();
    }
  });
});
