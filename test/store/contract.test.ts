import { afterEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../support/redis.js';
import { MemoryStore, RedisStore, type Admission, type ResolvedLimits, type SharedStore, type UsageCount } from '../../src/index.js';

/**
 * One contract, two stores: what a pool relies on from its shared state. Every case runs with
 * two instances (`a`, `b`) over the same data, as two processes are over one Redis.
 */
const LEASE_MS = 1000;
const RULES = { failureThreshold: 2, resetMs: 5000 };
const unlimited: ResolvedLimits = { maxConcurrent: Infinity, rpm: Infinity, tpm: Infinity };
const limits = (l: Partial<ResolvedLimits>): ResolvedLimits => ({ ...unlimited, ...l });

const redis = useRedisServer();

let prefixSeq = 0;
const backends: Array<[string, (now: () => number) => [SharedStore, SharedStore]]> = [
  [
    'MemoryStore',
    (now) => {
      const a = new MemoryStore({ leaseMs: LEASE_MS, now });
      return [a, a.peer()];
    },
  ],
  [
    'RedisStore',
    (now) => {
      const prefix = `contract${++prefixSeq}`;
      return [new RedisStore({ url: redis().url, prefix, leaseMs: LEASE_MS, now }), new RedisStore({ url: redis().url, prefix, leaseMs: LEASE_MS, now })];
    },
  ],
];

describe.each(backends)('%s passes the shared-store contract', (_name, open) => {
  let t = 1_700_000_000_000;
  let a: SharedStore;
  let b: SharedStore;
  afterEach(async () => {
    await a.close();
    await b.close();
  });
  const setup = async (): Promise<void> => {
    t = 1_700_000_000_000;
    [a, b] = open(() => t);
    if (a instanceof RedisStore && b instanceof RedisStore) expect([await a.ready(), await b.ready()]).toEqual([true, true]);
  };
  /** A fresh instance in place of a closed one (for afterEach to close). */
  const reopened = async (): Promise<SharedStore> => {
    const [fresh, extra] = open(() => t);
    await extra.close();
    return fresh;
  };
  /** Two failures through `s` open w's circuit; then its reset time passes. */
  const openThenWait = async (s: SharedStore): Promise<void> => {
    for (let i = 0; i < RULES.failureThreshold; i++) {
      const x = await s.admit({ candidates: [{ name: 'w', limits: unlimited }], tokens: 1 });
      if (x.kind === 'admitted') await s.release(x.lease, { kind: 'failure', error: 'http' }, RULES);
    }
    t += RULES.resetMs;
  };
  const admitted = (x: Admission): string => {
    if (x.kind !== 'admitted') throw new Error(`expected admitted, got ${JSON.stringify(x)}`);
    return x.lease.worker;
  };

  it("shares the gateway's usage counts: what each instance adds, summed by hour, key, worker and model; from a time on; kept 31 days", async () => {
    await setup();
    const HOUR = 3_600_000;
    const hour = Math.floor(t / HOUR) * HOUR;
    const count = (c: Partial<UsageCount>): UsageCount => ({ hour, key: 'team', worker: 'w', model: 'm', requests: 0, inputTokens: 0, outputTokens: 0, costUsd: null, cacheHits: 0, savedUsd: null, ...c });
    await a.usageAdd?.(count({ requests: 1, inputTokens: 100, outputTokens: 50, costUsd: 0.25 }));
    await b.usageAdd?.(count({ requests: 2, inputTokens: 10, outputTokens: 5, costUsd: 0.5 }));
    await b.usageAdd?.(count({ cacheHits: 1, savedUsd: 0.125 }));
    await a.usageAdd?.(count({ key: null, model: null, requests: 1 })); // no key, model unknown: its own line, costs stay unknown
    await a.usageAdd?.(count({ hour: hour - HOUR, requests: 7 })); // the hour before
    const sorted = (xs: UsageCount[]): UsageCount[] => [...xs].sort((x, y) => x.hour - y.hour || String(x.key).localeCompare(String(y.key)));
    expect(sorted(await b.usageRead!(hour))).toEqual([
      count({ key: null, model: null, requests: 1 }),
      count({ requests: 3, inputTokens: 110, outputTokens: 55, costUsd: 0.75, cacheHits: 1, savedUsd: 0.125 }),
    ]);
    expect((await a.usageRead!(hour - 1)).map((c) => c.hour)).toContain(hour - HOUR); // the hour `since` falls in counts
    expect(await a.usageRead!(t + 2 * HOUR)).toEqual([]);
    t += 32 * 24 * HOUR; // past the 31 days kept
    await a.usageAdd?.(count({ hour: Math.floor(t / HOUR) * HOUR, requests: 1 }));
    expect((await b.usageRead!(0)).map((c) => c.hour)).toEqual([Math.floor(t / HOUR) * HOUR]);
  });

  it('shares the response cache: an entry set by one instance is read by the other, until its time runs out; at most maxEntries', async () => {
    await setup();
    expect(await b.cacheGet('k1')).toBeUndefined();
    await a.cacheSet('k1', '{"answer":1}', 60_000, 2);
    expect(await b.cacheGet('k1')).toBe('{"answer":1}');
    t += 1;
    await b.cacheSet('k2', 'two', 60_000, 2);
    t += 1;
    await a.cacheSet('k3', 'three', 60_000, 2); // a third entry: the oldest goes
    expect([await b.cacheGet('k1'), await b.cacheGet('k2'), await a.cacheGet('k3')]).toEqual([undefined, 'two', 'three']);
    await a.cacheSet('short', 'soon gone', 40, 10);
    expect(await b.cacheGet('short')).toBe('soon gone');
    t += 100; // the memory store's clock, and real time for Redis's own expiry
    await new Promise((r) => setTimeout(r, 100));
    expect(await b.cacheGet('short')).toBeUndefined();
  });

  it('holds maxConcurrent across instances, and gives the slot back on release', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ maxConcurrent: 2 }) }];
    const x = await a.admit({ candidates: one, tokens: 1 });
    await b.admit({ candidates: one, tokens: 1 });
    expect(await a.admit({ candidates: one, tokens: 1 })).toEqual({ kind: 'full', retryMs: undefined, held: [] });
    expect(x.kind === 'admitted' && (await a.release(x.lease, { kind: 'success' }, RULES))).toEqual({ circuit: 'closed', failures: 0 });
    expect(admitted(await b.admit({ candidates: one, tokens: 1 }))).toBe('w');
  });

  it('takes the first candidate in the given order that has room', async () => {
    await setup();
    const two = [
      { name: 'local', limits: limits({ maxConcurrent: 1 }) },
      { name: 'cloud', limits: unlimited },
    ];
    expect(admitted(await a.admit({ candidates: two, tokens: 1 }))).toBe('local');
    expect(admitted(await b.admit({ candidates: two, tokens: 1 }))).toBe('cloud');
  });

  it('counts rpm in a 60 s window shared by the instances, and says when it frees room', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ rpm: 2 }) }];
    const first = await a.admit({ candidates: one, tokens: 1 });
    t += 10_000;
    await b.admit({ candidates: one, tokens: 1 });
    if (first.kind === 'admitted') await a.release(first.lease, { kind: 'success' }, RULES); // a release frees no rate room
    expect(await a.admit({ candidates: one, tokens: 1 })).toEqual({ kind: 'full', retryMs: 50_000, held: [] });
    t = 1_700_000_060_000;
    expect(admitted(await b.admit({ candidates: one, tokens: 1 }))).toBe('w');
  });

  it('claim: a stream admitted alone during an outage takes a lease whatever the limit, and its request counts in the window from when it began', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ maxConcurrent: 1, rpm: 3 }) }];
    const mine = await a.claim!('w', { tokens: 5, ageMs: 20_000, windowed: true });
    const again = await a.claim!('w', { tokens: 5, ageMs: 1_000, windowed: true }); // over maxConcurrent 1: claimed all the same
    expect((await b.admit({ candidates: one, tokens: 1 })).kind).toBe('full');
    await a.release(mine, { kind: 'success' }, RULES);
    expect((await b.admit({ candidates: one, tokens: 1 })).kind).toBe('full'); // the other claim still runs
    await a.release(again, { kind: 'success' }, RULES);
    expect(admitted(await b.admit({ candidates: one, tokens: 1 }))).toBe('w'); // three requests in the window now
    t += 40_001; // the first claim's request, begun 20 s before, leaves the window
    expect(admitted(await b.admit({ candidates: [{ name: 'w', limits: limits({ rpm: 3 }) }], tokens: 1 }))).toBe('w');
    expect((await a.counters(['w'])).get('w')).toMatchObject({ requests: 4 });
  });

  it('takes back an admission never used (its caller gave up first): it costs no rpm', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ rpm: 1 }) }];
    const x = await a.admit({ candidates: one, tokens: 1 });
    if (x.kind === 'admitted') await a.release(x.lease, { kind: 'unused' }, RULES);
    expect(admitted(await b.admit({ candidates: one, tokens: 1 }))).toBe('w');
    expect((await b.admit({ candidates: one, tokens: 1 })).kind).toBe('full');
    expect((await a.counters(['w'])).get('w')?.requests).toBe(1);
  });

  it('counts tpm with the estimate, corrected by the tokens reported at release', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ tpm: 100 }) }];
    const x = await a.admit({ candidates: one, tokens: 90 });
    expect((await b.admit({ candidates: one, tokens: 20 })).kind).toBe('full');
    if (x.kind === 'admitted') await a.release(x.lease, { kind: 'success', tokens: 30 }, RULES);
    expect(admitted(await b.admit({ candidates: one, tokens: 20 }))).toBe('w');
    // A request bigger than the whole budget still goes when the window is empty.
    t += 60_000;
    expect(admitted(await a.admit({ candidates: one, tokens: 500 }))).toBe('w');
  });

  it('gives the leases of an instance that died back within the lease time; live leases are renewed', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ maxConcurrent: 2 }) }];
    await a.admit({ candidates: one, tokens: 1 });
    await b.admit({ candidates: one, tokens: 1 });
    await a.close(); // as kill -9: nothing released
    t += LEASE_MS / 2;
    await b.renew();
    expect((await b.admit({ candidates: one, tokens: 1 })).kind).toBe('full');
    t += LEASE_MS / 2 + 1;
    expect(admitted(await b.admit({ candidates: one, tokens: 1 }))).toBe('w'); // a's lease expired, b's was renewed
    expect((await b.admit({ candidates: one, tokens: 1 })).kind).toBe('full');
    a = await reopened(); // afterEach closes it
  });

  it('opens a circuit for every instance at the threshold, then lets exactly one trial through', async () => {
    await setup();
    const one = [{ name: 'w', limits: unlimited }];
    for (const s of [a, b]) {
      const x = await s.admit({ candidates: one, tokens: 1 });
      if (x.kind === 'admitted') await s.release(x.lease, { kind: 'failure', error: 'connection' }, RULES);
    }
    expect(await b.admit({ candidates: one, tokens: 1 })).toEqual({ kind: 'none', held: [{ kind: 'open', worker: 'w', ms: RULES.resetMs }] });
    t += RULES.resetMs;
    const trial = await a.admit({ candidates: one, tokens: 1 });
    expect(trial.kind === 'admitted' && trial.trial).toBe(true);
    expect(await b.admit({ candidates: one, tokens: 1 })).toEqual({ kind: 'none', held: [{ kind: 'trial', worker: 'w' }] });
    expect(trial.kind === 'admitted' && (await a.release(trial.lease, { kind: 'success' }, RULES))).toEqual({ circuit: 'closed', failures: 0 });
    expect(admitted(await b.admit({ candidates: one, tokens: 1 }))).toBe('w');
  });

  it('reopens on a failed trial; a cancelled trial lets another go', async () => {
    await setup();
    const one = [{ name: 'w', limits: unlimited }];
    await openThenWait(a);
    const cancelled = await a.admit({ candidates: one, tokens: 1 });
    if (cancelled.kind === 'admitted') await a.release(cancelled.lease, { kind: 'cancelled' }, RULES);
    const trial = await b.admit({ candidates: one, tokens: 1 });
    expect(trial.kind === 'admitted' && trial.trial).toBe(true);
    expect(trial.kind === 'admitted' && (await b.release(trial.lease, { kind: 'failure', error: 'http' }, RULES))).toEqual({ circuit: 'open', failures: 3 });
    expect((await a.admit({ candidates: one, tokens: 1 })).kind).toBe('none');
  });

  it('a trial whose instance died is taken over after the lease time', async () => {
    await setup();
    const one = [{ name: 'w', limits: unlimited }];
    await openThenWait(a);
    expect((await a.admit({ candidates: one, tokens: 1 })).kind).toBe('admitted');
    await a.close();
    t += LEASE_MS + 1;
    const x = await b.admit({ candidates: one, tokens: 1 });
    expect(x.kind === 'admitted' && x.trial).toBe(true);
    a = await reopened();
  });

  it('a 429 in one instance rests the worker in all, without counting against its circuit', async () => {
    await setup();
    const two = [
      { name: 'w', limits: unlimited },
      { name: 'v', limits: unlimited },
    ];
    const x = await a.admit({ candidates: two, tokens: 1 });
    const v = x.kind === 'admitted' && (await a.release(x.lease, { kind: 'rate_limited', restMs: 3000, reason: 'rate limited (429)' }, RULES));
    expect(v).toEqual({ circuit: 'closed', failures: 0 });
    const y = await b.admit({ candidates: two, tokens: 1 });
    expect(y).toMatchObject({ kind: 'admitted', lease: { worker: 'v' }, held: [{ kind: 'cooling', worker: 'w', ms: 3000, reason: 'rate limited (429)' }] });
    await b.rest('v', 5000, 'x-ratelimit-remaining: 0');
    expect((await a.admit({ candidates: two, tokens: 1 })).kind).toBe('none');
    t += 5000;
    expect(admitted(await a.admit({ candidates: two, tokens: 1 }))).toBe('w');
  });

  it('a bad key rests the worker and opens its circuit', async () => {
    await setup();
    const one = [{ name: 'w', limits: unlimited }];
    const x = await a.admit({ candidates: one, tokens: 1 });
    const v = x.kind === 'admitted' && (await a.release(x.lease, { kind: 'disabled', error: 'auth', restMs: 60_000, reason: 'rejected credentials (HTTP 401)' }, RULES));
    expect(v).toEqual({ circuit: 'open', failures: 1 });
    expect(await b.admit({ candidates: one, tokens: 1 })).toMatchObject({ kind: 'none', held: [{ kind: 'cooling', reason: 'rejected credentials (HTTP 401)' }] });
  });

  it('lets one instance health-check a worker per interval; all read its result', async () => {
    await setup();
    expect(await a.claimHealth(['w', 'v'], 1000)).toEqual(['w', 'v']);
    expect(await b.claimHealth(['w', 'v', 'u'], 1000)).toEqual(['u']);
    await a.publishHealth([{ worker: 'w', health: { status: 'unavailable', reason: 'down' }, ms: 3 }], 3000);
    expect(await b.readHealth(['w', 'v'])).toEqual([{ worker: 'w', health: { status: 'unavailable', reason: 'down' }, ms: 3 }]);
    if (a instanceof MemoryStore) t += 1000;
    else await new Promise((r) => setTimeout(r, 1050)); // Redis expires its locks on its own clock
    expect(await b.claimHealth(['w'], 1000)).toEqual(['w']);
  });

  it('names the config fields in which another instance differs', async () => {
    await setup();
    expect(await a.announce('w', { kind: 'ollama', model: 'llama3.2', maxConcurrent: 3 })).toEqual([]);
    expect(await b.announce('w', { kind: 'ollama', model: 'llama3.2', maxConcurrent: 3 })).toEqual([]);
    expect(await b.announce('w', { kind: 'ollama', model: 'qwen3', maxConcurrent: 2 })).toEqual(['maxConcurrent', 'model']);
  });

  it('lists the live instances with their own counts; a closed one drops out', async () => {
    await setup();
    const one = [{ name: 'w', limits: unlimited }];
    const x = await a.admit({ candidates: one, tokens: 1 });
    if (x.kind === 'admitted') await a.release(x.lease, { kind: 'success' }, RULES);
    await a.admit({ candidates: one, tokens: 1 }); // still in flight
    const y = await b.admit({ candidates: one, tokens: 1 });
    if (y.kind === 'admitted') await b.release(y.lease, { kind: 'failure', error: 'http' }, RULES);
    await b.renew();
    const views = new Map((await a.instances()).map((i) => [i.instance, i]));
    expect(views.get(a.instance)).toEqual({ instance: a.instance, requests: 2, successes: 1, failures: 0, inflight: 1 });
    expect(views.get(b.instance)).toEqual({ instance: b.instance, requests: 1, successes: 0, failures: 1, inflight: 0 });
    await b.close();
    t += 3 * LEASE_MS + 1;
    expect((await a.instances()).map((i) => i.instance)).toEqual([a.instance]);
    b = await reopened();
  });

  it('keeps cluster-wide counters', async () => {
    await setup();
    const one = [{ name: 'w', limits: limits({ maxConcurrent: 5 }) }];
    const outcomes = [{ kind: 'success', tokens: 12 }, { kind: 'failure', error: 'idle_timeout' }, { kind: 'rate_limited', restMs: 1, reason: '429' }] as const;
    for (const o of outcomes) {
      const x = await a.admit({ candidates: one, tokens: 1 });
      if (x.kind === 'admitted') await a.release(x.lease, o, RULES);
      t += 2;
    }
    expect(await b.counters(['w'])).toEqual(new Map([['w', { requests: 3, successes: 1, failures: { idle_timeout: 1, rate_limited: 1 }, tokens: 12 }]]));
  });

  it('tells the other instances a slot was freed while one waits for a slot, and only then', async () => {
    await setup();
    const freed: string[] = [];
    const off = b.subscribe((e) => e.type === 'freed' && freed.push(e.worker));
    const only = (name: string) => [{ name, limits: limits({ maxConcurrent: 1 }) }];
    // Nobody waits: freeing v is no news (on Redis each piece of news reaches every instance),
    // nor is it after a refusal of a caller that does not wait (a hedge, a gateway key's limits).
    const v = await a.admit({ candidates: only('v'), tokens: 1 });
    expect((await b.admit({ candidates: only('v'), tokens: 1, waits: false })).kind).toBe('full');
    if (v.kind === 'admitted') await a.release(v.lease, { kind: 'success' }, RULES);
    // b is refused as full: now a slot freed on w is news, and news of v would have come first.
    const w = await a.admit({ candidates: only('w'), tokens: 1 });
    expect((await b.admit({ candidates: only('w'), tokens: 1 })).kind).toBe('full');
    if (w.kind === 'admitted') await a.release(w.lease, { kind: 'failure', error: 'http' }, RULES);
    await expect.poll(() => freed).toEqual(['w']);
    // Ten seconds after the last refusal, nobody is taken to wait any more.
    t += 10_001;
    const late = await a.admit({ candidates: only('w'), tokens: 1 });
    if (late.kind === 'admitted') await a.release(late.lease, { kind: 'success' }, RULES);
    const again = await a.admit({ candidates: only('w'), tokens: 1 });
    expect((await b.admit({ candidates: only('w'), tokens: 1 })).kind).toBe('full');
    if (again.kind === 'admitted') await a.release(again.lease, { kind: 'success' }, RULES);
    await expect.poll(() => freed).toEqual(['w', 'w']);
    off();
  });
});
