import { lazy } from '../lazy-zod.js';
import { type ChatMessage, type CompletionChunk, type FinishReason, type Health, type LlmWorker, type StreamOptions, type Usage, type WorkerCapabilities, type WorkerInfo, type Price } from '../behaviour/types.js';
import { capabilitiesShape, limitsShape, parseWith, pickLimits, tagsShape } from '../behaviour/validate.js';
import { ALL_CAPABILITIES, openaiRequest, toolCallDeltas } from './openai-request.js';
import type { WorkerLimits } from '../pool/admission.js';
import { ValidationError, WorkerError } from '../errors/pool.js';
import type { ChunkStream } from './chunk-stream.js';
import { connectionReason, readError, errorMessage, publicEndpoint, rateLimitRest, clip } from './backend-errors.js';
import { offersModel, openStream, readSome, type BodyReader } from './http.js';
import { httpUrl } from './ollama.js';
import { sseChunks, type SseItem } from './sse.js';

/** Known OpenAI-compatible services: base URL, default priority, and where the key lives. */
export const OPENAI_PRESETS = {
  openai: { baseUrl: 'https://api.openai.com/v1', priority: 80, apiKeyEnv: 'OPENAI_API_KEY', includeUsage: true, provider: 'openai' },
  groq: { baseUrl: 'https://api.groq.com/openai/v1', priority: 60, apiKeyEnv: 'GROQ_API_KEY', includeUsage: true, provider: 'groq' },
  gemini: { baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai', priority: 70, apiKeyEnv: 'GEMINI_API_KEY', includeUsage: true, provider: 'gcp.gemini' },
  vllm: { baseUrl: 'http://localhost:8000/v1', priority: 20, apiKeyEnv: undefined, includeUsage: true, provider: 'vllm' },
  lmstudio: { baseUrl: 'http://localhost:1234/v1', priority: 15, apiKeyEnv: undefined, includeUsage: false, provider: 'lmstudio' },
  llamacpp: { baseUrl: 'http://localhost:8080/v1', priority: 15, apiKeyEnv: undefined, includeUsage: true, provider: 'llama.cpp' },
  ollama: { baseUrl: 'http://localhost:11434/v1', priority: 10, apiKeyEnv: undefined, includeUsage: true, provider: 'ollama' },
  // Both refuse `stream_options` (422 extra_forbidden); Mistral sends usage on its last chunk anyway.
  mistral: { baseUrl: 'https://api.mistral.ai/v1', priority: 70, apiKeyEnv: 'MISTRAL_API_KEY', includeUsage: false, provider: 'mistral_ai' },
  cohere: { baseUrl: 'https://api.cohere.ai/compatibility/v1', priority: 70, apiKeyEnv: 'COHERE_API_KEY', includeUsage: false, provider: 'cohere' },
} as const;

/** Name of an entry of {@link OPENAI_PRESETS}. */
export type OpenAIPreset = keyof typeof OPENAI_PRESETS;

/** Options of {@link OpenAIWorker}. */
export interface OpenAIWorkerOptions {
  /** The model to ask for (required). */
  model: string;
  /** Fills in `baseUrl`, `priority` and `apiKeyEnv`. */
  preset?: OpenAIPreset;
  /** Default: the preset's name, else `'openai-compatible'`. */
  name?: string;
  /** Base URL including `/v1`. Default: the preset's. */
  baseUrl?: string;
  /** Name of the environment variable holding the API key (read at each request, never stored in `info()` or messages). */
  apiKeyEnv?: string;
  /** The key itself, for programmatic use (prefer `apiKeyEnv`). Never logged or shown. */
  apiKey?: string;
  /** Default: the preset's, else 50. */
  priority?: number;
  /** Hard cap on one request, ms. Default 120 000. */
  timeoutMs?: number;
  /** Longest SSE event accepted, bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** Ask for a usage chunk (`stream_options.include_usage`). Default: the preset's, else true. */
  includeUsage?: boolean;
  /** Streams at once. Default unlimited. */
  maxConcurrent?: number;
  /** Requests per minute (your plan's quota). Default unlimited; the `x-ratelimit-*` headers rest the worker anyway. */
  rpm?: number;
  /** Tokens per minute. Default unlimited. */
  tpm?: number;
  /** Routing tags and model aliases (see `WorkerInfo.tags`). */
  tags?: string[];
  /** What the model supports beyond text. Default tools, images and JSON schema all true: set `false` for what your model lacks. */
  capabilities?: WorkerCapabilities;
  /** What its tokens cost, US dollars per million (none: the cost is unknown, never guessed). */
  price?: Price;
}

const schema = lazy((z) => {
  const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
  return z.object({
    model: z.string().trim().min(1),
    preset: z.enum(Object.keys(OPENAI_PRESETS) as [OpenAIPreset, ...OpenAIPreset[]]).optional(),
    name: z.string().trim().min(1).optional(),
    baseUrl: httpUrl().optional(),
    apiKeyEnv: envName.optional(),
    apiKey: z.string().min(1).optional(),
    priority: z.number().finite().optional(),
    timeoutMs: z.number().finite().positive().default(120_000),
    maxEventBytes: z.number().int().positive().default(1 << 20),
    includeUsage: z.boolean().optional(),
    ...limitsShape(),
    ...tagsShape(),
    ...capabilitiesShape(),
  })
  .strict();
});

interface Delta {
  choices?: Array<{ delta?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown }; finish_reason?: unknown }> | null;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  error?: unknown;
  object?: unknown;
}

/**
 * A worker over any OpenAI-compatible `/chat/completions` stream (SSE): OpenAI, Groq,
 * Gemini's OpenAI endpoint, vLLM, LM Studio, llama.cpp's server, Ollama's `/v1`. The API key
 * comes from the environment variable named by `apiKeyEnv` and never appears in `info()`,
 * events or errors. No retries of its own: the pool fails over.
 * @throws ValidationError for bad options.
 * @example
 * const groq = new OpenAIWorker({ preset: 'groq', model: 'llama-3.1-8b-instant' }); // reads GROQ_API_KEY
 */
export class OpenAIWorker implements LlmWorker {
  readonly #name: string;
  readonly #base: string;
  readonly #model: string;
  readonly #priority: number;
  readonly #apiKeyEnv: string | undefined;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;
  readonly #maxEventBytes: number;
  readonly #includeUsage: boolean;
  readonly #limits: WorkerLimits;
  readonly #tags: string[] | undefined;
  readonly #caps: WorkerCapabilities;
  readonly #provider: string;
  readonly #price: Price | undefined;

  constructor(options: OpenAIWorkerOptions) {
    const o = parseWith(schema, options, 'OpenAIWorker options');
    const p = o.preset ? OPENAI_PRESETS[o.preset] : undefined;
    this.#name = o.name ?? o.preset ?? 'openai-compatible';
    const base = o.baseUrl ?? p?.baseUrl;
    if (base === undefined) {
      throw new ValidationError([{ path: 'OpenAIWorker options.baseUrl', message: 'expected a base URL, or a preset' }]);
    }
    this.#base = base.replace(/\/+$/, '');
    this.#model = o.model;
    this.#priority = o.priority ?? p?.priority ?? 50;
    this.#apiKeyEnv = o.apiKeyEnv ?? p?.apiKeyEnv;
    this.#apiKey = o.apiKey;
    this.#timeoutMs = o.timeoutMs;
    this.#maxEventBytes = o.maxEventBytes;
    this.#includeUsage = o.includeUsage ?? p?.includeUsage ?? true;
    this.#limits = pickLimits(o);
    this.#tags = o.tags;
    this.#caps = { ...ALL_CAPABILITIES, ...o.capabilities };
    this.#provider = p?.provider ?? 'openai';
    this.#price = o.price;
  }

  /** `maxConcurrent`, `rpm`, `tpm`, as given (unlimited by default). */
  limits(): WorkerLimits {
    return this.#limits;
  }

  info(): WorkerInfo {
    return { name: this.#name, kind: 'openai', provider: this.#provider, models: [this.#model], endpoint: publicEndpoint(this.#base), ...(this.#tags ? { tags: this.#tags } : {}), capabilities: this.#caps, ...(this.#price ? { price: this.#price } : {}) };
  }

  priority(): number {
    return this.#priority;
  }

  #key(): string | undefined {
    if (this.#apiKey !== undefined) return this.#apiKey;
    if (this.#apiKeyEnv === undefined) return undefined;
    const v = process.env[this.#apiKeyEnv];
    return v === undefined || v === '' ? undefined : v;
  }

  #headers(key: string | undefined): Record<string, string> {
    return key === undefined ? {} : { authorization: `Bearer ${key}` };
  }

  #missingKey(): string | undefined {
    return this.#apiKeyEnv !== undefined && this.#key() === undefined ? `API key missing: set the environment variable ${this.#apiKeyEnv}` : undefined;
  }

  /** GET `/models`: available when it answers and lists the model (or lists nothing, as some servers do). */
  async healthCheck(signal: AbortSignal): Promise<Health> {
    const missing = this.#missingKey();
    if (missing) return { status: 'unavailable', reason: missing };
    const key = this.#key();
    let res: Response;
    try {
      res = await fetch(`${this.#base}/models`, { headers: this.#headers(key), signal });
    } catch (e) {
      return { status: 'unavailable', reason: connectionReason(this.#name, e, signal) };
    }
    const body = await readSome(res, 1 << 20);
    if (res.status === 401 || res.status === 403) return { status: 'unavailable', reason: `rejected credentials (HTTP ${res.status})` };
    if (!res.ok) return { status: 'unavailable', reason: `GET /models answered HTTP ${res.status}: ${clip(errorMessage(body), key ? [key] : [], 200)}` };
    try {
      const data = (JSON.parse(body) as { data?: Array<{ id?: unknown }> | null }).data ?? [];
      const ids = data.map((m) => m.id).filter((x): x is string => typeof x === 'string');
      if (ids.length > 0 && !offersModel(ids, this.#model)) return { status: 'unavailable', reason: `model "${this.#model}" is not offered by ${publicEndpoint(this.#base)}` };
    } catch {
      return { status: 'unavailable', reason: 'GET /models returned invalid JSON' };
    }
    return { status: 'available' };
  }

  async streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    const name = this.#name;
    const missing = this.#missingKey();
    if (missing) throw new WorkerError(name, 'auth', missing);
    const key = this.#key();
    const secrets = key ? [key] : [];
    const body = {
      ...(opts.backendOptions ?? {}),
      model: opts.model ?? this.#model,
      ...openaiRequest(name, messages, opts, this.#caps),
      stream: true,
      ...(this.#includeUsage ? { stream_options: { include_usage: true } } : {}),
    };
    const { body: stream, signal, cleanup, headers } = await openStream(
      name,
      `${this.#base}/chat/completions`,
      { headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...this.#headers(key) }, body: JSON.stringify(body) },
      opts.signal,
      this.#timeoutMs,
      secrets,
    );
    const rest = rateLimitRest(headers);
    if (rest !== undefined) opts.reportLimits?.(rest); // this request went through; the next would get a 429
    return this.#chunks(stream, signal, opts.signal, cleanup, secrets);
  }

  #chunks(
    body: BodyReader,
    signal: AbortSignal,
    callerSignal: AbortSignal,
    cleanup: () => void,
    secrets: string[],
  ): ChunkStream<SseItem> {
    const name = this.#name;
    let finish: FinishReason | undefined;
    let usage: Usage | undefined;
    let calledTools = false;
    // Some servers (Gemini's, some vLLM builds) say `stop` after tool calls: it is a tool call all the same.
    const reason = (): FinishReason => (calledTools && (finish === undefined || finish === 'stop') ? 'tool_calls' : (finish ?? 'stop'));
    const done = (): CompletionChunk => ({ text: '', done: true, finishReason: reason(), ...(usage ? { usage } : {}) });
    const decode = (item: SseItem): CompletionChunk | undefined => {
      if (item.kind === 'comment') return undefined; // keep-alive
      const { event, data } = item.event;
      if (data === '[DONE]') return done();
      let obj: Delta;
      try {
        obj = JSON.parse(data) as Delta;
      } catch {
        throw new WorkerError(name, 'protocol', `malformed JSON event: ${clip(data, secrets, 80)}`);
      }
      if (event === 'error' || (obj && typeof obj === 'object' && (obj.error !== undefined || obj.object === 'error'))) {
        const msg = clip(errorMessage(data), secrets, 500);
        throw new WorkerError(name, 'stream_error', `error event mid-stream: ${msg}`, { body: msg });
      }
      if (obj.usage && typeof obj.usage === 'object') {
        usage = {
          ...(typeof obj.usage.prompt_tokens === 'number' ? { promptTokens: obj.usage.prompt_tokens } : {}),
          ...(typeof obj.usage.completion_tokens === 'number' ? { completionTokens: obj.usage.completion_tokens } : {}),
        };
      }
      const choice = Array.isArray(obj.choices) ? obj.choices[0] : undefined;
      if (choice === undefined) return undefined; // e.g. the usage chunk, with choices: []
      const text = typeof choice.delta?.content === 'string' ? choice.delta.content : '';
      const reasoning = reasoningOf(choice.delta);
      const toolCalls = toolCallDeltas(choice.delta?.tool_calls);
      if (typeof choice.finish_reason === 'string') finish = mapFinish(choice.finish_reason);
      if (toolCalls !== undefined) {
        calledTools = true;
        return { text, toolCalls, ...(reasoning !== undefined ? { reasoning } : {}) };
      }
      if (reasoning !== undefined) return { text, reasoning };
      return text === '' ? undefined : { text };
    };
    const ended = (): CompletionChunk => {
      // No [DONE]: complete only if a finish reason came (some servers never send [DONE]).
      if (finish !== undefined) return done();
      throw new WorkerError(name, 'truncated', 'the stream ended without [DONE] or a finish reason');
    };
    return sseChunks(body, this.#maxEventBytes, { decode, ended }, { mapError: readError(name, 'event', callerSignal, signal), cleanup, signal });
  }
}

/**
 * The reasoning delta of a thinking model: `reasoning_content` (DeepSeek, vLLM, llama.cpp) or
 * `reasoning` (OpenRouter, Ollama's `/v1`, Groq).
 */
function reasoningOf(delta: { reasoning_content?: unknown; reasoning?: unknown } | undefined): string | undefined {
  const r = delta?.reasoning_content ?? delta?.reasoning;
  return typeof r === 'string' && r !== '' ? r : undefined;
}

function mapFinish(r: string): FinishReason {
  switch (r) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return r;
    default:
      return 'other';
  }
}
