import { createRequire } from 'node:module';
import type { ChatMessage } from '../behaviour/types.js';
import { pickGeneration } from '../behaviour/validate.js';
import { StreamAbortedError } from '../errors/pool.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import type { DispatchOptions, StreamChunk } from './request.js';

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

/** A complete answer as it is kept: its chunks' text and the final chunk's details. */
interface Entry {
  readonly chunks: ReadonlyArray<Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'>>;
  readonly last: Pick<StreamChunk, 'finishReason' | 'usage'>;
}

type Lru = { get(k: string): Entry | undefined; set(k: string, v: Entry): void; clear(): void; readonly size: number };

/**
 * Exact-match cache of complete answers, in memory (lru-cache, bounded by count and time). The
 * key is the normalised request: model, route, messages, tools, format, sampling, backend options. Only an answer that completed
 * on one worker, without a continuation, is kept; a hit is replayed as a stream whose chunks
 * say `cached: true`. @internal
 */
export class ResponseCache {
  readonly #lru: Lru;
  readonly #sampled: boolean;

  constructor(options: ResponseCacheOptions) {
    const { maxEntries, ttlMs, sampled } = checkCacheOptions(options);
    const { LRUCache } = createRequire(import.meta.url)('lru-cache') as typeof import('lru-cache');
    this.#lru = new LRUCache<string, Entry>({ max: maxEntries, ttl: ttlMs });
    this.#sampled = sampled;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** The request's key, or undefined when it is not to be cached (opted out, or sampled). */
  key(messages: readonly ChatMessage[], o: DispatchOptions): string | undefined {
    if (o.cache === false) return undefined;
    const t = o.temperature ?? o.backendOptions?.temperature;
    if (!this.#sampled && typeof t === 'number' && t > 0) return undefined;
    const gen = pickGeneration(o) ?? null;
    return JSON.stringify([o.model ?? null, o.route ?? null, messages.map((m) => [m.role, m.content, m.toolCalls ?? null, m.toolCallId ?? null, m.name ?? null]), gen, o.backendOptions ?? null]);
  }

  /** The cached answer replayed as a stream, or undefined on a miss. */
  replay(key: string, signal: AbortSignal | undefined): AsyncGenerator<StreamChunk, void, undefined> | undefined {
    const e = this.#lru.get(key);
    return e === undefined ? undefined : replay(e, signal);
  }

  /** Streams `source` through, keeping the answer if it completes on one worker without a continuation. */
  async *recording(key: string, source: AsyncGenerator<StreamChunk, void, undefined>): AsyncGenerator<StreamChunk, void, undefined> {
    const chunks: Array<Pick<StreamChunk, 'worker' | 'text' | 'reasoning' | 'toolCalls'>> = [];
    let whole = true;
    for await (const c of source) {
      if (c.segment > 0 || (chunks.length > 0 && c.worker !== chunks[0]!.worker)) whole = false;
      if (whole) chunks.push(kept(c));
      if (c.done && whole) this.#lru.set(key, { chunks, last: { ...(c.finishReason ? { finishReason: c.finishReason } : {}), ...(c.usage ? { usage: c.usage } : {}) } });
      yield c;
    }
  }
}

async function* replay(e: Entry, signal: AbortSignal | undefined): AsyncGenerator<StreamChunk, void, undefined> {
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
