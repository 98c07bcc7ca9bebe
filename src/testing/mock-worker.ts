import { ABORTS_PROMPTLY, type GenerationOptions, type Price, type ToolCall, type ToolCallDelta, type WorkerCapabilities, type ChatMessage, type CompletionChunk, type FinishReason, type Health, type LlmWorker, type RateLimitHint, type StreamOptions, type Usage, type WorkerInfo } from '../behaviour/types.js';
import { WorkerError } from '../errors/pool.js';
import { pickGeneration } from '../behaviour/validate.js';
import { ALL_CAPABILITIES } from '../adapters/openai-request.js';
import { realClock, type Clock } from '../runtime/clock.js';
import { resolveLimits, type WorkerLimits } from '../pool/admission.js';
import { checkInteger, checkMs, checkObject } from '../runtime/checks.js';

function checkMockOptions(o: Partial<MockWorkerOptions>): MockWorkerOptions {
  checkObject(o, 'MockWorker options');
  if (o.delayMs !== undefined) checkMs(o.delayMs, 'delayMs');
  if (o.failAfter !== undefined) checkInteger(o.failAfter, 'failAfter');
  if (o.limits !== undefined) resolveLimits(o.limits, 'limits');
  return { ...o };
}

/** What a {@link MockWorker} does. Every field can be changed later with `set`. */
export interface MockWorkerOptions {
  /** Default `'mock'`. */
  name?: string;
  /** Default 50. */
  priority?: number;
  /** Models it claims to serve. Default `['mock-model']`. */
  models?: string[];
  /** The answer, as chunks of text, or a function of the conversation. Default `['Hello', ' from ', name]`. */
  chunks?: readonly string[] | ((messages: readonly ChatMessage[]) => Iterable<string> | AsyncIterable<string>);
  /** Wait before each chunk, ms (on `clock`). Default 0. */
  delayMs?: number;
  /** Fail to start: `true` always, a number for the next N starts, or the error to throw. */
  failOnStart?: boolean | number | Error;
  /** Break the stream after this many chunks. */
  failAfter?: number;
  /** The error thrown by `failOnStart` / `failAfter`. Default a `WorkerError` of kind `http`, status 500. */
  error?: Error;
  /** Accept the request, then stay silent until aborted. */
  hang?: boolean;
  /** End the stream without its final `done` chunk (a truncated answer). */
  truncate?: boolean;
  /** Scripted health results, in order; the last one repeats. Default `available`. */
  health?: Health | readonly Health[];
  /** A health check that never answers (until aborted). */
  hangHealth?: boolean;
  /** Reported on the final chunk. Default `'stop'`. */
  finishReason?: FinishReason;
  usage?: Usage;
  /** Clock for `delayMs`. Default the real clock (so test fake timers apply). */
  clock?: Clock;
  /** What it says it can take (`maxConcurrent`, `rpm`, `tpm`). Default unlimited. */
  limits?: WorkerLimits;
  /** Routing tags and model aliases (see `WorkerInfo.tags`). */
  tags?: string[];
  /** Reported through `reportLimits` on each request, as a backend's rate-limit headers would. */
  rateLimitHint?: RateLimitHint;
  /** What it says it supports (`WorkerInfo.capabilities`). Default tools, images and JSON schema. */
  capabilities?: WorkerCapabilities;
  /** What its tokens cost, US dollars per million (none: the cost is unknown, never guessed). */
  price?: Price;
  /**
   * Tool calls it makes after its text, streamed as deltas (each call's id and name, then its
   * arguments in two pieces; each piece counts as a chunk for `failAfter`). The final chunk then
   * says `finishReason: 'tool_calls'`.
   */
  toolCalls?: readonly ToolCall[];
}

/** One recorded `streamCompletion` call. */
export interface MockCall {
  readonly messages: readonly ChatMessage[];
  readonly model: string | undefined;
  readonly signal: AbortSignal;
  /** The request's generation options (tools, format, sampling), those that were set. */
  readonly options: GenerationOptions;
}

/**
 * A scriptable worker for tests of apps built on cortex: scripted failures, latency, chunk
 * lists, health sequences; it records every call. Exported from `cortex-otp/testing`.
 *
 * @example
 * const failing = new MockWorker({ name: 'local', priority: 10, failOnStart: true });
 * const working = new MockWorker({ name: 'cloud', priority: 20, chunks: ['Hi', '!'] });
 */
export class MockWorker implements LlmWorker {
  #o: MockWorkerOptions;
  #healthIndex = 0;
  /** Every `streamCompletion` call, in order. */
  readonly calls: MockCall[] = [];
  /** Number of health checks run. */
  healthChecks = 0;
  /** Streams that ended because their signal aborted or the consumer stopped early. */
  cancelled = 0;
  /** Streams open right now. */
  active = 0;

  /** @throws InvalidArgumentError for a bad option. */
  constructor(options: MockWorkerOptions = {}) {
    this.#o = checkMockOptions(options);
  }

  /** Changes the script from now on (e.g. make it fail, then recover). @throws InvalidArgumentError for a bad option. */
  set(options: Partial<MockWorkerOptions>): this {
    this.#o = { ...this.#o, ...checkMockOptions(options) };
    if (options.health !== undefined) this.#healthIndex = 0;
    return this;
  }

  /** Its name (`options.name`, default `mock`). */
  get name(): string {
    return this.#o.name ?? 'mock';
  }

  info(): WorkerInfo {
    return {
      name: this.name,
      kind: 'mock',
      models: this.#o.models ?? ['mock-model'],
      ...(this.#o.tags ? { tags: this.#o.tags } : {}),
      capabilities: this.#o.capabilities ?? ALL_CAPABILITIES,
      ...(this.#o.price !== undefined ? { price: this.#o.price } : {}),
    };
  }

  priority(): number {
    return this.#o.priority ?? 50;
  }

  /** The `limits` option (unlimited when absent). */
  limits(): WorkerLimits {
    return this.#o.limits ?? {};
  }

  async healthCheck(signal: AbortSignal): Promise<Health> {
    this.healthChecks++;
    if (this.#o.hangHealth) {
      await untilAborted(signal);
      return { status: 'unavailable', reason: 'aborted' };
    }
    const h = this.#o.health;
    if (h === undefined) return { status: 'available' };
    if (!Array.isArray(h)) return h as Health;
    const list = h as readonly Health[];
    const r = list[Math.min(this.#healthIndex, list.length - 1)]!;
    this.#healthIndex++;
    return r;
  }

  async streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    this.calls.push({ messages, model: opts.model, signal: opts.signal, options: pickGeneration(opts) ?? NO_OPTIONS });
    const o = this.#o;
    const f = o.failOnStart;
    if (f === true || f instanceof Error || (typeof f === 'number' && f > 0)) {
      if (typeof f === 'number') this.#o = { ...o, failOnStart: f - 1 };
      throw f instanceof Error ? f : this.#error('failed to start (scripted)');
    }
    opts.signal.throwIfAborted();
    if (o.rateLimitHint !== undefined) opts.reportLimits?.(o.rateLimitHint);
    const stream = this.#generate(messages, opts.signal, o);
    // Scripted chunk lists honour the signal at every wait; a user's chunk function may not.
    return typeof o.chunks === 'function' ? stream : Object.assign(stream, { [ABORTS_PROMPTLY]: true as const });
  }

  async *#generate(messages: readonly ChatMessage[], signal: AbortSignal, o: MockWorkerOptions): AsyncGenerator<CompletionChunk> {
    this.active++;
    let ended = false; // finished, truncated or failed as scripted
    let it: Iterator<string> | AsyncIterator<string> | null = null;
    const sleeper = o.delayMs ? new Sleeper(o.clock ?? realClock, signal) : null;
    try {
      if (o.hang) await untilAborted(signal);
      const source = typeof o.chunks === 'function' ? o.chunks(messages) : (o.chunks ?? ['Hello', ' from ', this.name]);
      let n = 0;
      // Arrays are walked directly (for await over an array wraps every element in a promise).
      const arr = Array.isArray(source) ? (source as readonly string[]) : null;
      it = arr
        ? null
        : Symbol.asyncIterator in (source as object)
          ? (source as AsyncIterable<string>)[Symbol.asyncIterator]()
          : (source as Iterable<string>)[Symbol.iterator]();
      const broke = (): Error | undefined => {
        if (o.failAfter === undefined || n < o.failAfter) return undefined;
        ended = true;
        return this.#error(`stream broke after ${n} chunks (scripted)`);
      };
      for (;;) {
        let text: string;
        if (arr) {
          if (n >= arr.length) break;
          text = arr[n]!;
        } else {
          const r = await it!.next();
          if (r.done) break;
          text = r.value;
        }
        const e = broke();
        if (e) throw e;
        if (sleeper) await sleeper.sleep(o.delayMs!);
        signal.throwIfAborted();
        n++;
        yield { text };
      }
      for (const piece of toolPieces(o.toolCalls ?? [])) {
        const e = broke();
        if (e) throw e;
        if (sleeper) await sleeper.sleep(o.delayMs!);
        signal.throwIfAborted();
        n++;
        yield { text: '', toolCalls: [piece] };
      }
      const e = broke();
      if (e) throw e;
      ended = true;
      if (o.truncate) return;
      const finishReason = o.finishReason ?? ((o.toolCalls?.length ?? 0) > 0 ? 'tool_calls' : 'stop');
      yield { text: '', done: true, finishReason, ...(o.usage ? { usage: o.usage } : {}) };
    } finally {
      sleeper?.dispose();
      void Promise.resolve(it?.return?.()).catch(() => {});
      this.active--;
      if (!ended) this.cancelled++;
    }
  }

  #error(message: string): Error {
    return this.#o.error ?? new WorkerError(this.name, 'http', message, { status: 500 });
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Waits on a clock, woken early by the signal: one abort listener per stream, not per wait. */
class Sleeper {
  #timer: unknown = undefined;
  #reject: ((e: unknown) => void) | null = null;
  readonly #clock: Clock;
  readonly #signal: AbortSignal;
  readonly #onAbort = (): void => {
    this.#clock.clearTimeout(this.#timer);
    this.#reject?.(this.#signal.reason);
  };

  constructor(clock: Clock, signal: AbortSignal) {
    this.#clock = clock;
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  sleep(ms: number): Promise<void> {
    if (this.#signal.aborted) return Promise.reject(this.#signal.reason);
    return new Promise((resolve, reject) => {
      this.#reject = reject;
      this.#timer = this.#clock.setTimeout(() => {
        this.#reject = null;
        resolve();
      }, ms);
    });
  }

  dispose(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#signal.removeEventListener('abort', this.#onAbort);
  }
}

/** Each call as its deltas: id and name, then the arguments in two pieces. */
function* toolPieces(calls: readonly ToolCall[]): Generator<ToolCallDelta> {
  for (const [index, c] of calls.entries()) {
    const half = Math.ceil(c.arguments.length / 2);
    yield { index, id: c.id, name: c.name };
    yield { index, arguments: c.arguments.slice(0, half) };
    yield { index, arguments: c.arguments.slice(half) };
  }
}

const NO_OPTIONS: GenerationOptions = Object.freeze({});
