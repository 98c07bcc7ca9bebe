/**
 * The pool's state and decisions (`PoolState`), alone: no actor, a simulated clock, the memory
 * admission store. What a worker's `info()` says and how it is read, why each worker was skipped
 * (the reasons `NoWorkersAvailableError` carries), how an outcome changes a worker, health,
 * cool-downs, routes and capabilities, the shared store's plan, holds and verdicts, and every
 * `status()` field.
 *
 * Survivors of mutation testing left as equivalent (the same decisions, only more work or a
 * cache bypassed): rebuilding the eligible set when nothing changed (`#dirty`, the cool-down
 * expiry check, `lacking` computed when no worker declares a context length, the route cache
 * not kept or not narrowed, `lacking` or the route wrapped when empty); telling a strategy that
 * does not listen of load changes (its optional method is absent); marking a trial or closing
 * a circuit that is already in that state (the circuit ignores it and emits nothing); the
 * guards of the optional fields of a lease and of an alias for a request without a route;
 * the dispose of circuits (opossum holds no timer in cortex's use); a replaced worker's old
 * circuit not disposed; the `reason` of an `available` health change (it has none); a limits
 * field name in an error that is swallowed (a worker whose limits throw is unlimited);
 * counting a first chunk's time for a failure's own circuit count (`failed()` before `trip()`
 * on a bad key: the cool-down's reason is shown first); `nextFree` asked of a worker without
 * rate limits (Infinity either way); the `'not eligible'` fallback (no path reaches it: each
 * worker left out has a reason above it).
 */
import { describe, expect, it } from 'vitest';
import { MemoryAdmissionStore, SimulatedClock, WorkerError, localFirst, type InspectionEvent, type LlmWorker, type WorkerInfo, type WorkerLimits } from '../../src/index.js';
import { EventStream } from '../../src/runtime/inspection.js';
import { PoolState } from '../../src/pool/pool-state.js';
import { Selection } from '../../src/pool/selection.js';
import { resolvePoolOptions, type ResolvedPoolOptions } from '../../src/pool/options.js';
import type { CheckoutRequest, Checkout } from '../../src/pool/types.js';
import type { SelectionStrategy } from '../../src/pool/strategies.js';

const OPTIONS: ResolvedPoolOptions = resolvePoolOptions({ maxQueue: 10 }).pool;

interface Spec {
  name: string;
  priority?: number | (() => number);
  info?: Partial<WorkerInfo> | (() => WorkerInfo);
  limits?: WorkerLimits | (() => WorkerLimits);
}

function worker(spec: Spec): LlmWorker {
  const info = spec.info;
  const priority = spec.priority;
  return {
    healthCheck: async () => ({ status: 'available' }),
    streamCompletion: async () => (async function* () {})(),
    info: typeof info === 'function' ? info : () => ({ name: spec.name, kind: 'mock', models: ['m1'], ...info }),
    priority: typeof priority === 'function' ? priority : () => priority ?? 10,
    ...(spec.limits !== undefined ? { limits: typeof spec.limits === 'function' ? spec.limits : () => spec.limits as WorkerLimits } : {}),
  };
}

function harness(specs: Spec[], options: Partial<ResolvedPoolOptions> = {}, strategy: SelectionStrategy<never> = localFirst as never) {
  const clock = new SimulatedClock();
  const events = new EventStream<InspectionEvent>();
  const seen: InspectionEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const opened: string[] = [];
  const store = new MemoryAdmissionStore();
  const state = new PoolState(
    { clock, events, options: { ...OPTIONS, ...options }, store, circuitOpened: (name) => opened.push(name) },
    new Selection(strategy as SelectionStrategy<unknown>),
  );
  const workers = new Map<string, LlmWorker>();
  for (const s of specs) {
    const w = worker(s);
    workers.set(s.name, w);
    state.add({ name: s.name, worker: w });
  }
  const req = (r: Partial<CheckoutRequest> = {}): CheckoutRequest => ({ type: 'checkout', exclude: [], tokens: 1, priority: 0, ...r });
  const status = (name: string) => state.snapshot(0).workers.find((w) => w.name === name)!;
  return { clock, seen, opened, store, state, workers, req, status };
}

/** The worker a checkout lent, or the reasons it gave. */
function outcome(c: Checkout | 'full'): string | 'full' | Array<[string, string]> {
  if (c === 'full') return 'full';
  if (c.ok) return c.lease.name;
  if (c.kind === 'none') return c.skipped.map((s) => [s.worker, s.reason]);
  return 'queue_full';
}

const fail = (name: string, kind: ConstructorParameters<typeof WorkerError>[1], message = 'boom', details = {}) => ({
  kind: 'failure' as const,
  error: new WorkerError(name, kind, message, details),
});

describe('PoolState: reading a worker', () => {
  it("takes kind, model, tags, capabilities, priority and limits from the worker, and safe defaults when they are bad", () => {
    const { status } = harness([
      { name: 'good', priority: 5, info: { kind: 'ollama', models: ['llama3.2', 'other'], tags: ['fast', 3 as never, 'local'] }, limits: { maxConcurrent: 2, rpm: 10 } },
      { name: 'throws', info: () => { throw new Error('no info'); }, priority: () => { throw new Error('no priority'); }, limits: () => { throw new Error('no limits'); } },
      { name: 'odd', info: { kind: 7 as never, models: [42 as never], tags: 'fast' as never }, priority: Number.NaN },
    ]);
    expect(status('good')).toMatchObject({ kind: 'ollama', model: 'llama3.2', tags: ['fast', 'local'], priority: 5, limits: { maxConcurrent: 2, rpm: 10 }, window: { requests: 0, tokens: 0 } });
    // Strictly: a field that does not apply is absent, not present as undefined.
    expect(status('throws')).toStrictEqual({ name: 'throws', kind: 'unknown', priority: 100, health: 'unknown', circuit: 'closed', inflight: 0, successes: 0, failures: 0 });
    expect(status('odd')).toStrictEqual({ name: 'odd', kind: 'unknown', priority: 100, health: 'unknown', circuit: 'closed', inflight: 0, successes: 0, failures: 0 });
  });

  it('a worker without tags lists none; its name and model are routes, not tags', () => {
    const { status } = harness([{ name: 'a' }, { name: 'b', info: { models: [] } }, { name: 'c', info: { models: [], tags: ['fast'] } }]);
    expect(status('c').tags).toEqual(['fast']);
    expect(status('a').tags).toBeUndefined();
    expect(status('a').model).toBe('m1');
    expect(status('b').model).toBeUndefined();
    expect(status('b').tags).toBeUndefined();
  });

  it('adding the same worker again changes nothing; a new worker under the name starts afresh', () => {
    const { state, status, workers, req } = harness([{ name: 'a' }]);
    state.released('a', fail('a', 'http'));
    state.add({ name: 'a', worker: workers.get('a')! });
    expect(status('a').failures).toBe(1);
    state.add({ name: 'a', worker: worker({ name: 'a' }) });
    expect(status('a').failures).toBe(0);
    expect(outcome(state.checkout(req()))).toBe('a');
  });

  it('a removed worker is neither picked nor listed; removing it twice is harmless', () => {
    const { state, req } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }]);
    expect(outcome(state.checkout(req()))).toBe('a');
    state.remove('a');
    state.remove('a');
    expect(outcome(state.checkout(req()))).toBe('b');
    expect(state.snapshot(3)).toMatchObject({ strategy: 'local_first', queued: 3, maxQueue: 10, workers: [{ name: 'b' }] });
  });
});

describe('PoolState: membership and routes', () => {
  it('a worker without models or with capabilities null is read safely', () => {
    const { state, req, status } = harness([
      { name: 'bare', info: () => ({ name: 'bare', kind: 'x' }) as unknown as WorkerInfo },
      { name: 'nulls', info: { capabilities: null as never } },
    ]);
    expect(status('bare').model).toBeUndefined();
    expect(outcome(state.checkout(req({ needs: ['tools'] })))).toEqual([
      ['bare', 'does not support tools'],
      ['nulls', 'does not support tools'],
    ]);
  });

  it('a route follows workers that join and leave after it was first used', () => {
    const { state, req } = harness([{ name: 'a', info: { tags: ['chat'] } }, { name: 'b' }]);
    expect(outcome(state.checkout(req({ route: 'chat', strict: true })))).toBe('a');
    state.add({ name: 'c', worker: worker({ name: 'c', priority: 1, info: { tags: ['chat'] } }) });
    expect(outcome(state.checkout(req({ route: 'chat', strict: true })))).toBe('c');
    state.remove('b');
    state.remove('c');
    expect(outcome(state.checkout(req({ route: 'chat', strict: true })))).toBe('a');
  });

  it('a context length is checked when every worker declares one', () => {
    const { state, req } = harness([{ name: 'small', info: { capabilities: { contextLength: 10 } } }]);
    expect(outcome(state.checkout(req({ tokens: 11 })))).toEqual([['small', 'context of 10 tokens is too small for about 11']]);
  });

  it('busy workers are tried in priority order', () => {
    const { state, req } = harness([{ name: 'x', priority: 20 }, { name: 'y', priority: 10 }, { name: 'ok', priority: 1 }]);
    state.applyHealth([
      { worker: 'x', health: { status: 'busy', reason: 'deep queue' }, ms: 1 },
      { worker: 'y', health: { status: 'busy', reason: 'deep queue' }, ms: 1 },
    ]);
    expect(outcome(state.checkout(req({ exclude: ['ok'] })))).toBe('y');
  });
});

describe('PoolState: why a worker was skipped', () => {
  it('tried, cooling, open, trial in flight, unavailable: each says so, and a tried one is not listed', () => {
    const { state, req, clock } = harness(['tried', 'cool', 'open', 'trial', 'down', 'busy'].map((name) => ({ name })));
    state.released('cool', fail('cool', 'rate_limited', '429', { retryAfterMs: 2_500 }));
    for (let i = 0; i < 3; i++) state.released('open', fail('open', 'http', 'HTTP 500'));
    for (let i = 0; i < 3; i++) state.released('trial', fail('trial', 'http'));
    state.halfOpen('trial');
    expect(outcome(state.checkout(req({ exclude: ['tried', 'cool', 'open', 'down', 'busy'] })))).toBe('trial');
    state.applyHealth([
      { worker: 'down', health: { status: 'unavailable', reason: 'connection refused' }, ms: 1 },
      { worker: 'busy', health: { status: 'busy', reason: 'model loading' }, ms: 1 },
    ]);
    clock.now(); // no time passes
    expect(outcome(state.checkout(req({ exclude: ['tried', 'busy'] })))).toEqual([
      ['cool', 'rate limited (429); cooling down for 2500 ms'],
      ['open', 'circuit open after 3 consecutive failures (last: worker open: HTTP 500)'],
      ['trial', 'circuit half-open, trial request in flight'],
      ['down', 'unavailable: connection refused'],
    ]);
  });

  it('a busy worker is tried when nothing else is left, and named busy when it cannot be', () => {
    const { state, req } = harness([{ name: 'a' }, { name: 'slow' }]);
    state.applyHealth([{ worker: 'slow', health: { status: 'busy', reason: 'queue deep' }, ms: 1 }]);
    expect(outcome(state.checkout(req({ exclude: ['a'] })))).toBe('slow');
    state.released('slow', { kind: 'cancelled' });
    for (let i = 0; i < 3; i++) state.released('slow', fail('slow', 'http'));
    expect(outcome(state.checkout(req({ exclude: ['a'] })))).toEqual([['slow', 'circuit open after 3 consecutive failures (last: worker slow: boom)']]);
  });

  it('a capability a request needs, or a context too small, is the reason; a route leaves the others unlisted', () => {
    const { state, req } = harness([
      { name: 'plain', info: { tags: ['chat'] } },
      { name: 'small', info: { tags: ['chat'], capabilities: { tools: true, contextLength: 100 } } },
      { name: 'other', info: { tags: ['code'] } },
    ]);
    expect(outcome(state.checkout(req({ route: 'chat', needs: ['tools'], tokens: 500 })))).toEqual([
      ['plain', 'does not support tools'],
      ['small', 'context of 100 tokens is too small for about 500'],
    ]);
    expect(outcome(state.checkout(req({ route: 'chat', needs: ['images'] })))).toEqual([
      ['plain', 'does not support images'],
      ['small', 'does not support images'],
    ]);
    expect(outcome(state.checkout(req({ needs: ['jsonSchema'], exclude: ['other'] })))).toEqual([
      ['plain', 'does not support a JSON schema response format'],
      ['small', 'does not support a JSON schema response format'],
    ]);
    expect(outcome(state.checkout(req({ route: 'chat', needs: ['tools'], tokens: 100 })))).toBe('small');
  });

  it('a context length is checked even when the request needs no capability', () => {
    const { state, req } = harness([{ name: 'small', priority: 1, info: { capabilities: { contextLength: 10 } } }, { name: 'big', priority: 2 }]);
    expect(outcome(state.checkout(req({ tokens: 11 })))).toBe('big');
    expect(outcome(state.checkout(req({ tokens: 10 })))).toBe('small');
    state.remove('small');
    expect(outcome(state.checkout(req({ tokens: 11 })))).toBe('big');
  });

  it('a strict route that no worker carries is a routing error; a model nobody lists is passed on', () => {
    const { state, req } = harness([{ name: 'a', info: { tags: ['chat'] } }]);
    expect(outcome(state.checkout(req({ route: 'vision', strict: true })))).toEqual([['(routing)', 'no worker carries the tag or name "vision"']]);
    expect(outcome(state.checkout(req({ route: 'gpt-x' })))).toBe('a');
    expect(state.plan(req({ route: 'vision', strict: true }))).toEqual({ kind: 'none', skipped: [{ worker: '(routing)', reason: 'no worker carries the tag or name "vision"' }] });
  });

  it('a route by tag or name is aliased (the worker answers with its own model); by its model it is not', () => {
    const { state, req } = harness([{ name: 'a', info: { tags: ['chat'], models: ['llama'] } }, { name: 'b', priority: 20, info: { tags: ['code'] } }]);
    const lease = (r: Partial<CheckoutRequest>) => {
      const c = state.checkout(req(r));
      if (c === 'full' || !c.ok) throw new Error('no lease');
      return [c.lease.name, c.lease.aliased];
    };
    expect(lease({ route: 'chat' })).toEqual(['a', true]);
    expect(lease({ route: 'a' })).toEqual(['a', true]);
    expect(lease({ route: 'llama' })).toEqual(['a', false]);
    expect(lease({})).toEqual(['a', false]);
    expect(lease({ route: 'code' })).toEqual(['b', true]);
  });
});

describe('PoolState: outcomes', () => {
  it('a success counts, and keeps its times; a failure counts with its error and its first chunk time', () => {
    const { state, status } = harness([{ name: 'a' }]);
    state.released('a', { kind: 'success', firstChunkMs: 40, latencyMs: 300 });
    expect(status('a')).toMatchObject({ successes: 1, failures: 0, firstChunkMs: 40, latencyMs: 300 });
    state.released('a', { ...fail('a', 'idle_timeout', 'silent for 5000 ms'), firstChunkMs: 70 });
    expect(status('a')).toMatchObject({ successes: 1, failures: 1, lastError: 'worker a: silent for 5000 ms', firstChunkMs: 70, circuit: 'closed' });
    state.released('a', fail('a', 'connection', 'refused')); // no first chunk: the last one known stays
    expect(status('a')).toMatchObject({ failures: 2, firstChunkMs: 70 });
    state.released('a', { kind: 'cancelled' });
    expect(status('a')).toMatchObject({ successes: 1, failures: 2 });
    state.released('ghost', { kind: 'cancelled' }); // a worker that left meanwhile
  });

  it("a 429 rests the worker for the backend's Retry-After, or the default; it is not a failure", () => {
    const { state, status, clock, seen } = harness([{ name: 'a' }]);
    state.released('a', fail('a', 'rate_limited', '429', { retryAfterMs: 5_000 }));
    expect(status('a')).toMatchObject({ coolingDownMs: 5_000, failures: 0, circuit: 'closed' });
    expect(seen).toContainEqual({ type: 'pool.cooldown', worker: 'a', ms: 5_000, reason: 'rate limited (429)' });
    void clock;
    const other = harness([{ name: 'b' }]);
    other.state.released('b', fail('b', 'rate_limited', '429'));
    expect(other.status('b').coolingDownMs).toBe(1_000);
  });

  it('a bad key or an exhausted quota takes the worker out for disableMs and opens its circuit', () => {
    const { state, status, opened } = harness([{ name: 'key' }, { name: 'quota' }, { name: 'missing' }]);
    state.released('key', fail('key', 'auth', 'HTTP 401', { status: 401 }));
    state.released('quota', fail('quota', 'quota', 'insufficient_quota', { status: 429 }));
    state.released('missing', fail('missing', 'auth', 'set GROQ_API_KEY'));
    expect(status('key')).toMatchObject({ circuit: 'open', coolingDownMs: 300_000, failures: 1 });
    expect(status('quota')).toMatchObject({ circuit: 'open', coolingDownMs: 300_000 });
    expect(opened).toEqual(['key', 'quota', 'missing']);
    const { state: s2, req } = harness([{ name: 'key' }, { name: 'quota' }, { name: 'missing' }]);
    s2.released('key', fail('key', 'auth', 'HTTP 401', { status: 401 }));
    s2.released('quota', fail('quota', 'quota', 'insufficient_quota', { status: 429 }));
    s2.released('missing', fail('missing', 'auth', 'set GROQ_API_KEY'));
    expect(outcome(s2.checkout(req()))).toEqual([
      ['key', 'rejected credentials (HTTP 401); cooling down for 300000 ms'],
      ['quota', 'quota exhausted; cooling down for 300000 ms'],
      ['missing', 'set GROQ_API_KEY; cooling down for 300000 ms'],
    ]);
  });

  it('the circuit opens at the threshold of consecutive failures, once; only an opening schedules a reset', () => {
    const { state, status, opened, seen } = harness([{ name: 'a' }], { failureThreshold: 2 });
    state.released('a', fail('a', 'http'));
    expect([status('a').circuit, opened]).toEqual(['closed', []]);
    state.released('a', fail('a', 'http'));
    expect([status('a').circuit, opened]).toEqual(['open', ['a']]);
    state.halfOpen('a');
    state.released('a', { kind: 'success', firstChunkMs: 1, latencyMs: 1 });
    expect([status('a').circuit, opened]).toEqual(['closed', ['a']]);
    expect(seen.filter((e) => e.type === 'pool.circuit_changed').map((e) => e.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('a half-open worker takes one trial; its success closes the circuit and it is picked again', () => {
    const { state, req, status } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }], { failureThreshold: 1 });
    state.released('a', fail('a', 'http'));
    expect(outcome(state.checkout(req()))).toBe('b');
    state.halfOpen('a');
    expect(outcome(state.checkout(req()))).toBe('a'); // the trial
    expect(outcome(state.checkout(req()))).toBe('b'); // nobody else meanwhile
    state.released('a', { kind: 'success', firstChunkMs: 1, latencyMs: 2 });
    expect(status('a').circuit).toBe('closed');
    expect(outcome(state.checkout(req()))).toBe('a');
  });

  it('a trial answered with a 429 frees the trial: after the cool-down the worker may be tried again', async () => {
    const { state, req, clock } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }], { failureThreshold: 1 });
    state.released('a', fail('a', 'http'));
    state.halfOpen('a');
    expect(outcome(state.checkout(req()))).toBe('a');
    state.released('a', fail('a', 'rate_limited', '429', { retryAfterMs: 100 }));
    await clock.advance(100);
    expect(outcome(state.checkout(req()))).toBe('a');
  });

  it('tells the strategy how each attempt went, failures with their first chunk time when one came', () => {
    const samples: unknown[] = [];
    const recording: SelectionStrategy<null> = { name: 'rec', prepare: () => null, pick: () => undefined, observed: (_s, name, x) => samples.push([name, x]) };
    const { state } = harness([{ name: 'a' }], {}, recording as never);
    state.released('a', { kind: 'success', firstChunkMs: 5, latencyMs: 9 });
    state.released('a', { ...fail('a', 'idle_timeout'), firstChunkMs: 7 });
    state.released('a', fail('a', 'connection'));
    state.released('a', { kind: 'cancelled' });
    expect(samples).toStrictEqual([
      ['a', { ok: true, firstChunkMs: 5, latencyMs: 9 }],
      ['a', { ok: false, firstChunkMs: 7 }],
      ['a', { ok: false }],
    ]);
  });

  it('a cancelled trial lets the next request be the trial', () => {
    const { state, req } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }], { failureThreshold: 1 });
    state.released('a', fail('a', 'http'));
    state.halfOpen('a');
    expect(outcome(state.checkout(req()))).toBe('a');
    state.released('a', { kind: 'cancelled' });
    expect(outcome(state.checkout(req()))).toBe('a');
  });

  it("a stale reset timer (an earlier opening, or a replaced worker's circuit) does not half-open", () => {
    const { state, req, status } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }], { failureThreshold: 1 });
    const circuitOf = () => (state.slots.get('a')!.circuit);
    state.released('a', fail('a', 'http'));
    const first = circuitOf();
    const firstOpens = first.opens;
    state.halfOpen('a', {}, firstOpens); // another circuit object
    expect(status('a').circuit).toBe('open');
    state.halfOpen('a', first, firstOpens + 1); // a later opening's timer, not this one's
    expect(status('a').circuit).toBe('open');
    state.halfOpen('a', first, firstOpens);
    expect(status('a').circuit).toBe('half_open');
    expect(outcome(state.checkout(req()))).toBe('a');
    state.halfOpen('ghost');
  });
});

describe('PoolState: cool-downs and rate windows', () => {
  it('a shorter rest does not cut a longer one; the worker comes back when it ends', async () => {
    const { state, req, clock, seen, status } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }]);
    state.rest('a', 10_000, 'backend asked');
    state.rest('a', 1_000, 'a shorter one');
    expect(status('a')).toMatchObject({ coolingDownMs: 10_000 });
    state.rest('a', 10_000, 'the same again');
    expect(seen.filter((e) => e.type === 'pool.cooldown')).toHaveLength(1);
    expect(outcome(state.checkout(req()))).toBe('b');
    expect(state.nextChange(clock.now())).toBe(10_000);
    await clock.advance(9_999);
    expect(outcome(state.checkout(req()))).toBe('b');
    await clock.advance(1);
    expect(outcome(state.checkout(req()))).toBe('a');
    expect(status('a').coolingDownMs).toBeUndefined();
    state.rest('ghost', 1, 'x');
  });

  it('a rest that extends a cool-down replaces its reason and length', () => {
    const { state, status } = harness([{ name: 'a' }]);
    state.rest('a', 1_000, 'first');
    state.rest('a', 2_000, 'second');
    expect(status('a').coolingDownMs).toBe(2_000);
  });

  it('the time left of a cool-down is counted from now; an ended one is no reason', async () => {
    const { state, req, clock } = harness([{ name: 'a' }], { failureThreshold: 1 });
    state.rest('a', 2_500, 'backend asked');
    await clock.advance(500);
    expect(outcome(state.checkout(req()))).toEqual([['a', 'backend asked; cooling down for 2000 ms']]);
    await clock.advance(2_000);
    state.released('a', fail('a', 'http'));
    expect(outcome(state.checkout(req()))).toEqual([['a', 'circuit open after 1 consecutive failures (last: worker a: boom)']]);
  });

  it('nextChange: when a rate window or a cool-down next frees a worker', () => {
    const { state, req, clock } = harness([{ name: 'r', limits: { rpm: 1 } }, { name: 'plain' }]);
    expect(state.nextChange(0)).toBe(Infinity);
    expect(outcome(state.checkout(req({ exclude: ['plain'] })))).toBe('r');
    expect(state.nextChange(clock.now())).toBe(60_000);
    expect(outcome(state.checkout(req({ exclude: ['plain'] })))).toBe('full');
  });

  it('status shows the limits, the window and the in-flight count', () => {
    const { state, req, status } = harness([{ name: 'a', limits: { maxConcurrent: 2, tpm: 1000 } }, { name: 'c', limits: { maxConcurrent: 1 } }]);
    state.checkout(req({ tokens: 30 }));
    expect(status('a')).toMatchObject({ inflight: 1, limits: { maxConcurrent: 2, tpm: 1000 }, window: { requests: 1, tokens: 30 } });
    expect(status('c').limits).toEqual({ maxConcurrent: 1 });
    expect(status('c').window).toBeUndefined();
  });
});

describe('PoolState: health', () => {
  it('reports each change once, with its reason; the same status again is no event', () => {
    const { state, seen, status } = harness([{ name: 'a' }]);
    const report = (health: { status: 'available' } | { status: 'unavailable' | 'busy'; reason: string }) => state.applyHealth([{ worker: 'a', health, ms: 1 }, { worker: 'ghost', health, ms: 1 }]);
    report({ status: 'unavailable', reason: 'refused' });
    report({ status: 'unavailable', reason: 'refused again' });
    expect(status('a')).toMatchObject({ health: 'unavailable', healthReason: 'refused again' });
    report({ status: 'available' });
    expect(status('a').healthReason).toBeUndefined();
    expect(seen.filter((e) => e.type === 'pool.health_changed')).toEqual([
      { type: 'pool.health_changed', worker: 'a', from: 'unknown', to: 'unavailable', reason: 'refused' },
      { type: 'pool.health_changed', worker: 'a', from: 'unavailable', to: 'available', reason: undefined },
    ]);
  });

  it('a passing check lets an open circuit try early (half-open), never closes it', () => {
    const { state, status } = harness([{ name: 'a' }], { failureThreshold: 1 });
    state.released('a', fail('a', 'http'));
    state.applyHealth([{ worker: 'a', health: { status: 'busy', reason: 'x' }, ms: 1 }]);
    expect(status('a').circuit).toBe('open');
    state.applyHealth([{ worker: 'a', health: { status: 'available' }, ms: 1 }]);
    expect(status('a').circuit).toBe('half_open');
  });
});

describe('PoolState: with a shared store', () => {
  it('plans every worker a request may go to, with its limits', () => {
    const { state, req } = harness([{ name: 'a', priority: 1, limits: { rpm: 5 } }, { name: 'b', priority: 2 }]);
    expect(state.plan(req())).toEqual({
      kind: 'plan',
      candidates: [
        { name: 'a', limits: { maxConcurrent: Infinity, rpm: 5, tpm: Infinity } },
        { name: 'b', limits: { maxConcurrent: Infinity, rpm: Infinity, tpm: Infinity } },
      ],
    });
    expect(state.plan(req({ exclude: ['a', 'b'] }))).toEqual({ kind: 'none', skipped: [] });
    const waiting = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }], { overflow: 'wait' });
    expect(waiting.state.plan(waiting.req())).toMatchObject({ kind: 'plan', candidates: [{ name: 'a' }] }); // never a worse tier
    state.rest('a', 100, 'held');
    expect(state.plan(req({ exclude: ['b'] }))).toEqual({ kind: 'none', skipped: [{ worker: 'a', reason: 'held; cooling down for 100 ms', retryAfterMs: 100 }] });
  });

  it('lends what the store admitted, counted here; a trial half-opens the circuit even if this instance saw it closed', () => {
    const { state, req, status } = harness([{ name: 'a', priority: 1 }, { name: 'b', priority: 2 }]);
    expect(state.lendShared('ghost', req(), false, async () => {})).toBeUndefined();
    expect(state.plan(req())).toMatchObject({ kind: 'plan' }); // as the pool does: plan, the store admits, then lend
    const c = state.lendShared('a', req({ percentile: 0.5 }), true, async () => {});
    expect(c).toMatchObject({ ok: true, lease: { name: 'a', alternatives: 1 } });
    expect(status('a')).toMatchObject({ circuit: 'half_open', inflight: 1 });
    expect(outcome(state.checkout(req()))).toBe('b'); // the trial is out: nobody else
  });

  it("applies the cluster's holds and verdicts, each change once", () => {
    const { state, status, seen, req } = harness([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    state.applyHolds([{ kind: 'trial', worker: 'c' }]); // a trial elsewhere changes nothing here
    state.applyVerdict('c', { circuit: 'half_open', failures: 1 });
    expect(status('c').circuit).toBe('closed');
    state.applyHolds([
      { kind: 'cooling', worker: 'a', ms: 700, reason: 'rate limited (429) elsewhere' },
      { kind: 'open', worker: 'b', ms: 1_000 },
      { kind: 'open', worker: 'ghost', ms: 1 },
    ]);
    expect([status('a').coolingDownMs, status('b').circuit]).toEqual([700, 'open']);
    state.applyHolds([{ kind: 'open', worker: 'b', ms: 1_000 }]); // already held: stays as it is
    state.applyVerdict('b', { circuit: 'closed', failures: 0 });
    expect(status('b').circuit).toBe('closed');
    state.applyVerdict('a', { circuit: 'open', failures: 3 });
    expect(status('a').circuit).toBe('open');
    state.applyVerdict('a', { circuit: 'open', failures: 4 });
    state.applyVerdict('ghost', { circuit: 'open', failures: 4 });
    expect(status('a').circuit).toBe('open');
    expect(seen.filter((e) => e.type === 'pool.circuit_changed').map((e) => [e.worker, e.state])).toEqual([
      ['b', 'open'],
      ['b', 'closed'],
      ['a', 'open'],
    ]);
    expect(outcome(state.checkout(req({ exclude: ['b', 'c'] })))).toEqual([['a', 'rate limited (429) elsewhere; cooling down for 700 ms']]);
    const other = harness([{ name: 'x' }]);
    other.state.applyHolds([{ kind: 'open', worker: 'x', ms: 1_000 }]);
    expect(outcome(other.state.checkout(other.req()))).toEqual([['x', 'circuit open (opened by another instance)']]);
  });
});

describe('PoolState: leases', () => {
  it("carries the worker's percentile time to first chunk once it has enough samples", () => {
    const { state, req } = harness([{ name: 'a' }]);
    const lease = () => {
      const c = state.checkout(req({ percentile: 0.5 }));
      if (c === 'full' || !c.ok) throw new Error('no lease');
      return c.lease;
    };
    expect('firstChunkPercentileMs' in lease()).toBe(false);
    expect('settle' in lease()).toBe(false); // only a shared store's lease is settled there
    for (let i = 1; i <= 20; i++) state.released('a', { kind: 'success', firstChunkMs: i * 10, latencyMs: 500 });
    expect(lease().firstChunkPercentileMs).toBe(100);
    expect(lease()).toMatchObject({ name: 'a', kind: 'mock', model: 'm1', alternatives: 0 });
  });

  it("a hedged primary that lost its race counts its silence as a sample (a lower bound), so hedging does not pull its percentile down", () => {
    const { state, req } = harness([{ name: 'a' }]);
    const p90 = () => {
      const c = state.checkout(req({ percentile: 0.9 }));
      if (c === 'full' || !c.ok) throw new Error('no lease');
      return c.lease.firstChunkPercentileMs;
    };
    for (let i = 1; i <= 18; i++) state.released('a', { kind: 'success', firstChunkMs: 100, latencyMs: 500 });
    for (let i = 1; i <= 4; i++) state.released('a', { kind: 'cancelled', atLeastMs: 2_000 }); // beaten by their hedges
    state.released('a', { kind: 'cancelled' }); // a plain cancel says nothing of the worker's speed
    expect(p90()).toBe(2_000); // 4 of 22 are slow: the 90th percentile is in the tail, as it is
    expect(state.snapshot(0).workers[0]).toMatchObject({ successes: 18, failures: 0 });
  });

  it('tells a load-aware strategy each in-flight count', () => {
    const loads: Array<[string, number]> = [];
    const recording: SelectionStrategy<null> = {
      name: 'recording',
      prepare: () => null,
      pick: () => ({ name: 'a', priority: 1, inflight: 0 }),
      loadChanged: (_s, name, n) => loads.push([name, n]),
    };
    const { state, req } = harness([{ name: 'a' }], {}, recording as never);
    state.checkout(req());
    state.lendShared('a', req(), false, async () => {});
    expect(loads).toEqual([['a', 1], ['a', 2]]);
  });
});
