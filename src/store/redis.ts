/*
 * The shared store on Redis: the SharedStore contract (store.ts) one method at a time, each a
 * single script call (scripts.ts) or a pipeline, bounded by `timeoutMs`, plus the connection's
 * lifetime and degraded mode. Over 400 lines because the contract has that many methods and
 * each is a few lines of the same pattern; the Lua lives in scripts.ts, what every store shares
 * in common.ts.
 */
import { onFirstUse, peer } from '../lazy-require.js';
import { CortexError, guardFor } from '../errors/cortex-error.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import type { HealthReport } from '../pool/health.js';
import { checkLeaseOptions, differingFields, Heartbeat, Listeners, newInstanceId, type StoreOptions } from './common.js';
import { ADMIT, ANNOUNCE, BATCH, CACHE_SET, CLAIM, RELEASE, REST, WORKER_KEYS } from './scripts.js';
import type {
  AdmitRequest,
  Admission,
  CircuitRules,
  Hold,
  InstanceCounters,
  SharedLease,
  SharedStore,
  Settlement,
  StoreEvent,
  StoreTrouble,
  Verdict,
  WorkerCounters,
  WorkerFingerprint,
} from './store.js';
import { OwnCounts, USAGE_HOUR_MS, USAGE_KEPT_MS, type UsageCount } from './store.js';
import type { Mutable } from '../mutable.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions extends StoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). Default: `CORTEX_REDIS_URL`, else `redis://127.0.0.1:6379`. */
  url?: string;
  /** Names the cluster: instances with the same prefix share state. Default `'cortex'`. */
  prefix?: string;
  /** Longest wait for one store operation, ms; past it the pool decides alone. Default 250. */
  timeoutMs?: number;
}

/**
 * The store could not be reached in time; the pool decides alone meanwhile. `code` is
 * `'store_unavailable'`; `trouble` says why when it is known (what `startWorkers` rejects with
 * when the store is `required`).
 */
export class StoreUnavailableError extends CortexError {
  constructor(
    reason: string,
    /** Why: `auth_failed`, `protocol`, `timeout`, `unreachable`, when known. */
    readonly trouble?: StoreTrouble,
  ) {
    super('store_unavailable', `shared store unavailable: ${reason}`);
  }
}
/** True when `e` is a {@link StoreUnavailableError}. */
export const isStoreUnavailableError = guardFor<StoreUnavailableError>('store_unavailable');

/** The part of an ioredis client the store uses. */
interface Client {
  status: string;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  defineCommand(name: string, def: { numberOfKeys?: number; lua: string }): void;
  duplicate(options?: object): Client;
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<string>;
  pipeline(): Pipeline;
  smembers(key: string): Promise<string[]>;
  mget(keys: string[]): Promise<Array<string | null>>;
  quit(): Promise<unknown>;
  disconnect(): void;
  [command: string]: unknown;
}
interface Pipeline {
  call(command: string, ...args: Array<string | number>): Pipeline;
  /** Defined by `defineCommand`, on pipelines too. */
  cortexAnnounce(...args: Array<string | number>): Pipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}
type Script = (...args: Array<string | number>) => Promise<unknown>;

const ioredis = peer<{ default?: unknown }>('ioredis', 'the Redis store');
function loadClient(): new (url: string, options: object) => Client {
  const m = ioredis();
  return (m.default ?? m) as new (url: string, options: object) => Client;
}

/** `host:port` of a URL, never its credentials. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}

/**
 * The {@link SharedStore} on Redis, through ioredis (an optional peer dependency, loaded when a
 * RedisStore is made). Each check-and-set is one Lua script: an admission and a release are
 * one round trip each, and those asked at the same moment share one. Every operation is bounded
 * by `timeoutMs`; while Redis cannot be reached the store is `degraded` (no operation waits on
 * it), and a probe every second brings it back.
 */
export class RedisStore implements SharedStore {
  readonly kind = 'redis' as const;
  readonly instance = newInstanceId();
  /** `host:port` of the server (never the credentials). */
  readonly server: string;
  readonly prefix: string;
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #now: () => number;
  /** Usage counts of the closed hours read so far, by hour (see {@link RedisStore.usageRead}). */
  readonly #usageClosed = new Map<number, readonly UsageCount[]>();
  readonly #leaseMs: number;
  readonly #held = new Map<string, string>();
  /** Leases taken by this instance so far (their ids: the instance's, then this count). */
  #leases = 0;
  /** Admissions and releases asked, not yet sent (see `#op`). */
  #batch: BatchedOp[] = [];
  /** Where freed slots are published. */
  readonly #channel: string;
  /** Until when some instance waits for a slot (see the scripts). */
  readonly #wanted: string;
  /** Each worker's keys, by worker name. */
  readonly #keysOf = new Map<string, readonly string[]>();
  readonly #announced = new Map<string, string>();
  readonly #listeners = new Listeners<StoreEvent>();
  readonly #heartbeat: Heartbeat;
  readonly #own = new OwnCounts();
  #degraded: { readonly code: StoreTrouble; readonly reason: string } | null = null;
  /** The client's last connection error (what a degraded state is blamed on). */
  #lastError: unknown = undefined;
  readonly #timeoutMs: number;
  /** The subscription to `freed` news is in place. */
  readonly #subscribed: Promise<boolean>;
  #probe: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Connects (in the background: see {@link RedisStore.ready}).
   * @throws MissingPeerError without ioredis; InvalidArgumentError for bad options.
   */
  constructor(options: RedisStoreOptions = {}) {
    const o = checkLeaseOptions(options);
    const url = options.url ?? process.env.CORTEX_REDIS_URL ?? 'redis://127.0.0.1:6379';
    if (typeof url !== 'string' || !/^rediss?:\/\/[^/]/.test(url)) throw new InvalidArgumentError('store.url', 'a redis:// or rediss:// URL', url === options.url ? '(a bad URL)' : url);
    const prefix = options.prefix ?? 'cortex';
    if (typeof prefix !== 'string' || !/^[\w.-]{1,64}$/.test(prefix)) throw new InvalidArgumentError('store.prefix', 'letters, digits, _ . - (1 to 64)', prefix);
    const timeoutMs = options.timeoutMs ?? 250;
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new InvalidArgumentError('store.timeoutMs', 'a whole number of ms > 0', timeoutMs);
    const Redis = loadClient();
    this.server = where(url);
    this.prefix = prefix;
    this.#channel = `{${prefix}}:freed`;
    this.#wanted = `{${prefix}}:wanted`;
    this.#now = o.now;
    this.#leaseMs = o.leaseMs;
    this.#timeoutMs = timeoutMs;
    this.#client = new Redis(url, {
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(1000, timeoutMs),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
      // How long a closed connection's socket may linger before it is destroyed (2 s by default,
      // which kept a process alive after close()).
      disconnectTimeout: DISCONNECT_MS,
    });
    // Connection trouble shows as `degraded` (with its reason), never as an unhandled error.
    this.#client.on('error', (e: unknown) => (this.#lastError = e));
    this.#client.on('close', () => this.#markDegraded(this.#lastError === undefined ? 'connection closed' : undefined));
    this.#client.on('ready', () => this.#restored());
    for (const [name, lua] of Object.entries({ cortexAdmit: ADMIT, cortexRelease: RELEASE, cortexBatch: BATCH, cortexRest: REST, cortexAnnounce: ANNOUNCE, cortexCacheSet: CACHE_SET, cortexClaim: CLAIM })) {
      this.#client.defineCommand(name, { lua });
    }
    // Subscribed again on each reconnection by this store, not by ioredis: its own re-subscription
    // is a promise nobody handles (an unhandled rejection when the connection drops again before
    // Redis answers), and after that failure the subscription was never made again.
    this.#subscriber = this.#client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, disconnectTimeout: DISCONNECT_MS, autoResubscribe: false });
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('message', (_channel, worker) => this.#listeners.emit({ type: 'freed', worker: String(worker) }));
    this.#subscribed = this.#subscribe();
    let connections = 0;
    this.#subscriber.on('ready', () => {
      if (++connections > 1) void this.#subscribe();
    });
    this.#heartbeat = new Heartbeat(o.leaseMs, () => this.#beat());
    this.#heartbeat.ensure(); // leases, config announcements, and this instance's presence
  }

  /** Subscribes to other instances' news; resolves whether Redis took it. */
  #subscribe(): Promise<boolean> {
    return this.#subscriber.subscribe(this.#channel).then(
      () => true,
      () => false,
    );
  }

  get degraded(): boolean {
    return this.#degraded !== null;
  }

  get trouble(): { readonly code: StoreTrouble; readonly reason: string } | undefined {
    return this.#degraded ?? undefined;
  }

  /**
   * Resolves true once connected and subscribed to other instances' news, false if not within
   * `timeoutMs` (the store then starts degraded).
   */
  async ready(timeoutMs = 2000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const connected = this.#client.status === 'ready' ? Promise.resolve(true) : new Promise<true>((resolve) => this.#client.on('ready', () => resolve(true)));
    const ok = await Promise.race([connected.then(() => this.#subscribed), late]);
    clearTimeout(timer);
    // A server that accepted the connection and never answered is a timeout, not unreachable.
    if (!ok) this.#markDegraded(this.#lastError === undefined && this.#client.status === 'connect' ? `${this.server} accepted the connection but did not answer within ${timeoutMs} ms` : undefined, this.#lastError === undefined ? 'timeout' : undefined);
    return ok;
  }

  #key(worker: string, part: string): string {
    return `{${this.prefix}}:w:${worker}:${part}`;
  }

  /** A worker's 7 keys (the scripts' KEYS, in WORKER_KEYS' order), made once per worker. */
  #workerKeys(worker: string): readonly string[] {
    let keys = this.#keysOf.get(worker);
    if (keys === undefined) this.#keysOf.set(worker, (keys = WORKER_KEYS.map((p) => this.#key(worker, p))));
    return keys;
  }

  /** A new lease's id: unique in the cluster, as the instance's id is. */
  #leaseId(): string {
    return `${this.instance}:${(++this.#leases).toString(36)}`;
  }

  async admit(request: AdmitRequest): Promise<Admission> {
    const now = this.#now();
    const id = this.#leaseId();
    const keys = request.candidates.flatMap((c) => this.#workerKeys(c.name));
    const args = request.candidates.flatMap((c) => [lim(c.limits.maxConcurrent), lim(c.limits.rpm), lim(c.limits.tpm)]);
    const n = request.candidates.length;
    keys.push(this.#wanted);
    const r = (await this.#op('a', keys, [now, id, now + this.#leaseMs, request.tokens, n, request.waits === false ? 0 : 1, ...args])) as [
      number,
      number,
      number,
      string,
      Array<[number, string, string, string]>,
    ];
    const held: Hold[] = r[4].map(([i, kind, ms, reason]) => {
      const worker = request.candidates[i - 1]!.name;
      if (kind === 'cooling') return { kind, worker, ms: Number(ms), reason };
      if (kind === 'open') return { kind, worker, ms: Number(ms) };
      return { kind: 'trial', worker };
    });
    if (r[0] > 0) {
      const worker = request.candidates[r[0] - 1]!.name;
      this.#held.set(id, worker);
      this.#own.requests++;
      return { kind: 'admitted', lease: { id, worker }, trial: r[1] === 1, held };
    }
    if (r[2] === 1) return { kind: 'full', retryMs: r[3] === '' ? undefined : Number(r[3]), held };
    return { kind: 'none', held };
  }

  async release(lease: SharedLease, s: Settlement, rules: CircuitRules): Promise<Verdict> {
    if (this.#held.delete(lease.id)) this.#own.settled(s.kind);
    const error = s.kind === 'failure' || s.kind === 'disabled' ? s.error : '';
    const restMs = s.kind === 'rate_limited' || s.kind === 'disabled' ? s.restMs : 0;
    const reason = s.kind === 'rate_limited' || s.kind === 'disabled' ? s.reason : '';
    const keys = [...this.#workerKeys(lease.worker), this.#wanted];
    const tokens = 'tokens' in s && s.tokens !== undefined ? s.tokens : -1;
    const args = [this.#now(), lease.id, s.kind, tokens, error, restMs, reason, rules.failureThreshold, rules.resetMs, this.#channel, lease.worker];
    const r = (await this.#op('r', keys, args)) as [string, number];
    return { circuit: r[0] as Verdict['circuit'], failures: Number(r[1]) };
  }

  async claim(worker: string, stream: { readonly tokens: number; readonly ageMs: number; readonly windowed: boolean }): Promise<SharedLease> {
    const now = this.#now();
    const id = this.#leaseId();
    await this.#run('cortexClaim', 7, ...this.#workerKeys(worker), id, now + this.#leaseMs, stream.tokens, now - stream.ageMs, stream.windowed ? 1 : 0);
    this.#held.set(id, worker);
    this.#own.requests++;
    return { id, worker };
  }

  async rest(worker: string, ms: number, reason: string): Promise<void> {
    await this.#run('cortexRest', 1, this.#key(worker, 'cool'), this.#now() + ms, reason);
  }

  async claimHealth(workers: readonly string[], intervalMs: number): Promise<string[]> {
    const p = this.#client.pipeline();
    for (const w of workers) p.call('set', this.#key(w, 'hlock'), this.instance, 'PX', intervalMs, 'NX');
    const out = await this.#exec(p);
    return workers.filter((_, i) => out[i] === 'OK');
  }

  async publishHealth(reports: readonly HealthReport[], ttlMs: number): Promise<void> {
    if (reports.length === 0) return;
    const p = this.#client.pipeline();
    for (const r of reports) p.call('set', this.#key(r.worker, 'health'), JSON.stringify(r), 'PX', Math.max(1, Math.ceil(ttlMs)));
    await this.#exec(p);
  }

  async readHealth(workers: readonly string[]): Promise<HealthReport[]> {
    if (workers.length === 0) return [];
    const got = await this.#guard(() => this.#client.mget(workers.map((w) => this.#key(w, 'health'))));
    return got.flatMap((v) => (v === null ? [] : [JSON.parse(v) as HealthReport]));
  }

  async announce(worker: string, config: WorkerFingerprint): Promise<string[]> {
    const json = JSON.stringify(config);
    this.#announced.set(worker, json);
    const p = this.#client.pipeline();
    p.call('sadd', `{${this.prefix}}:workers`, worker);
    p.cortexAnnounce(1, this.#key(worker, 'config'), json, 3 * this.#leaseMs);
    const [, stored] = await this.#exec(p);
    return stored === '' ? [] : differingFields(JSON.parse(stored as string) as WorkerFingerprint, config);
  }

  async counters(workers?: readonly string[]): Promise<Map<string, WorkerCounters>> {
    const names = workers ?? (await this.#guard(() => this.#client.smembers(`{${this.prefix}}:workers`))).sort();
    const p = this.#client.pipeline();
    for (const w of names) p.call('hgetall', this.#key(w, 'stats'));
    const rows = await this.#exec(p);
    return new Map(names.map((w, i) => [w, toCounters(rows[i] as Record<string, string>)]));
  }

  async instances(): Promise<InstanceCounters[]> {
    await this.#beat(); // this instance's counts as of now
    const key = `{${this.prefix}}:instances`;
    const p = this.#client.pipeline();
    p.call('zremrangebyscore', key, '-inf', this.#now());
    p.call('zrange', key, 0, -1);
    const [, ids] = (await this.#exec(p)) as [unknown, string[]];
    if (ids.length === 0) return [];
    const views = await this.#guard(() => this.#client.mget(ids.map((id) => `{${this.prefix}}:instance:${id}`)));
    return views.flatMap((v) => (v === null ? [] : [JSON.parse(v) as InstanceCounters])).sort((a, b) => a.instance.localeCompare(b.instance));
  }

  async cacheGet(key: string): Promise<string | undefined> {
    const v = await this.#guard(() => (this.#client.get as (k: string) => Promise<string | null>).call(this.#client, this.#cacheKey(key)));
    return v ?? undefined;
  }

  async cacheSet(key: string, value: string, ttlMs: number, maxEntries: number): Promise<void> {
    await this.#run('cortexCacheSet', 2, this.#cacheKey(key), `{${this.prefix}}:cache`, value, Math.max(1, Math.ceil(ttlMs)), this.#now(), maxEntries);
  }

  /** An entry's key: a digest of the request's key (bounded length, no contents in key names). */
  #cacheKey(key: string): string {
    return `{${this.prefix}}:cache:${nodeCrypto().createHash('sha256').update(key).digest('base64url')}`;
  }

  /** An hour's usage counts: one hash, a field per count and measure. */
  #usageKey(hour: number): string {
    return `{${this.prefix}}:usage:${hour}`;
  }

  /** One hash per hour (`{prefix}:usage:{hour}`), a field per count and measure, kept 31 days; one pipelined round trip. */
  async usageAdd(count: UsageCount): Promise<void> {
    const key = this.#usageKey(count.hour);
    const id = JSON.stringify([count.key, count.worker, count.model]);
    const p = this.#client.pipeline();
    for (const m of ['requests', 'inputTokens', 'outputTokens', 'cacheHits'] as const) if (count[m] !== 0) p.call('hincrby', key, `${id}\n${m}`, count[m]);
    for (const m of ['costUsd', 'savedUsd'] as const) if (count[m] !== null) p.call('hincrbyfloat', key, `${id}\n${m}`, count[m]);
    // Relative to the store's clock (the one every instance shares), not Redis's.
    p.call('pexpire', key, Math.max(1, count.hour + USAGE_KEPT_MS + USAGE_HOUR_MS - this.#now()));
    await this.#exec(p);
  }

  /**
   * The usage counts from `since` on: one pipelined read of the hours not yet closed. An hour
   * that ended ten minutes ago is closed (no instance adds to it any more) and is
   * kept here once read, so a dashboard asking every second for a month's counts reads one or
   * two hashes, not up to 744.
   */
  async usageRead(since: number): Promise<UsageCount[]> {
    const now = this.#now();
    const first = Math.max(Math.floor(since / USAGE_HOUR_MS), Math.floor((now - USAGE_KEPT_MS) / USAGE_HOUR_MS)) * USAGE_HOUR_MS;
    const hours: number[] = [];
    for (let h = first; h <= now; h += USAGE_HOUR_MS) hours.push(h);
    if (hours.length === 0) return [];
    const closed = this.#usageClosed;
    const open = hours.filter((h) => !closed.has(h));
    const read = new Map<number, UsageCount[]>();
    if (open.length > 0) {
      const p = this.#client.pipeline();
      for (const h of open) p.call('hgetall', this.#usageKey(h));
      const rows = (await this.#exec(p)) as Array<Record<string, string>>;
      open.forEach((hour, i) => {
        const counts = usageCounts(hour, rows[i] ?? {});
        read.set(hour, counts);
        if (hour + USAGE_HOUR_MS + CLOSED_AFTER_MS <= now) closed.set(hour, counts);
      });
    }
    for (const h of closed.keys()) if (h < now - USAGE_KEPT_MS - USAGE_HOUR_MS) closed.delete(h);
    return hours.flatMap((h) => closed.get(h) ?? read.get(h) ?? []);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.#listeners.add(listener);
  }

  /**
   * Closes both connections: politely (QUIT) when Redis answers within `timeoutMs`, else at once.
   * Resolves within about `timeoutMs` whatever Redis does (stopped, silent, gone), with nothing
   * of the store left running.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#heartbeat.stop();
    if (this.#probe) clearInterval(this.#probe);
    this.#held.clear();
    await Promise.all([this.#client, this.#subscriber].map((c) => shut(c, this.#timeoutMs)));
  }

  /** Renews held leases (ZADD XX: only those still there) and this instance's config announcements. */
  renew(): Promise<void> {
    return this.#beat();
  }

  async #beat(): Promise<void> {
    if (this.#degraded !== null || this.#client.status !== 'ready') return;
    const now = this.#now();
    const expiry = now + this.#leaseMs;
    const p = this.#client.pipeline();
    const seen = now + 3 * this.#leaseMs;
    p.call('zadd', `{${this.prefix}}:instances`, seen, this.instance);
    p.call('set', `{${this.prefix}}:instance:${this.instance}`, JSON.stringify(this.#own.view(this.instance, this.#held.size)), 'PX', 3 * this.#leaseMs);
    for (const [id, worker] of this.#held) p.call('zadd', this.#key(worker, 'slots'), 'XX', expiry, id);
    for (const [worker, json] of this.#announced) p.cortexAnnounce(1, this.#key(worker, 'config'), json, 3 * this.#leaseMs);
    await this.#exec(p);
  }

  /**
   * An admission (`a`) or release (`r`): those asked before the microtasks already queued have run
   * go to Redis together, in one script call (BATCH) of up to 64, each run as its own script would
   * run it. A pool under load admits or releases many streams at once (the answers of one read
   * from Redis, the ends of one read from a backend): one call for all of them saves the client a
   * command, a write and a reply each. Sent before the code that follows the caller's own await
   * runs, so a release is on its way before the stream's last chunk reaches its reader.
   */
  #op(kind: 'a' | 'r', keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#batch.push({ kind, keys, args, resolve, reject }) === 1) queueMicrotask(this.#flush);
    });
  }

  /** Sends the admissions and releases asked so far. */
  readonly #flush = (): void => {
    const ops = this.#batch;
    this.#batch = [];
    for (let i = 0; i < ops.length; i += BATCH_MAX) void this.#send(ops.slice(i, i + BATCH_MAX));
  };

  async #send(ops: readonly BatchedOp[]): Promise<void> {
    try {
      if (ops.length === 1) {
        const o = ops[0]!;
        return o.resolve(await this.#run(o.kind === 'a' ? 'cortexAdmit' : 'cortexRelease', o.keys.length, ...o.keys, ...o.args));
      }
      const keys: string[] = [];
      const argv: Array<string | number> = [ops.length];
      for (const o of ops) {
        keys.push(...o.keys);
        argv.push(o.kind, o.keys.length, o.args.length, ...o.args);
      }
      const rows = (await this.#run('cortexBatch', keys.length, ...keys, ...argv)) as unknown[];
      ops.forEach((o, i) => o.resolve(rows[i]));
    } catch (e) {
      for (const o of ops) o.reject(e);
    }
  }

  async #run(script: string, ...args: Array<string | number>): Promise<unknown> {
    return this.#guard(() => (this.#client[script] as Script).apply(this.#client, args));
  }

  async #exec(p: Pipeline): Promise<unknown[]> {
    const rows = await this.#guard(() => p.exec());
    return (rows ?? []).map(([e, v]) => {
      if (e) throw e;
      return v;
    });
  }

  /** Runs one operation, or fails at once while degraded; a failure makes the store degraded. */
  async #guard<T>(op: () => Promise<T>): Promise<T> {
    // What this instance asked before goes first, as if it had not waited to be batched (a
    // release, then a read of the counters, is read with the release counted).
    if (this.#batch.length > 0) this.#flush();
    if (this.#closed) throw new StoreUnavailableError('store closed');
    const now = this.#degraded;
    if (now !== null) throw new StoreUnavailableError(now.reason, now.code);
    try {
      return await op();
    } catch (e) {
      this.#lastError = e;
      this.#markDegraded();
      const t = describeTrouble(e, this.server);
      throw new StoreUnavailableError(t.reason, t.code);
    }
  }

  /** Degraded, blamed on the last connection error unless told otherwise. */
  #markDegraded(reason?: string, code?: StoreTrouble): void {
    if (this.#closed || this.#degraded !== null) return;
    const blamed = describeTrouble(this.#lastError, this.server);
    this.#degraded = { code: code ?? blamed.code, reason: reason ?? blamed.reason };
    this.#listeners.emit({ type: 'degraded', ...this.#degraded });
    // Back when a PING answers (the connection may have stayed up while Redis was slow).
    this.#probe = setInterval(() => {
      if (this.#client.status === 'ready') void this.#client.ping().then(() => this.#restored(), () => undefined);
    }, 1000);
    this.#probe.unref();
  }

  #restored(): void {
    this.#lastError = undefined;
    if (this.#degraded === null || this.#closed) return;
    this.#degraded = null;
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#listeners.emit({ type: 'restored' });
  }
}

/** An admission or release waiting to be sent with the others asked at the same time. */
interface BatchedOp {
  readonly kind: 'a' | 'r';
  readonly keys: readonly string[];
  readonly args: ReadonlyArray<string | number>;
  resolve(answer: unknown): void;
  reject(e: unknown): void;
}

/** Most operations in one batched script call (a longer script would hold Redis longer). */
const BATCH_MAX = 64;

/** -1 for unlimited (the scripts' convention). */
function lim(n: number): number {
  return n === Infinity ? -1 : n;
}

function toCounters(h: Record<string, string> | null): WorkerCounters {
  const failures: Record<string, number> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (k.startsWith('failures:')) failures[k.slice(9)] = Number(v);
  return { requests: Number(h?.requests ?? 0), successes: Number(h?.successes ?? 0), failures, tokens: Number(h?.tokens ?? 0) };
}

/**
 * How long after its end an hour of usage counts is taken as closed, ms: instances' clocks are
 * taken to agree within this much (an instance further behind would add to an hour another has
 * closed, and that instance's dashboard would not see it; the budgets, counted apart, would).
 */
const CLOSED_AFTER_MS = 10 * 60_000;

/** node:crypto, loaded on first use: importing it costs every cold start ~14 ms. */
const nodeCrypto = onFirstUse<typeof import('node:crypto')>('node:crypto');

/** How long a closed connection's socket may take to close before it is destroyed, ms. */
const DISCONNECT_MS = 20;

/**
 * Closes one connection: QUIT if Redis answers within `ms`, else disconnect; then waits for the
 * socket to be gone (the client's `end`, or its destroy timer), so nothing is left running.
 */
async function shut(c: Client, ms: number): Promise<void> {
  if (c.status === 'end') return;
  const ended = new Promise<void>((resolve) => c.on('end', () => resolve()));
  if (c.status === 'ready') await within(c.quit().catch(() => undefined), ms);
  c.disconnect();
  await within(ended, DISCONNECT_MS + 10);
}

/** `p`, or nothing after `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** What a connection error says about the store, for a machine and in words (no credentials: ioredis never puts them in errors). */
function describeTrouble(e: unknown, server: string): { code: StoreTrouble; reason: string } {
  const msg = e instanceof Error ? e.message : '';
  if (/WRONGPASS|NOAUTH|invalid username-password|invalid password/i.test(msg)) return { code: 'auth_failed', reason: `authentication failed at ${server}: ${firstWords(msg)}` };
  if (/Unknown RESP type|Protocol error|unexpected reply/i.test(msg)) return { code: 'protocol', reason: `${server} does not speak the Redis protocol (${firstWords(msg)})` };
  if (/timed out|ETIMEDOUT/i.test(msg)) return { code: 'timeout', reason: `${server} did not answer in time` };
  return { code: 'unreachable', reason: `no connection to ${server}${msg ? ` (${firstWords(msg)})` : ''}` };
}

function firstWords(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

/** One hour's hash back into its counts: fields `[key, worker, model]\nmeasure`. */
function usageCounts(hour: number, fields: Readonly<Record<string, string>>): UsageCount[] {
  const counts = new Map<string, Mutable<UsageCount>>();
  for (const [field, value] of Object.entries(fields)) {
    const cut = field.lastIndexOf('\n');
    const id = field.slice(0, cut);
    const measure = field.slice(cut + 1) as 'requests' | 'inputTokens' | 'outputTokens' | 'cacheHits' | 'costUsd' | 'savedUsd';
    let c = counts.get(id);
    if (c === undefined) {
      const [key, worker, model] = JSON.parse(id) as [string | null, string, string | null];
      counts.set(id, (c = { hour, key, worker, model, requests: 0, inputTokens: 0, outputTokens: 0, costUsd: null, cacheHits: 0, savedUsd: null }));
    }
    c[measure] = Number(value);
  }
  return [...counts.values()];
}
