import { createRequire } from 'node:module';
import type { ChatMessage } from '../behaviour/types.js';
import { pickGeneration } from '../behaviour/validate.js';
import { StreamAbortedError } from '../errors/pool.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import type { DispatchOptions, StreamChunk } from './request.js';
import type { SharedStore } from '../store/store.js';

/** Options of the response cache (`startWorkers({ cache })`). */
export interface ResponseCacheOptions {
  /** Answers kept, least recently used dropped first. Default 1000. */
  maxEntries?: number;
  /** How long an answer is kept, ms. Default 600 000 (10 minutes). */
  ttlMs?: number;
  /** Also cache requests sampled with `temperature` (or `backendOptions.temperature`) above 0 (their answers vary). Default false. */
  sampled?: boolean;
}

/** Checks cache options and fills in the defaults. @throws InvalidArgumentError naming the bad field. @internal */
export function checkCacheOptions(options: ResponseCacheOptions): Required<ResponseCacheOptions> {
  checkObject(options, 'cache');
  const { maxEntries = 1000, ttlMs = 600_000, sampled = false } = options;
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new InvalidArgumentError('cache.maxEntries', 'a whole number > 0', maxEntries);
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new InvalidArgumentError('cache.ttlMs', 'a number of ms > 0', ttlMs);
  if (typeof sampled !== 'boolean') throw new InvalidArgumentError('cache.sampled', 'a boolean', sampled);
  return { maxEntries, ttlMs, sampled };
}

/** A complete answer as it is kept: its chunks' text and the final chunk's details. @internal */
export interface Entry {
  readonly chunks: ReadonlyArray<Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'>>;
  readonly last: Pick<StreamChunk, 'finishReason' | 'usage'>;
}

/** Where entries are kept. */
interface Entries {
  get(key: string): Entry | undefined | Promise<Entry | undefined>;
  set(key: string, entry: Entry): void;
}

/** In this process: lru-cache, bounded by count and time. */
function inMemory(max: number, ttl: number): Entries {
  const { LRUCache } = createRequire(import.meta.url)('lru-cache') as typeof import('lru-cache');
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
 * key is the normalised request: model, route, messages, tools, format, sampling, backend options. Only an answer that completed
 * on one worker, without a continuation, is kept; a hit is replayed as a stream whose chunks
 * say `cached: true`. @internal
 */
export class ResponseCache {
  readonly #entries: Entries;
  readonly #sampled: boolean;

  /** @param shared with a shared store, entries live there (shared by instances); else in memory. */
  constructor(options: ResponseCacheOptions, shared?: SharedStore) {
    const { maxEntries, ttlMs, sampled } = checkCacheOptions(options);
    this.#entries = shared === undefined ? inMemory(maxEntries, ttlMs) : inStore(shared, maxEntries, ttlMs);
    this.#sampled = sampled;
  }

  /** The request's key, or undefined when it is not to be cached (opted out, or sampled). */
  key(messages: readonly ChatMessage[], o: DispatchOptions): string | undefined {
    if (o.cache === false) return undefined;
    const t = o.temperature ?? o.backendOptions?.temperature;
    if (!this.#sampled && typeof t === 'number' && t > 0) return undefined;
    const gen = pickGeneration(o) ?? null;
    return JSON.stringify([o.model ?? null, o.route ?? null, messages.map((m) => [m.role, m.content, m.toolCalls ?? null, m.toolCallId ?? null, m.name ?? null]), gen, o.backendOptions ?? null]);
  }

  /** The cached answer, undefined on a miss: at once from memory, a promise from a shared store (a store in trouble is a miss). */
  lookup(key: string): Entry | undefined | Promise<Entry | undefined> {
    return this.#entries.get(key);
  }

  /** Streams `source` through, keeping the answer if it completes on one worker without a continuation. */
  async *recording(key: string, source: AsyncGenerator<StreamChunk, void, undefined>): AsyncGenerator<StreamChunk, void, undefined> {
    const chunks: Array<Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'>> = [];
    let whole = true;
    for await (const c of source) {
      if (c.segment > 0 || (chunks.length > 0 && c.worker !== chunks[0]!.worker)) whole = false;
      if (whole) chunks.push(kept(c));
      if (c.done && whole) this.#entries.set(key, { chunks, last: { ...(c.finishReason ? { finishReason: c.finishReason } : {}), ...(c.usage ? { usage: c.usage } : {}) } });
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
