import type { z } from 'zod';
import { lazy } from '../lazy-zod.js';
import { type ChatMessage, type CompletionChunk, type FinishReason, type Health, type LlmWorker, type StreamOptions, type WorkerCapabilities, type WorkerInfo, type Price } from '../behaviour/types.js';
import { capabilitiesShape, limitsShape, parseWith, pickLimits, tagsShape } from '../behaviour/validate.js';
import { ollamaRequest, ollamaToolCalls } from './ollama-request.js';
import { ALL_CAPABILITIES } from './openai-request.js';
import type { WorkerLimits } from '../pool/admission.js';
import { WorkerError } from '../errors/pool.js';
import { describe } from '../errors/runtime.js';
import { ChunkStream } from './chunk-stream.js';
import { connectionReason, readError, publicEndpoint, clip } from './backend-errors.js';
import { offersModel, openStream, readSome, type BodyReader } from './http.js';
import { NdjsonSplitter } from './ndjson.js';

/** Options of {@link OllamaWorker}. Defaults are the seed's. */
export interface OllamaWorkerOptions {
  /** Default `'ollama-local'`. */
  name?: string;
  /** Default `'http://localhost:11434'`. */
  baseUrl?: string;
  /** Default `'gemma3:4b'`. */
  model?: string;
  /** Default 10 (local first). */
  priority?: number;
  /** Hard cap on one request, ms. Default 60 000. */
  timeoutMs?: number;
  /** Longest NDJSON line accepted, bytes. Default 1 MiB. */
  maxLineBytes?: number;
  /** Ollama's `keep_alive` for requests (e.g. `'5m'`). Default: the server's. */
  keepAlive?: string | number;
  /**
   * Streams at once. Default 2: Ollama runs `OLLAMA_NUM_PARALLEL` (1 to 4) at once and queues
   * the rest inside itself, where a request would wait out the pool's first-chunk timeout;
   * beyond 2 the pool spills over to the next worker or queues. Set it to the server's setting.
   */
  maxConcurrent?: number;
  /** Requests per minute. Default unlimited. */
  rpm?: number;
  /** Tokens per minute. Default unlimited. */
  tpm?: number;
  /** Routing tags and model aliases (see `WorkerInfo.tags`). */
  tags?: string[];
  /**
   * What the model supports beyond text. Default tools, images and JSON schema all true (Ollama's
   * API carries them): set `false` for what your model lacks (e.g. `images: false` for a model
   * without vision; `ollama show <model>` lists its capabilities).
   */
  capabilities?: WorkerCapabilities;
  /** What its tokens cost, US dollars per million (none: the cost is unknown, never guessed). */
  price?: Price;
}

/** An http(s) URL, with one clear message. @internal */
export const httpUrl = lazy((z) =>
  z.string().refine((u) => {
    try {
      return ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  }, 'expected an http:// or https:// URL'),
);

const schema = lazy((z) =>
  z
  .object({
    name: z.string().trim().min(1).default('ollama-local'),
    baseUrl: httpUrl().default('http://localhost:11434'),
    model: z.string().trim().min(1).default('gemma3:4b'),
    priority: z.number().finite().default(10),
    timeoutMs: z.number().finite().positive().default(60_000),
    maxLineBytes: z.number().int().positive().default(1 << 20),
    keepAlive: z.union([z.string(), z.number()]).optional(),
    ...limitsShape(),
    ...tagsShape(),
    ...capabilitiesShape(),
    maxConcurrent: limitsShape().maxConcurrent.default(2),
  })
  .strict(),
);

interface OllamaLine {
  error?: unknown;
  message?: { content?: unknown; thinking?: unknown; tool_calls?: unknown };
  done?: unknown;
  done_reason?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
}

/**
 * A worker over Ollama's native streaming `/api/chat` (NDJSON), with Node's `fetch`.
 * Cancels the HTTP request when the signal aborts or the consumer stops reading; maps HTTP
 * errors and in-stream `{"error": ...}` lines to typed `WorkerError`s; a body that ends
 * without `done: true` is an error, never a short answer.
 * @throws ValidationError for bad options (naming the field).
 * @example
 * const local = new OllamaWorker({ model: 'llama3.2' });
 */
export class OllamaWorker implements LlmWorker {
  readonly #o: z.output<ReturnType<typeof schema>>;
  readonly #base: string;
  readonly #caps: WorkerCapabilities;

  constructor(options: OllamaWorkerOptions = {}) {
    this.#o = parseWith(schema, options, 'OllamaWorker options');
    this.#base = this.#o.baseUrl.replace(/\/+$/, '');
    this.#caps = { ...ALL_CAPABILITIES, ...this.#o.capabilities };
  }

  info(): WorkerInfo {
    return { name: this.#o.name, kind: 'ollama', models: [this.#o.model], endpoint: publicEndpoint(this.#base), ...(this.#o.tags ? { tags: this.#o.tags } : {}), capabilities: this.#caps, ...(this.#o.price ? { price: this.#o.price } : {}) };
  }

  priority(): number {
    return this.#o.priority;
  }

  /** `maxConcurrent` (default 2), `rpm`, `tpm`, as given. */
  limits(): WorkerLimits {
    return pickLimits(this.#o);
  }

  /** GET `/api/tags`: available when the server answers and the configured model is pulled. */
  async healthCheck(signal: AbortSignal): Promise<Health> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}/api/tags`, { signal });
    } catch (e) {
      return { status: 'unavailable', reason: connectionReason(this.#o.name, e, signal) };
    }
    const body = await readSome(res, 1 << 20);
    if (!res.ok) return { status: 'unavailable', reason: `GET /api/tags answered HTTP ${res.status}` };
    let names: string[];
    try {
      const models = (JSON.parse(body) as { models?: Array<{ name?: unknown; model?: unknown }> | null }).models ?? [];
      names = models.flatMap((m) => [m.name, m.model]).filter((n): n is string => typeof n === 'string');
    } catch {
      return { status: 'unavailable', reason: 'GET /api/tags returned invalid JSON' };
    }
    const want = this.#o.model;
    if (!offersModel(names, want)) {
      return { status: 'unavailable', reason: `model "${want}" is not pulled (run: ollama pull ${want})` };
    }
    return { status: 'available' };
  }

  async streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    const name = this.#o.name;
    const bo = opts.backendOptions ?? {};
    const body = {
      model: opts.model ?? this.#o.model,
      ...(bo.format !== undefined ? { format: bo.format } : {}),
      ...ollamaRequest(name, messages, opts, this.#caps, bo.options),
      stream: true,
      ...(bo.think !== undefined ? { think: bo.think } : {}),
      ...((bo.keep_alive ?? this.#o.keepAlive) !== undefined ? { keep_alive: bo.keep_alive ?? this.#o.keepAlive } : {}),
    };
    const { body: stream, signal, cleanup } = await openStream(
      name,
      `${this.#base}/api/chat`,
      { headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(body) },
      opts.signal,
      this.#o.timeoutMs,
    );
    return this.#chunks(stream, signal, opts.signal, cleanup);
  }

  #chunks(body: BodyReader, signal: AbortSignal, callerSignal: AbortSignal, cleanup: () => void): ChunkStream<string> {
    const name = this.#o.name;
    const lines = new NdjsonSplitter(this.#o.maxLineBytes);
    let calls = 0; // tool calls so far: Ollama sends each whole, without an index
    // A reader, not `for await` over the body: stopping must not cancel a body that is complete,
    // so the connection can be reused.
    return new ChunkStream(
      body,
      {
        split: (bytes) => lines.push(bytes),
        splitEnd: () => {
          const last = lines.end();
          return last === undefined ? [] : [last];
        },
        get splitError() {
          return lines.failed;
        },
        decode: (line) => {
          const obj = parseLine(name, line);
          const text = typeof obj.message?.content === 'string' ? obj.message.content : '';
          const reasoning = typeof obj.message?.thinking === 'string' && obj.message.thinking !== '' ? obj.message.thinking : undefined;
          const toolCalls = ollamaToolCalls(obj.message?.tool_calls, calls);
          if (toolCalls !== undefined) calls += toolCalls.length;
          if (obj.done === true) {
            const reason = finishReason(obj.done_reason);
            return {
              text,
              ...(reasoning !== undefined ? { reasoning } : {}),
              ...(toolCalls !== undefined ? { toolCalls } : {}),
              done: true,
              finishReason: calls > 0 && reason === 'stop' ? 'tool_calls' : reason, // Ollama says `stop` after tool calls
              usage: {
                ...(typeof obj.prompt_eval_count === 'number' ? { promptTokens: obj.prompt_eval_count } : {}),
                ...(typeof obj.eval_count === 'number' ? { completionTokens: obj.eval_count } : {}),
              },
            };
          }
          if (toolCalls !== undefined) return { text, toolCalls, ...(reasoning !== undefined ? { reasoning } : {}) };
          if (reasoning !== undefined) return { text, reasoning };
          return text === '' ? undefined : { text };
        },
        ended: () => {
          throw new WorkerError(name, 'truncated', 'the stream ended without a done line');
        },
      },
      readError(name, 'line', callerSignal, signal),
      cleanup,
      signal,
    );
  }
}

/** One NDJSON line as an object; an `{"error": ...}` line is the backend's error. */
function parseLine(name: string, line: string): OllamaLine {
  let obj: OllamaLine;
  try {
    obj = JSON.parse(line) as OllamaLine;
  } catch {
    throw new WorkerError(name, 'protocol', `malformed JSON line: ${clip(line, [], 80)}`);
  }
  if (typeof obj !== 'object' || obj === null) throw new WorkerError(name, 'protocol', 'a line is not a JSON object');
  if (obj.error !== undefined) {
    throw new WorkerError(name, 'stream_error', `error during generation: ${describe(errorText(obj.error))}`, { body: errorText(obj.error) });
  }
  return obj;
}

function errorText(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
  return JSON.stringify(e);
}

function finishReason(r: unknown): FinishReason {
  if (r === undefined || r === null || r === '' || r === 'stop') return 'stop';
  if (r === 'length') return 'length';
  return 'other';
}

