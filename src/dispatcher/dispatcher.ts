import { z } from 'zod';
import type { ChatMessage, FinishReason, Usage } from '../behaviour/types.js';
import { parseWith, validateMessages } from '../behaviour/validate.js';
import type { ActorSystem } from '../runtime/system.js';
import { checkHealth, poolStatus, type PoolRef, type PoolStatus } from '../pool/pool.js';
import type { HealthReport } from '../pool/health.js';
import { streamThroughPool, type DispatchOptions, type StreamChunk } from '../pool/stream.js';

/** A complete answer, from {@link Dispatcher.complete}. */
export interface Completion {
  readonly text: string;
  /** Workers that produced the text, in order (more than one after a continuation). */
  readonly workers: readonly string[];
  readonly finishReason?: FinishReason;
  readonly usage?: Usage;
}

const timeout = z.number().finite().positive();
const optionsSchema = z
  .object({
    model: z.string().min(1).optional(),
    signal: z.instanceof(AbortSignal, { message: 'expected an AbortSignal' }).optional(),
    backendOptions: z.record(z.string(), z.unknown()).optional(),
    deadlineMs: timeout.optional(),
    firstChunkTimeoutMs: timeout.optional(),
    idleTimeoutMs: timeout.optional(),
    continuation: z
      .union([z.literal(false), z.object({ maxSwitches: z.number().int().positive().optional(), prompt: z.string().min(1).optional() }).strict()])
      .optional(),
  })
  .strict();

/** Fast path: no options, or only a signal and a model of the right types. */
function isPlainOptions(o: DispatchOptions): boolean {
  if (typeof o !== 'object' || o === null) return false;
  for (const k in o) {
    const v = (o as Record<string, unknown>)[k];
    if (k === 'signal' ? !(v instanceof AbortSignal) : k === 'model' ? typeof v !== 'string' || v === '' : true) return false;
  }
  return true;
}

/**
 * The facade an app calls. Validates input, streams through the pool, and maps every failure
 * to a typed error.
 */
export class Dispatcher {
  readonly #system: ActorSystem;
  readonly #poolName: string;

  /** @param poolName the registered name of the pool actor (looked up per request, so a restarted pool is found). */
  constructor(system: ActorSystem, poolName: string) {
    this.#system = system;
    this.#poolName = poolName;
  }

  /**
   * Streams an answer. Chunks carry the worker that produced them; the last has `done: true`.
   * A stream that cannot complete ends by throwing `NoWorkersAvailableError`,
   * `StreamInterruptedError` (with the partial text), `StreamAbortedError` or `DeadlineExceededError`.
   * @throws ValidationError at once, for bad messages or options (naming the field).
   * @example
   * for await (const chunk of dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }])) {
   *   process.stdout.write(chunk.text);
   * }
   */
  dispatchStream(messages: readonly ChatMessage[], options: DispatchOptions = {}): AsyncGenerator<StreamChunk, void, undefined> {
    const msgs = validateMessages(messages);
    const opts = isPlainOptions(options) ? options : (parseWith(optionsSchema, options, 'options') as DispatchOptions);
    return streamThroughPool(this.#system, () => this.#system.whereis(this.#poolName) as PoolRef | undefined, msgs, opts);
  }

  /** Collects a whole answer. Same errors as {@link Dispatcher.dispatchStream}. */
  async complete(messages: readonly ChatMessage[], options: DispatchOptions = {}): Promise<Completion> {
    let text = '';
    const workers: string[] = [];
    let last: StreamChunk | undefined;
    for await (const c of this.dispatchStream(messages, options)) {
      text += c.text;
      if (workers.at(-1) !== c.worker) workers.push(c.worker);
      last = c;
    }
    return {
      text,
      workers,
      ...(last?.finishReason !== undefined ? { finishReason: last.finishReason } : {}),
      ...(last?.usage !== undefined ? { usage: last.usage } : {}),
    };
  }

  /** Snapshot of every worker (health, circuit, in-flight, counts, latencies). */
  status(): Promise<PoolStatus> {
    return poolStatus(this.#pool());
  }

  /** Runs a health check of every worker now. */
  checkHealth(): Promise<HealthReport[]> {
    return checkHealth(this.#pool());
  }

  #pool(): PoolRef {
    const p = this.#system.whereis(this.#poolName) as PoolRef | undefined;
    if (p === undefined) throw new Error(`pool "${this.#poolName}" is not running`);
    return p;
  }
}
