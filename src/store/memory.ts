import type { HealthReport } from '../pool/health.js';
import { RateLog, type RateEntry } from '../pool/rate-log.js';
import { checkLeaseOptions, differingFields, Heartbeat, Listeners, newInstanceId, type StoreOptions } from './common.js';
import {
  addUsage,
  USAGE_HOUR_MS,
  USAGE_KEPT_MS,
  usageId,
  WANTED_MS,
  WINDOW_MS,
  type UsageCount,
  type AdmitRequest,
  type Admission,
  type CircuitRules,
  type Hold,
  type InstanceCounters,
  OwnCounts,
  type SharedLease,
  type SharedStore,
  type Settlement,
  type StoreEvent,
  type Verdict,
  type WorkerCounters,
  type WorkerFingerprint,
} from './store.js';

/** An admission in a worker's rate window, by its lease id. */
interface WindowEntry extends RateEntry {
  readonly id: string;
}

/** One worker's shared state (the same fields the Redis store keeps under the worker's keys). */
interface Rec {
  /** Lease id -> expiry. */
  readonly slots: Map<string, number>;
  /** Admissions in the rate window, oldest first, and each by its lease id (a release finds its own at once). */
  readonly window: RateLog<WindowEntry>;
  readonly windowIds: Map<string, WindowEntry>;
  circuit: { state: 'closed' | 'open' | 'half_open'; until: number; trial: string | null; failures: number };
  cool: { until: number; reason: string } | null;
  readonly stats: { requests: number; successes: number; failures: Record<string, number>; tokens: number };
  health: { report: HealthReport; expires: number } | null;
  healthLock: number;
  config: { fp: WorkerFingerprint; expires: number } | null;
}

/** The data several {@link MemoryStore} instances share. */
class Space {
  readonly recs = new Map<string, Rec>();
  readonly instances = new Set<MemoryStore>();
  /** Workers some instance announced (what `counters()` lists). */
  readonly announced = new Set<string>();
  /** The shared response cache: key -> value and expiry, oldest first (a Map keeps insertion order). */
  readonly cache = new Map<string, { readonly value: string; readonly expires: number }>();
  /** The gateway's usage counts, by hour, key, worker and model. */
  readonly usage = new Map<string, UsageCount>();
  seq = 0;
  /** Until when some instance waits for a slot (news of a freed one is sent only then, as on Redis). */
  wantedUntil = -Infinity;

  rec(worker: string): Rec {
    let r = this.recs.get(worker);
    if (r === undefined) {
      r = {
        slots: new Map(),
        window: new RateLog<WindowEntry>(WINDOW_MS),
        windowIds: new Map(),
        circuit: { state: 'closed', until: 0, trial: null, failures: 0 },
        cool: null,
        stats: { requests: 0, successes: 0, failures: {}, tokens: 0 },
        health: null,
        healthLock: 0,
        config: null,
      };
      this.recs.set(worker, r);
    }
    return r;
  }
}

/**
 * The in-process {@link SharedStore}: the reference implementation of the contract the Redis
 * store also passes. Pools of one process share it (`store.instance()` gives another instance
 * over the same data, as another process would have on Redis). Never degraded.
 */
export class MemoryStore implements SharedStore {
  readonly kind = 'memory' as const;
  readonly instance: string;
  readonly degraded = false;
  readonly #space: Space;
  readonly #now: () => number;
  readonly #leaseMs: number;
  /** Leases this instance holds, renewed by the heartbeat. */
  readonly #held = new Map<string, string>();
  readonly #listeners = new Listeners<StoreEvent>();
  readonly #heartbeat: Heartbeat;
  readonly #own = new OwnCounts();

  /** @throws InvalidArgumentError for a bad `leaseMs` or `now`. */
  constructor(options: StoreOptions = {}, space?: Space) {
    const o = checkLeaseOptions(options);
    this.#space = space ?? new Space();
    this.#now = o.now;
    this.#leaseMs = o.leaseMs;
    this.instance = newInstanceId();
    this.#space.instances.add(this);
    this.#heartbeat = new Heartbeat(o.leaseMs, () => this.renew());
  }

  /** Another instance over the same data: what a second process is on Redis. */
  peer(): MemoryStore {
    return new MemoryStore({ leaseMs: this.#leaseMs, now: this.#now }, this.#space);
  }

  admit(request: AdmitRequest): Promise<Admission> {
    const now = this.#now();
    const id = `${this.instance}:${++this.#space.seq}`;
    const held: Hold[] = [];
    let full = false;
    let retryAt: number | undefined;
    for (const c of request.candidates) {
      const r = this.#space.rec(c.name);
      const gate = this.#gate(r, c.name, now, held);
      if (gate === 'held') continue;
      const room = this.#room(r, c.limits, request.tokens, now);
      if (room !== true) {
        full = true;
        if (room !== undefined && (retryAt === undefined || room < retryAt)) retryAt = room;
        continue;
      }
      r.slots.set(id, now + this.#leaseMs);
      if (c.limits.rpm !== Infinity || c.limits.tpm !== Infinity) enter(r, { id, at: now, tokens: request.tokens });
      if (gate === 'trial') r.circuit = { ...r.circuit, state: 'half_open', trial: id };
      r.stats.requests++;
      this.#own.requests++;
      this.#held.set(id, c.name);
      this.#heartbeat.ensure();
      return Promise.resolve({ kind: 'admitted', lease: { id, worker: c.name }, trial: gate === 'trial', held });
    }
    if (!full) return Promise.resolve({ kind: 'none', held });
    if (request.waits !== false) this.#space.wantedUntil = now + WANTED_MS;
    return Promise.resolve({ kind: 'full', retryMs: retryAt === undefined ? undefined : retryAt - now, held });
  }

  claim(worker: string, stream: { readonly tokens: number; readonly ageMs: number; readonly windowed: boolean }): Promise<SharedLease> {
    const id = `${this.instance}:${++this.#space.seq}`;
    const r = this.#space.rec(worker);
    const now = this.#now();
    r.slots.set(id, now + this.#leaseMs);
    if (stream.windowed) {
      const e = { id, at: now - stream.ageMs, tokens: stream.tokens };
      r.window.insert(e); // the window stays in time order
      r.windowIds.set(id, e);
    }
    r.stats.requests++;
    this.#own.requests++;
    this.#held.set(id, worker);
    this.#heartbeat.ensure();
    return Promise.resolve({ id, worker });
  }

  /** Cool-down and circuit: `held` (reason pushed), `trial` (the circuit's one trial), or `open`. */
  #gate(r: Rec, worker: string, now: number, held: Hold[]): 'held' | 'trial' | 'pass' {
    if (r.cool !== null && r.cool.until > now) {
      held.push({ kind: 'cooling', worker, ms: r.cool.until - now, reason: r.cool.reason });
      return 'held';
    }
    const c = r.circuit;
    if (c.state === 'open' && c.until > now) {
      held.push({ kind: 'open', worker, ms: c.until - now });
      return 'held';
    }
    if (c.state === 'closed') return 'pass';
    const trial = c.state === 'half_open' ? c.trial : null;
    if (trial !== null && (r.slots.get(trial) ?? 0) > now) {
      held.push({ kind: 'trial', worker });
      return 'held';
    }
    return 'trial';
  }

  /** True if one more request fits; else when a rate window frees room (undefined: a slot must free). */
  #room(r: Rec, limits: AdmitRequest['candidates'][number]['limits'], tokens: number, now: number): true | number | undefined {
    if (limits.maxConcurrent !== Infinity) {
      for (const [id, exp] of r.slots) if (exp <= now) r.slots.delete(id); // leases of a dead instance
      if (r.slots.size >= limits.maxConcurrent) return undefined;
    }
    if (limits.rpm === Infinity && limits.tpm === Infinity) return true;
    const w = r.window;
    w.expire(now, (e) => r.windowIds.delete(e.id));
    const over = w.count >= limits.rpm || (w.tokens + tokens > limits.tpm && w.tokens > 0);
    return over ? w.oldest!.at + WINDOW_MS : true;
  }

  release(lease: SharedLease, s: Settlement, rules: CircuitRules): Promise<Verdict> {
    const now = this.#now();
    const r = this.#space.rec(lease.worker);
    const had = r.slots.delete(lease.id);
    if (this.#held.delete(lease.id)) this.#own.settled(s.kind);
    if (s.kind === 'unused') {
      if (had) unadmit(r, lease.id);
    } else if (s.tokens !== undefined) {
      const e = r.windowIds.get(lease.id);
      if (e !== undefined) r.window.correct(e, s.tokens);
      if (had) r.stats.tokens += s.tokens;
    }
    if (had) settle(r, lease.id, s, rules, now);
    if (had && now < this.#space.wantedUntil) for (const i of this.#space.instances) i.#listeners.emit({ type: 'freed', worker: lease.worker });
    return Promise.resolve({ circuit: r.circuit.state, failures: r.circuit.failures });
  }

  rest(worker: string, ms: number, reason: string): Promise<void> {
    restRec(this.#space.rec(worker), this.#now() + ms, reason);
    return Promise.resolve();
  }

  claimHealth(workers: readonly string[], intervalMs: number): Promise<string[]> {
    const now = this.#now();
    return Promise.resolve(
      workers.filter((w) => {
        const r = this.#space.rec(w);
        if (r.healthLock > now) return false;
        r.healthLock = now + intervalMs;
        return true;
      }),
    );
  }

  publishHealth(reports: readonly HealthReport[], ttlMs: number): Promise<void> {
    const expires = this.#now() + ttlMs;
    for (const report of reports) this.#space.rec(report.worker).health = { report, expires };
    return Promise.resolve();
  }

  readHealth(workers: readonly string[]): Promise<HealthReport[]> {
    const now = this.#now();
    const out: HealthReport[] = [];
    for (const w of workers) {
      const h = this.#space.recs.get(w)?.health;
      if (h && h.expires > now) out.push(h.report);
    }
    return Promise.resolve(out);
  }

  announce(worker: string, config: WorkerFingerprint): Promise<string[]> {
    const now = this.#now();
    const r = this.#space.rec(worker);
    this.#space.announced.add(worker);
    if (r.config === null || r.config.expires <= now) {
      r.config = { fp: config, expires: now + 3 * this.#leaseMs };
      return Promise.resolve([]);
    }
    const diff = differingFields(r.config.fp, config);
    if (diff.length === 0) r.config.expires = now + 3 * this.#leaseMs;
    return Promise.resolve(diff);
  }

  counters(workers?: readonly string[]): Promise<Map<string, WorkerCounters>> {
    const out = new Map<string, WorkerCounters>();
    for (const name of workers ?? [...this.#space.announced].sort()) {
      const s = this.#space.recs.get(name)?.stats;
      out.set(name, s ? { ...s, failures: { ...s.failures } } : { requests: 0, successes: 0, failures: {}, tokens: 0 });
    }
    return Promise.resolve(out);
  }

  cacheGet(key: string): Promise<string | undefined> {
    const e = this.#space.cache.get(key);
    if (e === undefined || e.expires <= this.#now()) return Promise.resolve(undefined);
    return Promise.resolve(e.value);
  }

  cacheSet(key: string, value: string, ttlMs: number, maxEntries: number): Promise<void> {
    const cache = this.#space.cache;
    cache.delete(key);
    cache.set(key, { value, expires: this.#now() + ttlMs });
    for (const k of cache.keys()) {
      if (cache.size <= maxEntries) break;
      cache.delete(k);
    }
    return Promise.resolve();
  }

  usageAdd(count: UsageCount): Promise<void> {
    const usage = this.#space.usage;
    const id = usageId(count);
    const had = usage.get(id);
    usage.set(id, had === undefined ? count : addUsage(had, count));
    for (const [k, c] of usage) if (c.hour < this.#now() - USAGE_KEPT_MS) usage.delete(k);
    return Promise.resolve();
  }

  usageRead(since: number): Promise<UsageCount[]> {
    return Promise.resolve([...this.#space.usage.values()].filter((c) => c.hour + USAGE_HOUR_MS > since));
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.#listeners.add(listener);
  }

  instances(): Promise<InstanceCounters[]> {
    return Promise.resolve([...this.#space.instances].map((i) => i.#own.view(i.instance, i.#held.size)));
  }

  /** Always ready. */
  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Renews this instance's leases (the heartbeat does it every third of `leaseMs`). */
  renew(): Promise<void> {
    const expiry = this.#now() + this.#leaseMs;
    for (const [id, worker] of this.#held) {
      const slots = this.#space.recs.get(worker)?.slots;
      if (slots?.has(id)) slots.set(id, expiry);
      else this.#held.delete(id);
    }
    if (this.#held.size === 0) this.#heartbeat.stop();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#heartbeat.stop();
    this.#held.clear();
    this.#space.instances.delete(this);
    return Promise.resolve();
  }
}

/** Records how a lease ended: counters, consecutive failures, circuit, cool-down. */
function settle(r: Rec, id: string, s: Settlement, rules: CircuitRules, now: number): void {
  const c = r.circuit;
  const wasTrial = c.trial === id;
  if (wasTrial) c.trial = null;
  switch (s.kind) {
    case 'success':
      r.stats.successes++;
      r.circuit = { state: 'closed', until: 0, trial: null, failures: 0 };
      return;
    case 'cancelled':
    case 'unused':
      return;
    case 'rate_limited':
      count(r, 'rate_limited');
      restRec(r, now + s.restMs, s.reason);
      return;
    case 'disabled':
      count(r, s.error);
      restRec(r, now + s.restMs, s.reason);
      c.failures++;
      if (c.state !== 'open') r.circuit = { ...c, state: 'open', until: now + rules.resetMs };
      return;
    case 'failure':
      count(r, s.error);
      c.failures++;
      if ((wasTrial || c.failures >= rules.failureThreshold) && c.state !== 'open') r.circuit = { ...c, state: 'open', until: now + rules.resetMs };
      return;
  }
}

/** Takes back an admission that was never used: its rate-window entry and its count. */
function unadmit(r: Rec, id: string): void {
  const e = r.windowIds.get(id);
  if (e !== undefined) {
    r.window.remove(e);
    r.windowIds.delete(id);
  }
  r.stats.requests--;
}

/** Counts an admission in the worker's rate window. */
function enter(r: Rec, e: WindowEntry): void {
  r.window.push(e);
  r.windowIds.set(e.id, e);
}

function count(r: Rec, kind: string): void {
  r.stats.failures[kind] = (r.stats.failures[kind] ?? 0) + 1;
}

function restRec(r: Rec, until: number, reason: string): void {
  if (r.cool === null || r.cool.until < until) r.cool = { until, reason };
}
