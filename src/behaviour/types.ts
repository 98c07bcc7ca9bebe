import type { WorkerLimits } from '../pool/admission.js';
/** Who wrote a chat message. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/**
 * A piece of a message's content: text, or an image. An image is a URL: a `data:` URL
 * (`data:image/png;base64,...`), which every backend that takes images accepts, or an
 * `https://` URL, which only OpenAI-compatible backends fetch (Ollama's refuses it).
 */
export type ContentPart = { readonly type: 'text'; readonly text: string } | { readonly type: 'image'; readonly url: string };

/** A tool call made by the model: which tool, with which arguments (a JSON text, as the model wrote it). */
export interface ToolCall {
  /** The call's id: a tool result answers it with `toolCallId`. */
  readonly id: string;
  /** The tool's name, one of the request's `tools`. */
  readonly name: string;
  /** The arguments, as JSON text (parse it yourself: a model may write invalid JSON). */
  readonly arguments: string;
}

/**
 * One message of a conversation: what OpenAI's and Ollama's chat APIs carry. `content` is text,
 * or a list of parts (text and images); an assistant message may carry the `toolCalls` it made
 * (with empty content), and a `tool` message answers one of them by `toolCallId`.
 */
export interface ChatMessage {
  readonly role: Role;
  readonly content: string | readonly ContentPart[];
  /** Assistant messages only: the tool calls the model made. */
  readonly toolCalls?: readonly ToolCall[];
  /** Tool messages only: the id of the call this result answers. */
  readonly toolCallId?: string;
  /** A participant's name (OpenAI's `name`). */
  readonly name?: string;
}

/** A tool the model may call: a function with a JSON schema of its arguments. */
export interface ToolDefinition {
  /** Letters, digits, `_` and `-`, up to 64 characters. */
  readonly name: string;
  readonly description?: string;
  /** JSON schema of the arguments (an object schema). */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** Whether the model may, must, or must not call a tool, or must call this one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

/** The shape of the answer: free text, any JSON object, or JSON matching a schema. */
export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json' }
  | { readonly type: 'json_schema'; readonly schema: Readonly<Record<string, unknown>>; readonly name?: string; readonly strict?: boolean };

/**
 * What a request asks of the model beyond its messages: tools, the answer's format, sampling.
 * Each adapter translates them to its backend's fields (and refuses, before sending, what its
 * backend cannot do).
 */
export interface GenerationOptions {
  /** Tools the model may call. A request with tools only goes to workers that support them. */
  readonly tools?: readonly ToolDefinition[];
  /** Default: the backend's (`auto` when there are tools). */
  readonly toolChoice?: ToolChoice;
  /** JSON output. `json_schema` only goes to workers that support it. */
  readonly responseFormat?: ResponseFormat;
  /** 0 to 2. */
  readonly temperature?: number;
  /** Nucleus sampling, in (0, 1]. */
  readonly topP?: number;
  /** Longest answer, tokens. */
  readonly maxTokens?: number;
  /** Texts that end the answer. */
  readonly stop?: readonly string[];
  /** For reproducible sampling, where the backend supports it. */
  readonly seed?: number;
}

/**
 * A piece of a tool call as it streams: the call at `index` gets its `id` and `name` first,
 * then its `arguments` text in pieces to append (OpenAI's streamed `tool_calls` deltas).
 */
export interface ToolCallDelta {
  /** Which call of the answer this piece belongs to (0, 1, ...). */
  readonly index: number;
  readonly id?: string;
  readonly name?: string;
  /** Text to append to the call's arguments. */
  readonly arguments?: string;
}

/** Why a backend stopped generating. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

/** Token counts, when the backend reports them. */
export interface Usage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

/**
 * A piece of an answer, as a worker produces it. The last chunk of a complete answer has
 * `done: true` (with `finishReason` and `usage` when the backend gives them); a stream that
 * ends without one is a truncated answer, and the pool treats it as a failure.
 */
export interface CompletionChunk {
  /** Text to append to the answer (may be empty, e.g. on the final chunk or while the model reasons). */
  readonly text: string;
  /**
   * Reasoning ("thinking") of a reasoning model, when the backend streams it apart from the
   * answer (`reasoning_content` / `reasoning` in OpenAI-compatible streams, `message.thinking`
   * in Ollama's). Never part of `text`. A chunk with reasoning is progress: it counts for the
   * first-chunk and idle timeouts.
   */
  readonly reasoning?: string;
  /** Pieces of tool calls (see {@link ToolCallDelta}); the final chunk then says `finishReason: 'tool_calls'`. */
  readonly toolCalls?: readonly ToolCallDelta[];
  /** True on the final chunk only. */
  readonly done?: boolean;
  readonly finishReason?: FinishReason;
  readonly usage?: Usage;
}

/** Options a worker receives with each request: its generation options, and the request's model and signal. */
export interface StreamOptions extends GenerationOptions {
  /** Model to use; the worker's default when absent. */
  readonly model?: string;
  /** Aborted when the caller cancels, a timeout fires, or the pool gives up on this attempt: stop the request and release the connection. */
  readonly signal: AbortSignal;
  /** Backend-specific options (e.g. Ollama's `options`: temperature, num_predict...). */
  readonly backendOptions?: Readonly<Record<string, unknown>>;
  /**
   * Where a worker reports what the backend said of its own limits (e.g. OpenAI's
   * `x-ratelimit-remaining-requests: 0` with its reset time), so the pool rests it before it
   * answers 429. Optional to call.
   */
  readonly reportLimits?: (hint: RateLimitHint) => void;
}

/** A backend's word on its limits: rest this worker for `restMs`. */
export interface RateLimitHint {
  /** How long until the backend has room again, ms. */
  readonly restMs: number;
  /** What it said, for status and events (e.g. `x-ratelimit-remaining-requests: 0`). */
  readonly reason: string;
}

/** The result of a health check. */
export type Health =
  | { readonly status: 'available' }
  | { readonly status: 'busy'; readonly reason: string }
  | { readonly status: 'unavailable'; readonly reason: string };

/** What a worker says about itself. Never contains secrets. */
export interface WorkerInfo {
  /** Unique name in the registry. */
  readonly name: string;
  /** Backend kind, e.g. `'ollama'`, `'openai'`, `'mock'`. */
  readonly kind: string;
  /**
   * The GenAI provider, as OpenTelemetry's `gen_ai.provider.name` lists it (`openai`, `groq`,
   * `mistral_ai`, `cohere`, `gcp.gemini`, `anthropic`...), for spans and metrics; `kind` when absent.
   */
  readonly provider?: string;
  /** Models it serves (the first is its default). */
  readonly models: readonly string[];
  /** Base URL without credentials, when it has one. */
  readonly endpoint?: string;
  /**
   * Routing tags and model aliases (`'code'`, `'fast'`, `'llama'`): a request that asks for one
   * (`route: 'code'`, or `model: 'fast'`) goes only to the workers that carry it.
   */
  readonly tags?: readonly string[];
  /**
   * What the worker can do beyond text. A request with tools, images or a JSON schema only goes
   * to workers that declare it; absent means text only. The built-in adapters declare all three
   * unless configured otherwise (`capabilities: { images: false }` for a model without vision).
   */
  readonly capabilities?: WorkerCapabilities;
  /** What its tokens cost (none: the cost is unknown, never guessed). */
  readonly price?: Price;
}

/** What a worker supports (see `WorkerInfo.capabilities`). */
export interface WorkerCapabilities {
  /** Tool calls (`tools`, and conversations carrying tool calls and results). */
  readonly tools?: boolean;
  /** Image parts in messages. */
  readonly images?: boolean;
  /** `responseFormat: { type: 'json_schema' }` (JSON mode, `type: 'json'`, goes anywhere). */
  readonly jsonSchema?: boolean;
  /** The model's context, tokens: a request estimated larger skips this worker. */
  readonly contextLength?: number;
}

/** The text of a message: its content, or its text parts joined. */
export function messageText(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  let out = '';
  for (const p of c) if (p.type === 'text') out += p.text;
  return out;
}

/**
 * The contract every LLM backend implements. A worker is plain I/O: the pool calls it from
 * outside any actor, so a slow backend never blocks another request.
 */
export interface LlmWorker {
  /** Checks the backend (bounded by the pool's timeout through `signal`). Should not throw: report `unavailable` with a reason. */
  healthCheck(signal: AbortSignal): Promise<Health>;
  /**
   * Starts a completion. Resolves to the chunks once the backend accepted the request, or
   * rejects with a typed error (a `WorkerError` tells the pool whether to fail over or cool
   * down). Must stop and release the connection when `opts.signal` aborts or the iteration
   * is ended early.
   */
  streamCompletion(messages: readonly ChatMessage[], opts: StreamOptions): Promise<AsyncIterable<CompletionChunk>>;
  /** Name, kind, models and endpoint; no secrets. */
  info(): WorkerInfo;
  /** Lower is preferred: local backends about 10, cloud ones 50 to 100. */
  priority(): number;
  /** What the backend can take at once and per minute. Optional: absent means unlimited. */
  limits?(): WorkerLimits;
}

/**
 * A worker whose stream rejects a pending read promptly once `opts.signal` aborts can mark the
 * iterable it returns with `[ABORTS_PROMPTLY]: true`. The pool then reads it directly instead of
 * guarding every chunk against a worker that ignores the signal (a small per-chunk saving).
 * The built-in adapters are marked. An unmarked worker is always safe: it is guarded.
 */
export const ABORTS_PROMPTLY: unique symbol = Symbol.for('cortex-otp.abortsPromptly') as never;

/**
 * What a worker's tokens cost, in US dollars per million tokens, as its provider bills them
 * (`cachedInputPerMTok`: prompt tokens read from the provider's cache, when it says so).
 */
export interface Price {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
  readonly cachedInputPerMTok?: number;
}
