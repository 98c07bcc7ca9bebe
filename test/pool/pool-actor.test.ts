/**
 * The pool actor itself (`startPool` over a registry), on a simulated clock: its health rounds
 * (the first at start, then every interval; callers of `checkHealth` during a round share it),
 * the registry it follows, its queue (bounded, served when a slot or a rate window frees room),
 * circuit resets, what `status()` says of its store, and the same with a shared store (one
 * that answers, one in trouble).
 *
 * Survivors of mutation testing left as equivalent: the guards around arming the `$wake` (an
 * extra or repeated wake-up only runs one more serving pass that finds nothing), the guard on
 * announcing a worker just added (it is always there), a `DOWN` from another actor than the
 * registry and an `EXIT` (the pool monitors only its registry and does not trap exits), its
 * `terminate` disposing circuits (opossum starts no timer in cortex's use), the type of the
 * `rest` cast (every cast that is not `released` is a rest), and, for a store that failed to
 * answer, how a request that then has to queue is answered (queued: its reply comes later
 * either way).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { settle } from '../support/settle.js';
import {
  checkHealth,
  createSystem,
  isCallTimeoutError,
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
  type InspectionEvent,
  type PoolOptions,
  type PoolRef,
  type RegistryRef,
  type StoreEvent,
} from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { checkoutNow, reportOutcome, reportRest } from '../../src/pool/pool.js';
import type { Checkout, CheckoutRequest, Lease } from '../../src/pool/types.js';

interface Setup {
  clock: SimulatedClock;
  system: ActorSystem;
  registry: RegistryRef;
  pool: PoolRef;
  workers: MockWorker[];
}

async function setup(workers: MockWorker[], options: PoolOptions & { shared?: MemoryStore } = {}, clock = new SimulatedClock()): Promise<Setup> {
  const system = createSystem({ clock });
  const registry = await startRegistry(system);
  for (const w of workers) await register(registry, w.info().name, w);
  const pool = await startPool(system, { registry, healthIntervalMs: 0, ...options });
  await settle();
  return { clock, system, registry, pool, workers };
}

const opened: MemoryStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** A simulated clock and two instances of one shared MemoryStore on its time (closed after the test). */
function cluster(): { clock: SimulatedClock; one: MemoryStore; two: MemoryStore } {
  const clock = new SimulatedClock();
  const one = new MemoryStore({ now: () => clock.now() });
  const two = one.peer();
  opened.push(one, two);
  return { clock, one, two };
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
    expect(await field(startPool(undefined as never, { registry: null as never }))).toBe('system');
    await expect(startPool(system, { registry: 5 as never })).rejects.toThrow('invalid registry: expected a RegistryRef from startRegistry, received 5');
    const registry = await startRegistry(system);
    expect(await field(startPool(system, { registry, shared: {} as never }))).toBe('shared');
    expect(await field(startPool(system, { registry, shared: null as never }))).toBe('shared');
    await expect(startPool(system, { registry, shared: 5 as never })).rejects.toThrow('invalid shared: expected a SharedStore (MemoryStore or RedisStore), received 5');
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

  it('checkHealth gives up after its own timeout, even while the round goes on', async () => {
    const s = await setup([new MockWorker({ name: 'a', hangHealth: true })], { healthTimeoutMs: 5_000 });
    let outcome: unknown;
    void checkHealth(s.pool, 1_000).then(
      () => (outcome = 'answered'),
      (e: unknown) => (outcome = e),
    );
    await s.clock.advance(1_000);
    expect(isCallTimeoutError(outcome)).toBe(true);
  });

  it('a rest reported by an attempt cools the worker down', async () => {
    const s = await setup([new MockWorker({ name: 'a' })]);
    const events: InspectionEvent[] = [];
    s.system.inspect((e) => e.type === 'pool.cooldown' && events.push(e));
    reportRest(s.pool, 'a', 2_000, 'the backend said so');
    expect((await poolStatus(s.pool)).workers[0]).toMatchObject({ coolingDownMs: 2_000 });
    expect(events).toEqual([{ type: 'pool.cooldown', worker: 'a', ms: 2_000, reason: 'the backend said so' }]);
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
    const { one: shared } = cluster();
    const s = await setup([new MockWorker({ name: 'a', limits: { maxConcurrent: 1 } }), new MockWorker({ name: 'b', priority: 90 })], { shared, failureThreshold: 1 });
    expect((await poolStatus(s.pool)).store).toEqual({ kind: 'memory', shared: true, degraded: false });
    const storeEvents: InspectionEvent[] = [];
    s.system.inspect((e) => e.type.startsWith('store.') && storeEvents.push(e));
    const first = await lease(s);
    expect(first.name).toBe('a');
    expect((await lease(s)).name).toBe('b'); // a is full cluster-wide
    first.store.release(first.ticket, undefined, 0);
    first.settle!({ kind: 'failure', error: new WorkerError('a', 'http', 'HTTP 500', { status: 500 }) }, undefined);
    reportOutcome(s.pool, 'a', { kind: 'failure', error: new WorkerError('a', 'http', 'HTTP 500', { status: 500 }) });
    await settle();
    expect((await poolStatus(s.pool)).workers.find((w) => w.name === 'a')!.circuit).toBe('open');
    expect((await lease(s)).name).toBe('b');
    expect(storeEvents).toEqual([]); // a store that works says nothing
  });
});

describe('the pool actor with a shared store', () => {
  const failure = () => ({ kind: 'failure' as const, error: new WorkerError('a', 'http', 'HTTP 500', { status: 500 }) });

  it('a request queued behind a worker full cluster-wide is served when the lease is settled', async () => {
    const { clock, one: shared } = cluster();
    const s = await setup([new MockWorker({ name: 'a', limits: { maxConcurrent: 1 } })], { shared }, clock);
    const first = await lease(s);
    let got: Checkout | undefined;
    void (checkoutNow(s.pool, req(), 10_000, undefined) as Promise<Checkout>).then((c) => (got = c));
    await settle();
    expect(got).toBeUndefined();
    first.settle!({ kind: 'success', firstChunkMs: 1, latencyMs: 2 }, undefined);
    done(s, first);
    await settle(10);
    expect(got).toMatchObject({ ok: true, lease: { name: 'a' } });
  });

  it("a request queued behind the cluster's rate window is served when the window frees room", async () => {
    const { clock, one: shared } = cluster();
    const s = await setup([new MockWorker({ name: 'a', limits: { rpm: 1 } })], { shared }, clock);
    const first = await lease(s);
    first.settle!({ kind: 'success', firstChunkMs: 1, latencyMs: 2 }, undefined);
    done(s, first);
    let got: Checkout | undefined;
    void (checkoutNow(s.pool, req(), 120_000, undefined) as Promise<Checkout>).then((c) => (got = c));
    await clock.advance(59_000);
    expect(got).toBeUndefined();
    await clock.advance(1_000);
    await settle(10);
    expect(got).toMatchObject({ ok: true, lease: { name: 'a' } });
  });

  it('an instance whose worker is configured differently is told which fields differ', async () => {
    const { clock, one, two } = cluster();
    await setup([new MockWorker({ name: 'a', limits: { maxConcurrent: 2 } })], { shared: one }, clock);
    const events: InspectionEvent[] = [];
    const clock2 = new SimulatedClock();
    const system2 = createSystem({ clock: clock2 });
    system2.inspect((e) => e.type === 'store.config_mismatch' && events.push(e));
    const registry2 = await startRegistry(system2);
    await register(registry2, 'a', new MockWorker({ name: 'a', limits: { maxConcurrent: 4 } }));
    await startPool(system2, { registry: registry2, healthIntervalMs: 0, shared: two });
    await settle(10);
    expect(events).toEqual([{ type: 'store.config_mismatch', worker: 'a', fields: ['maxConcurrent'] }]);
  });

  it("the cluster's consecutive failures open the circuit here, though this instance saw fewer", async () => {
    const { clock, one, two } = cluster();
    const a = await setup([new MockWorker({ name: 'a' })], { shared: one, failureThreshold: 2 }, clock);
    const b = await setup([new MockWorker({ name: 'a' })], { shared: two, failureThreshold: 2 }, clock);
    for (const s of [a, b]) {
      const l = await lease(s);
      l.settle!(failure(), undefined);
      l.store.release(l.ticket, undefined, clock.now());
      reportOutcome(s.pool, 'a', failure());
      await settle(10);
    }
    expect((await poolStatus(b.pool)).workers[0]).toMatchObject({ failures: 1, circuit: 'open' });
  });

  it('health is checked by one instance per interval, the others read it; checkHealth checks every worker itself', async () => {
    const { clock, one, two } = cluster();
    const wa = new MockWorker({ name: 'a', health: { status: 'busy', reason: 'loading' } });
    const wb = new MockWorker({ name: 'a', health: { status: 'busy', reason: 'loading' } });
    await setup([wa], { shared: one, healthIntervalMs: 10_000 }, clock);
    const b = await setup([wb], { shared: two, healthIntervalMs: 10_000 }, clock);
    expect([wa.healthChecks, wb.healthChecks]).toEqual([1, 0]);
    expect((await poolStatus(b.pool)).workers[0]).toMatchObject({ health: 'busy', healthReason: 'loading' });
    await checkHealth(b.pool);
    expect([wa.healthChecks, wb.healthChecks]).toEqual([1, 1]);
  });

  /** A MemoryStore seen through a store in trouble: `admit` fails, `degraded` as set, events sent by hand. */
  function troubled(store: MemoryStore, state: { degraded: boolean; admitFails: boolean; releaseFails?: boolean }) {
    const listeners: Array<(e: StoreEvent) => void> = [];
    const subscriptions = { open: 0 };
    const proxy = new Proxy(store, {
      get(target, key) {
        if (key === 'degraded') return state.degraded;
        if (key === 'admit' && state.admitFails) return () => Promise.reject(new Error('connection reset'));
        if (key === 'release' && state.releaseFails === true) return () => Promise.reject(new Error('connection reset'));
        if (key === 'subscribe')
          return (l: (e: StoreEvent) => void) => {
            listeners.push(l);
            subscriptions.open++;
            return () => subscriptions.open--;
          };
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    return { proxy, subscriptions, send: (e: StoreEvent) => listeners.forEach((l) => l(e)) };
  }

  it('a store that fails to answer: the request is decided here, not lost', async () => {
    const { clock, one: store } = cluster();
    const { proxy } = troubled(store, { degraded: false, admitFails: true });
    const s = await setup([new MockWorker({ name: 'a' })], { shared: proxy }, clock);
    expect((await lease(s)).name).toBe('a');
  });

  it('says when the store is degraded at start, and passes on its degraded and restored events', async () => {
    const { clock, one: store } = cluster();
    const trouble = { degraded: true, admitFails: false };
    const { proxy, send, subscriptions } = troubled(store, trouble);
    const events: InspectionEvent[] = [];
    const system = createSystem({ clock });
    system.inspect((e) => e.type.startsWith('store.') && events.push(e));
    const registry = await startRegistry(system);
    await register(registry, 'a', new MockWorker({ name: 'a' }));
    const pool = await startPool(system, { registry, healthIntervalMs: 0, shared: proxy });
    send({ type: 'freed', worker: 'a' }); // room elsewhere: not a change of the store's health
    send({ type: 'degraded', reason: 'timed out', code: 'timeout' });
    trouble.degraded = false;
    send({ type: 'restored' });
    await settle(10);
    expect(events).toEqual([
      { type: 'store.degraded', store: 'memory', reason: 'unreachable when the pool started', code: 'unreachable' },
      { type: 'store.degraded', store: 'memory', reason: 'timed out', code: 'timeout' },
      { type: 'store.restored', store: 'memory' },
    ]);
    expect((await poolStatus(pool)).store).toEqual({ kind: 'memory', shared: true, degraded: false });
    expect(subscriptions.open).toBe(1);
    await stop(pool);
    expect(subscriptions.open).toBe(0); // a stopped pool leaves no listener on the store
  });

  describe('when the store comes back', () => {
    /** Ends a lease as an attempt does: the slot back here, the shared lease settled, the pool told. */
    function end(s: Setup, l: Lease): void {
      l.store.release(l.ticket, undefined, s.clock.now());
      l.settle?.({ kind: 'success', firstChunkMs: 1, latencyMs: 2 }, undefined);
      reportOutcome(s.pool, l.name, { kind: 'success', firstChunkMs: 1, latencyMs: 2 });
    }
    /** Whether `s` could take a stream now (the slot it took is given back at once). */
    const room = async (s: Setup): Promise<boolean> => {
      const c = await checkoutNow(s.pool, req({ noWait: true }), 10_000, undefined);
      if (c.ok) end(s, c.lease);
      return c.ok;
    };

    it('replays the releases it missed, so their slots do not wait for the lease time', async () => {
      const { clock, one, two } = cluster();
      const trouble = { degraded: false, admitFails: false, releaseFails: false };
      const { proxy, send } = troubled(one, trouble);
      const a = await setup([new MockWorker({ name: 'w', limits: { maxConcurrent: 1 } })], { shared: proxy }, clock);
      const b = await setup([new MockWorker({ name: 'w', limits: { maxConcurrent: 1 } })], { shared: two }, clock);
      const l = await lease(a);
      Object.assign(trouble, { degraded: true, releaseFails: true });
      send({ type: 'degraded', reason: 'connection reset', code: 'unreachable' });
      end(a, l); // the store does not hear of it
      await settle(5);
      expect(await room(b)).toBe(false); // its slot is still held there
      Object.assign(trouble, { degraded: false, releaseFails: false });
      send({ type: 'restored' });
      await settle(5);
      expect(await room(b)).toBe(true);
    });

    it('announces the streams admitted alone meanwhile, so the cluster does not admit on top of them', async () => {
      const { clock, one, two } = cluster();
      const trouble = { degraded: true, admitFails: false };
      const { proxy, send } = troubled(one, trouble);
      const a = await setup([new MockWorker({ name: 'w', limits: { maxConcurrent: 2 } })], { shared: proxy }, clock);
      const b = await setup([new MockWorker({ name: 'w', limits: { maxConcurrent: 2 } })], { shared: two }, clock);
      const alone = [await lease(a), await lease(a)]; // decided here: the store is away
      expect(await room(b)).toBe(true); // the store does not know of them yet
      trouble.degraded = false;
      send({ type: 'restored' });
      await settle(5);
      expect(await room(b)).toBe(false); // announced: 2 of 2 in use across the cluster
      for (const l of alone) end(a, l);
      await settle(5);
      expect(await room(b)).toBe(true);
      expect((await one.counters(['w'])).get('w')).toMatchObject({ requests: 4, successes: 4 }); // a's two streams, and b's two looks
    });
  });
});

