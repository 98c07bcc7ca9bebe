import { lazy } from '../lazy-zod.js';
import type { ChatMessage, CompletionChunk, FinishReason, Health, LlmWorker, RateLimitHint, StreamOptions, Usage, WorkerCapabilities, WorkerInfo, Price } from '../behaviour/types.js';
import { capabilitiesShape, limitsShape, parseWith, pickLimits, tagsShape } from '../behaviour/validate.js';
import type { WorkerLimits } from '../pool/admission.js';
import { isWorkerError, WorkerError } from '../errors/pool.js';
import type { ChunkStream } from './chunk-stream.js';
import { connectionReason, errorMessage, publicEndpoint, readError, clip, type HeaderBag } from './backend-errors.js';
import { openStream, readSome, type BodyReader } from './http.js';
import { httpUrl } from './ollama.js';
import { sseChunks, type SseItem } from './sse.js';
import { anthropicRequest, ToolUseBlocks, type AnthropicEvent } from './anthropic-request.js';

/** The API version sent as `anthropic-version`. */
const API_VERSION = '2023-06-01';

/** Options of {@link AnthropicWorker}. */
export interface AnthropicWorkerOptions {
  /** The model to ask for (required), e.g. `'claude-sonnet-4-5'`. */
  model: string;
  /** Default `'anthropic'`. */
  name?: string;
  /** Default `'https://api.anthropic.com'` (without `/v1`). */
  baseUrl?: string;
  /** Name of the environment variable holding the key. Default `'ANTHROPIC_API_KEY'` (read at each request, never shown). */
  apiKeyEnv?: string;
  /** The key itself, for programmatic use (prefer `apiKeyEnv`). Never logged or shown. */
  apiKey?: string;
  /** Default 80 (a cloud backend). */
  priority?: number;
  /** `max_tokens` when the request sets no `maxTokens` (the API requires one). Default 4096. */
  maxTokens?: number;
  /** Hard cap on one request, ms. Default 120 000. */
  timeoutMs?: number;
  /** Longest SSE event accepted, bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** Streams at once. Default unlimited. */
  maxConcurrent?: number;
  /** Requests per minute (your tier's). Default unlimited; the `anthropic-ratelimit-*` headers rest the worker anyway. */
  rpm?: number;
  /** Tokens per minute. Default unlimited. */
  tpm?: number;
  /** Routing tags and model aliases (see `WorkerInfo.tags`). */
  tags?: string[];
  /** Default tools and images true, JSON schema false (the Messages API has no JSON output format). */
  capabilities?: WorkerCapabilities;
  /** What its tokens cost, US dollars per million (none: the cost is unknown, never guessed). */
  price?: Price;
}

const schema = lazy((z) =>
  z
    .object({
      model: z.string().trim().min(1),
      name: z.string().trim().min(1).default('anthropic'),
      baseUrl: httpUrl().default('https://api.anthropic.com'),
      apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').default('ANTHROPIC_API_KEY'),
      apiKey: z.string().min(1).optional(),
      priority: z.number().finite().default(80),
      maxTokens: z.number().int().positive().default(4096),
      timeoutMs: z.number().finite().positive().default(120_000),
      maxEventBytes: z.number().int().positive().default(1 << 20),
      ...limitsShape(),
      ...tagsShape(),
      ...capabilitiesShape(),
    })
    .strict(),
);

type Options = ReturnType<ReturnType<typeof schema>['parse']>;

/**
 * A worker over Anthropic's native Messages API (`POST /v1/messages`, streamed as server-sent
 * events: `message_start`, `content_block_start` / `_delta` / `_stop` with text, `tool_use`
 * input pieces and thinking, `message_delta` with the stop reason and usage, `message_stop`,
 * `ping`, `error`). 529 "overloaded" rests the worker like a 429; a 400 about the credit balance
 * takes it out like an exhausted quota; `anthropic-ratelimit-*` headers at 0 rest it before it
 * answers 429. The key (`x-api-key`) never appears in `info()`, events or errors.
 * @throws ValidationError for bad options.
 * @example
 * const claude = new AnthropicWorker({ model: 'claude-sonnet-4-5' }); // reads ANTHROPIC_API_KEY
 */
export class AnthropicWorker implements LlmWorker {
  readonly #o: Options;
  readonly #base: string;
  readonly #caps: WorkerCapabilities;

  constructor(options: AnthropicWorkerOptions) {
    this.#o = parseWith(schema, options, 'AnthropicWorker options');
    this.#base = this.#o.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.#caps = { tools: true, images: true, jsonSchema: false, ...this.#o.capabilities };
  }

  info(): WorkerInfo {
    return { name: this.#o.name, kind: 'anthropic', models: [this.#o.model], endpoint: publicEndpoint(this.#base), ...(this.#o.tags ? { tags: this.#o.tags } : {}), capabilities: this.#caps, ...(this.#o.price ? { price: this.#o.price } : {}) };
  }

  priority(): number {
    return this.#o.priority;
  }

  /** `maxConcurrent`, `rpm`, `tpm`, as given (unlimited by default). */
  limits(): WorkerLimits {
    return pickLimits(this.#o);
  }

  #key(): string | undefined {
    if (this.#o.apiKey !== undefined) return this.#o.apiKey;
    const v = process.env[this.#o.apiKeyEnv];
    return v === undefined || v === '' ? undefined : v;
  }

  #headers(key: string): Record<string, string> {
    return { 'x-api-key': key, 'anthropic-version': API_VERSION };
  }

  /** GET `/v1/models`: available when it answers with the key (model aliases are not listed, so the model is not looked up). */
  async healthCheck(signal: AbortSignal): Promise<Health> {
    const key = this.#key();
    if (key === undefined) return { status: 'unavailable', reason: `API key missing: set the environment variable ${this.#o.apiKeyEnv}` };
    let res: Response;
    try {
      res = await fetch(`${this.#base}/v1/models`, { headers: this.#headers(key), signal });
    } catch (e) {
      return { status: 'unavailable', reason: connectionReason(this.#o.name, e, signal) };
    }
    const body = await readSome(res);
    if (res.status === 401 || res.status === 403) return { status: 'unavailable', reason: `rejected credentials (HTTP ${res.status})` };
    if (res.status === 529) return { status: 'busy', reason: 'overloaded (HTTP 529)' };
    if (!res.ok) return { status: 'unavailable', reason: `GET /v1/models answered HTTP ${res.status}: ${clip(errorMessage(body), [key], 200)}` };
    return { status: 'available' };
  }

  async streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    const name = this.#o.name;
    const key = this.#key();
    if (key === undefined) throw new WorkerError(name, 'auth', `API key missing: set the environment variable ${this.#o.apiKeyEnv}`);
    const body = { ...(opts.backendOptions ?? {}), model: opts.model ?? this.#o.model, ...anthropicRequest(name, messages, opts, this.#caps, this.#o.maxTokens), stream: true };
    let opened: Awaited<ReturnType<typeof openStream>>;
    try {
      opened = await openStream(
        name,
        `${this.#base}/v1/messages`,
        { headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...this.#headers(key) }, body: JSON.stringify(body) },
        opts.signal,
        this.#o.timeoutMs,
        [key],
      );
    } catch (e) {
      throw creditBalance(e);
    }
    const rest = anthropicLimitRest(opened.headers);
    if (rest !== undefined) opts.reportLimits?.(rest);
    return this.#chunks(opened.body, opened.signal, opts.signal, opened.cleanup, [key]);
  }

  #chunks(body: BodyReader, signal: AbortSignal, callerSignal: AbortSignal, cleanup: () => void, secrets: string[]): ChunkStream<SseItem> {
    const name = this.#o.name;
    const tools = new ToolUseBlocks();
    const usage: { promptTokens?: number; completionTokens?: number } = {};
    let stop: FinishReason | undefined;
    const decode = (item: SseItem): CompletionChunk | undefined => {
      if (item.kind === 'comment') return undefined;
      let e: AnthropicEvent;
      try {
        e = JSON.parse(item.event.data) as AnthropicEvent;
      } catch {
        throw new WorkerError(name, 'protocol', `malformed JSON event: ${clip(item.event.data, secrets, 80)}`);
      }
      switch (e?.type ?? item.event.event) {
        case 'message_start':
          readUsage(usage, e.message?.usage);
          return undefined;
        case 'content_block_start':
          return blockStart(e, tools);
        case 'content_block_delta':
          return blockDelta(e, tools);
        case 'message_delta':
          if (typeof e.delta?.stop_reason === 'string') stop = mapStop(e.delta.stop_reason);
          readUsage(usage, e.usage);
          return undefined;
        case 'message_stop':
          return { text: '', done: true, finishReason: stop ?? 'stop', ...(usage.promptTokens !== undefined || usage.completionTokens !== undefined ? { usage: usage as Usage } : {}) };
        case 'error': {
          const msg = clip(typeof e.error?.message === 'string' ? e.error.message : item.event.data, secrets, 500);
          throw new WorkerError(name, 'stream_error', `error event mid-stream (${String(e.error?.type ?? 'error')}): ${msg}`, { body: msg });
        }
        default:
          return undefined; // ping, content_block_stop, and event types added later
      }
    };
    const ended = (): CompletionChunk => {
      throw new WorkerError(name, 'truncated', 'the stream ended without message_stop');
    };
    return sseChunks(body, this.#o.maxEventBytes, { decode, ended }, { mapError: readError(name, 'event', callerSignal, signal), cleanup, signal });
  }
}

function blockStart(e: AnthropicEvent, tools: ToolUseBlocks): CompletionChunk | undefined {
  const b = e.content_block;
  if (b?.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string') return { text: '', toolCalls: [tools.started(Number(e.index), b.id, b.name, b.input)] };
  if (b?.type === 'text' && typeof b.text === 'string' && b.text !== '') return { text: b.text };
  return undefined;
}

function blockDelta(e: AnthropicEvent, tools: ToolUseBlocks): CompletionChunk | undefined {
  const d = e.delta;
  if (d?.type === 'text_delta' && typeof d.text === 'string') return d.text === '' ? undefined : { text: d.text };
  if (d?.type === 'thinking_delta' && typeof d.thinking === 'string') return d.thinking === '' ? undefined : { text: '', reasoning: d.thinking };
  if (d?.type === 'input_json_delta' && typeof d.partial_json === 'string') {
    const piece = tools.piece(Number(e.index), d.partial_json);
    return piece === undefined || d.partial_json === '' ? undefined : { text: '', toolCalls: [piece] };
  }
  return undefined; // signature_delta, citations
}

function readUsage(into: { promptTokens?: number; completionTokens?: number }, u: { input_tokens?: unknown; output_tokens?: unknown } | undefined): void {
  if (typeof u?.input_tokens === 'number') into.promptTokens = u.input_tokens;
  if (typeof u?.output_tokens === 'number') into.completionTokens = u.output_tokens;
}

function mapStop(r: string): FinishReason {
  switch (r) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** A 400 about the credit balance is an exhausted quota (the worker is taken out), not a bad request. */
function creditBalance(e: unknown): unknown {
  if (isWorkerError(e) && e.kind === 'bad_request' && /credit balance/i.test(e.body ?? '')) {
    return new WorkerError(e.worker, 'quota', e.message.replace(`worker ${e.worker}: `, ''), { ...(e.status !== undefined ? { status: e.status } : {}), ...(e.body !== undefined ? { body: e.body } : {}) });
  }
  return e;
}

/**
 * What Anthropic's rate-limit headers say when a budget is spent: `anthropic-ratelimit-{requests,
 * tokens,input-tokens,output-tokens}-remaining: 0` with its `-reset` time (RFC 3339). @internal
 */
export function anthropicLimitRest(headers: HeaderBag, now: number = Date.now()): RateLimitHint | undefined {
  let best: RateLimitHint | undefined;
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    if (headers.get(`anthropic-ratelimit-${kind}-remaining`)?.trim() !== '0') continue;
    const at = Date.parse(headers.get(`anthropic-ratelimit-${kind}-reset`) ?? '');
    const restMs = Number.isNaN(at) ? 1_000 : Math.max(1, at - now);
    if (best === undefined || restMs > best.restMs) best = { restMs, reason: `rate limit reached (anthropic-ratelimit-${kind}-remaining: 0)` };
  }
  return best;
}
