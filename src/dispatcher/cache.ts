import { onFirstUse } from '../lazy-require.js';
import type { ChatMessage } from '../behaviour/types.js';
import { pickGeneration } from '../behaviour/validate.js';
import { StreamAbortedError } from '../errors/pool.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import type { DispatchOptions, StreamChunk } from './options.js';
import type { SharedStore } from '../store/store.js';

/** Options of the response cache (`startWorkers({ cache })`). */
export interface ResponseCacheOptions {
  /** Answers kept, least recently used dropped first. Default 1000. */
  maxEntries?: number;
  /** How long an answer is kept, ms. Default 600 000 (10 minutes). */
  ttlMs?: number;
  /** Also cache requests sampled with `temperature` (or `backendOptions.temperature`) above 0 (their answers vary). Default false. */
  sampled?: boolean;
  /**
   * Single flight: a request identical to one in flight (same key) waits for its complete answer
   * and replays it (`cached: true`) instead of asking a worker too; if the first does not
   * complete, each waiter runs on its own. Default true.
   */
  singleFlight?: boolean;
}

/** Checks cache options and fills in the defaults. @throws InvalidArgumentError naming the bad field. @internal */
export function checkCacheOptions(options: ResponseCacheOptions): Required<ResponseCacheOptions> {
  checkObject(options, 'cache');
  const { maxEntries = 1000, ttlMs = 600_000, sampled = false, singleFlight = true } = options;
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new InvalidArgumentError('cache.maxEntries', 'a whole number > 0', maxEntries);
  // Whole ms: lru-cache refuses a fractional ttl with a TypeError, after validation would have let it through.
  if (!(Number.isInteger(ttlMs) && ttlMs > 0)) throw new InvalidArgumentError('cache.ttlMs', 'a whole number of ms > 0', ttlMs);
  if (typeof sampled !== 'boolean') throw new InvalidArgumentError('cache.sampled', 'a boolean', sampled);
  if (typeof singleFlight !== 'boolean') throw new InvalidArgumentError('cache.singleFlight', 'a boolean', singleFlight);
  return { maxEntries, ttlMs, sampled, singleFlight };
}

/** A complete answer as it is kept: its chunks' text and the final chunk's details. @internal */
export interface Entry {
  readonly chunks: ReadonlyArray<Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'>>;
  readonly last: Pick<StreamChunk, 'finishReason' | 'usage' | 'model'>;
  /** What the answer cost when it was asked (US dollars, when known): what each hit saves. */
  readonly costUsd?: number;
}

/** Where entries are kept. */
interface Entries {
  get(key: string): Entry | undefined | Promise<Entry | undefined>;
  set(key: string, entry: Entry): void;
}

/** lru-cache, required when the first in-memory cache is made. */
const lruCache = onFirstUse<typeof import('lru-cache')>('lru-cache');

/** In this process: lru-cache, bounded by count and time. */
function inMemory(max: number, ttl: number): Entries {
  const { LRUCache } = lruCache();
  const lru = new LRUCache<string, Entry>({ max, ttl });
  return { get: (k) => lru.get(k), set: (k, e) => void lru.set(k, e) };
}

/** In the shared store (Redis: every instance reads what one kept). Its failures are misses and lost writes, never the request's. */
function inStore(store: SharedStore, max: number, ttl: number): Entries {
  return {
    get: (k) =>
      store.cacheGet(k).then(
        (v) => (v === undefined ? undefined : (JSON.parse(v) as Entry)),
        () => undefined,
      ),
    set: (k, e) => void store.cacheSet(k, JSON.stringify(e), ttl, max).catch(() => undefined),
  };
}

/**
 * Exact-match cache of complete answers, in memory (lru-cache, bounded by count and time). The
 * key is the normalised request: its scope (a tenant), model, route (asked, or chosen by the
 * router), messages, tools, format, sampling, backend options. Only an answer that completed on
 * one worker, without a continuation, is kept; a hit is replayed as a stream whose chunks say
 * `cached: true`. With single flight, identical requests in flight at once ask one worker. @internal
 */
export class ResponseCache {
  readonly #entries: Entries;
  readonly #sampled: boolean;
  readonly singleFlight: boolean;
  /** Requests in flight by key: each resolves with its answer once complete (undefined if it did not). */
  readonly #flights = new Map<string, Promise<Entry | undefined>>();

  /** @param shared with a shared store, entries live there (shared by instances); else in memory. */
  constructor(options: ResponseCacheOptions, shared?: SharedStore) {
    const { maxEntries, ttlMs, sampled, singleFlight } = checkCacheOptions(options);
    this.#entries = shared === undefined ? inMemory(maxEntries, ttlMs) : inStore(shared, maxEntries, ttlMs);
    this.#sampled = sampled;
    this.singleFlight = singleFlight;
  }

  /** The request's key, or undefined when it is not to be cached (opted out, or sampled). */
  key(messages: readonly ChatMessage[], o: DispatchOptions): string | undefined {
    if (o.cache === false) return undefined;
    const t = o.temperature ?? o.backendOptions?.temperature;
    if (!this.#sampled && typeof t === 'number' && t > 0) return undefined;
    const gen = pickGeneration(o) ?? null;
    const parts = messages.map((m) => [m.role, m.content, m.toolCalls ?? null, m.toolCallId ?? null, m.name ?? null]);
    return JSON.stringify([o.cacheScope ?? null, o.model ?? null, o.route ?? null, parts, gen, o.backendOptions ?? null]);
  }

  /** The answer an identical request in flight will have (undefined when none is in flight). */
  inFlight(key: string): Promise<Entry | undefined> | undefined {
    return this.#flights.get(key);
  }

  /** Streams `source` as the one request in flight for `key`: identical ones wait for its answer. */
  async *leading(key: string, source: AsyncGenerator<StreamChunk, void, undefined>): AsyncGenerator<StreamChunk, void, undefined> {
    let land!: (e: Entry | undefined) => void;
    this.#flights.set(key, new Promise<Entry | undefined>((resolve) => (land = resolve)));
    let kept: Entry | undefined;
    try {
      yield* this.recording(key, source, (e) => (kept = e));
    } finally {
      this.#flights.delete(key);
      land(kept);
    }
  }

  /** The cached answer, undefined on a miss: at once from memory, a promise from a shared store (a store in trouble is a miss). */
  lookup(key: string): Entry | undefined | Promise<Entry | undefined> {
    return this.#entries.get(key);
  }

  /** Streams `source` through, keeping the answer if it completes on one worker without a continuation (`onKept` is told). */
  async *recording(key: string, source: AsyncGenerator<StreamChunk, void, undefined>, onKept?: (e: Entry) => void): AsyncGenerator<StreamChunk, void, undefined> {
    const chunks: Array<Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'>> = [];
    let whole = true;
    for await (const c of source) {
      if (c.segment > 0 || (chunks.length > 0 && c.worker !== chunks[0]!.worker)) whole = false;
      if (whole) chunks.push(kept(c));
      if (c.done && whole) {
        const last = { ...(c.finishReason ? { finishReason: c.finishReason } : {}), ...(c.usage ? { usage: c.usage } : {}), ...(c.model !== undefined ? { model: c.model } : {}) };
        const entry: Entry = { chunks, last, ...(c.costUsd !== undefined ? { costUsd: c.costUsd } : {}) };
        this.#entries.set(key, entry);
        onKept?.(entry);
      }
      yield c;
    }
  }
}

/** A cached answer replayed as a stream whose chunks say `cached: true`. @internal */
export async function* replay(e: Entry, signal: AbortSignal | undefined): AsyncGenerator<StreamChunk, void, undefined> {
  const n = e.chunks.length;
  let text = '';
  for (let i = 0; i < n; i++) {
    if (signal?.aborted) throw new StreamAbortedError(text, signal.reason);
    const c = e.chunks[i]!;
    text += c.text;
    const done = i === n - 1;
    yield { ...c, done, segment: 0, cached: true, ...(done ? e.last : {}) };
  }
}

/** What a chunk keeps in the cache: its worker, text, reasoning and tool-call pieces. */
function kept(c: StreamChunk): Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'> {
  return {
    worker: c.worker,
    text: c.text,
    ...(c.reasoning !== undefined ? { reasoning: c.reasoning } : {}),
    ...(c.toolCalls !== undefined ? { toolCalls: c.toolCalls } : {}),
  };
}
