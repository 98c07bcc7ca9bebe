import type { LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4Message, LanguageModelV4StreamPart } from '@ai-sdk/provider';
import type { ChatMessage, CompletionChunk, ContentPart, FinishReason, Health, LlmWorker, Price, StreamOptions, WorkerCapabilities, WorkerInfo } from '../behaviour/types.js';
import { capabilitiesShape, limitsShape, parseWith, pickLimits, tagsShape } from '../behaviour/validate.js';
import { ALL_CAPABILITIES } from '../adapters/openai-request.js';
import { connectionError, httpError } from '../adapters/backend-errors.js';
import { WorkerError } from '../errors/pool.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { lazy } from '../lazy-zod.js';
import type { WorkerLimits } from '../pool/admission.js';
import { aiSdkProvider } from './peer.js';

/** Options of {@link AiSdkWorker}: its model, and the usual worker options (limits as `WorkerLimits`). */
export interface AiSdkWorkerOptions extends WorkerLimits {
  /** Unique name in the pool. Default: the model's id. */
  name?: string;
  /** Any AI SDK language model (`openai('gpt-4o')`, `bedrock(...)`, `mistral(...)`): the `v4` specification. */
  model: LanguageModelV4;
  /** Default 50. */
  priority?: number;
  /** Routing tags and model aliases (see `WorkerInfo.tags`). */
  tags?: string[];
  /** What it can take (tools, images, a JSON schema, `contextLength`). Default: tools, images and JSON schema. */
  capabilities?: WorkerCapabilities;
  /** What its tokens cost (none: unknown). */
  price?: Price;
}

const schema = lazy((z) =>
  z
    .object({
      name: z.string().trim().min(1).optional(),
      model: z.custom<LanguageModelV4>((m) => typeof m === 'object' && m !== null && typeof (m as LanguageModelV4).doStream === 'function', 'expected an AI SDK language model (with doStream)'),
      priority: z.number().finite().default(50),
      ...limitsShape(),
      ...tagsShape(),
      ...capabilitiesShape(),
    })
    .strict(),
);

/**
 * Any AI SDK language model as a cortex worker: the pool's strategies, admission, circuits,
 * hedging, cache, metrics and traces apply to it as to the native adapters. It never retries
 * inside (it calls the model's `doStream` once: the pool fails over instead). Its errors map to
 * `WorkerError` kinds from the `APICallError`'s status: 429 rests it for `retry-after`, 401/403
 * disable it, 400/422 are the caller's mistake, no status is a lost connection. Health is assumed
 * (the circuit does the rest). Needs `@ai-sdk/provider` (installed with `ai`).
 * @throws ValidationError for bad options; MissingPeerError without `@ai-sdk/provider`.
 * @example
 * const gpt = new AiSdkWorker({ name: 'gpt', model: openai('gpt-4o'), maxConcurrent: 8 });
 */
export class AiSdkWorker implements LlmWorker {
  readonly #name: string;
  readonly #model: LanguageModelV4;
  readonly #priority: number;
  readonly #limits: WorkerLimits;
  readonly #tags: string[] | undefined;
  readonly #caps: WorkerCapabilities;
  readonly #price: Price | undefined;

  constructor(options: AiSdkWorkerOptions) {
    const o = parseWith(schema, options, 'AiSdkWorker options');
    aiSdkProvider(); // says now, not at the first request, when the peer is missing
    if (o.model.specificationVersion !== 'v4') throw new InvalidArgumentError('AiSdkWorker options.model', "a language model of the AI SDK's v4 specification (ai 7)", o.model.specificationVersion);
    this.#model = o.model;
    this.#name = o.name ?? o.model.modelId;
    this.#priority = o.priority;
    this.#limits = pickLimits(o);
    this.#tags = o.tags;
    this.#caps = { ...ALL_CAPABILITIES, ...o.capabilities };
    this.#price = o.price;
  }

  info(): WorkerInfo {
    return { name: this.#name, kind: 'ai-sdk', provider: providerName(this.#model.provider), models: [this.#model.modelId], ...(this.#tags ? { tags: this.#tags } : {}), capabilities: this.#caps, ...(this.#price ? { price: this.#price } : {}) };
  }

  priority(): number {
    return this.#priority;
  }

  limits(): WorkerLimits {
    return this.#limits;
  }

  healthCheck(): Promise<Health> {
    return Promise.resolve({ status: 'available' });
  }

  async streamCompletion(messages: readonly ChatMessage[], o: StreamOptions): Promise<AsyncIterable<CompletionChunk>> {
    let parts: ReadableStream<LanguageModelV4StreamPart>;
    try {
      ({ stream: parts } = await this.#model.doStream(callOptions(messages, o)));
    } catch (e) {
      throw o.signal.aborted ? o.signal.reason : this.#error(e);
    }
    return chunksOf(parts, this.#name, (e) => (o.signal.aborted ? o.signal.reason : this.#error(e)));
  }

  /** An AI SDK error as the pool needs to know it (`APICallError` by its status). */
  #error(e: unknown): WorkerError {
    if (e instanceof WorkerError) return e;
    const { APICallError } = aiSdkProvider();
    if (APICallError.isInstance(e) && e.statusCode !== undefined) {
      const res = new Response(null, { status: e.statusCode, headers: e.responseHeaders ?? {} });
      return httpError(this.#name, res, e.responseBody ?? e.message);
    }
    return connectionError(this.#name, e, 'connect');
  }
}

/** The OpenTelemetry provider name in an AI SDK provider id (`openai.chat` -> `openai`). */
function providerName(id: string): string {
  return id.split('.')[0] || id;
}

/** cortex's request as the AI SDK's call options. */
function callOptions(messages: readonly ChatMessage[], o: StreamOptions): LanguageModelV4CallOptions {
  const f = o.responseFormat;
  return {
    prompt: promptOf(messages),
    abortSignal: o.signal,
    ...(o.maxTokens !== undefined ? { maxOutputTokens: o.maxTokens } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.topP !== undefined ? { topP: o.topP } : {}),
    ...(o.stop !== undefined ? { stopSequences: [...o.stop] } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(f?.type === 'json' ? { responseFormat: { type: 'json' } } : f?.type === 'json_schema' ? { responseFormat: { type: 'json', schema: f.schema as never, ...(f.name !== undefined ? { name: f.name } : {}) } } : {}),
    ...(o.tools !== undefined ? { tools: o.tools.map((t) => ({ type: 'function' as const, name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), inputSchema: (t.parameters ?? { type: 'object', properties: {} }) as never })) } : {}),
    ...(o.toolChoice !== undefined ? { toolChoice: typeof o.toolChoice === 'object' ? { type: 'tool', toolName: o.toolChoice.name } : { type: o.toolChoice } } : {}),
  };
}

/** cortex's conversation as the AI SDK's prompt: a tool result names its tool from the call it answers. */
function promptOf(messages: readonly ChatMessage[]): LanguageModelV4Message[] {
  const toolNames = new Map<string, string>();
  return messages.map((m): LanguageModelV4Message => {
    switch (m.role) {
      case 'system':
        return { role: 'system', content: textOf(m.content) };
      case 'user':
        return { role: 'user', content: typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content.map(userPart) };
      case 'assistant': {
        for (const c of m.toolCalls ?? []) toolNames.set(c.id, c.name);
        const text = textOf(m.content);
        const calls = (m.toolCalls ?? []).map((c) => ({ type: 'tool-call' as const, toolCallId: c.id, toolName: c.name, input: parseArguments(c.arguments) }));
        return { role: 'assistant', content: [...(text !== '' ? [{ type: 'text' as const, text }] : []), ...calls] };
      }
      case 'tool': {
        const id = m.toolCallId ?? '';
        return { role: 'tool', content: [{ type: 'tool-result', toolCallId: id, toolName: m.name ?? toolNames.get(id) ?? '', output: { type: 'text', value: textOf(m.content) } }] };
      }
      default:
        throw new WorkerError('ai-sdk', 'unsupported', `a message of role ${String(m.role)}`);
    }
  });
}

function textOf(content: ChatMessage['content']): string {
  return typeof content === 'string' ? content : content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

function userPart(p: ContentPart): Extract<LanguageModelV4Message, { role: 'user' }>['content'][number] {
  if (p.type === 'text') return { type: 'text', text: p.text };
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(p.url);
  if (m !== null) return { type: 'file', mediaType: m[1]!, data: { type: 'data', data: m[2]! } };
  return { type: 'file', mediaType: 'image/*', data: { type: 'url', url: new URL(p.url) } };
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The model's stream parts as cortex's chunks: text, reasoning, tool calls (input deltas, or a
 * whole call that came without them), the finish with its reason and usage; an error part or a
 * stream that ends without a finish is an error.
 */
async function* chunksOf(parts: ReadableStream<LanguageModelV4StreamPart>, worker: string, mapError: (e: unknown) => unknown): AsyncGenerator<CompletionChunk> {
  const calls = new Map<string, { index: number; streamed: boolean }>();
  const reader = parts.getReader();
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (e) {
        throw mapError(e);
      }
      if (r.done) throw new WorkerError(worker, 'truncated', 'the stream ended without its finish part');
      const c = chunkOf(r.value, calls, worker);
      if (c === undefined) continue;
      yield c;
      if (c.done === true) return;
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}

function chunkOf(p: LanguageModelV4StreamPart, calls: Map<string, { index: number; streamed: boolean }>, worker: string): CompletionChunk | undefined {
  switch (p.type) {
    case 'text-delta':
      return p.delta === '' ? undefined : { text: p.delta };
    case 'reasoning-delta':
      return p.delta === '' ? undefined : { text: '', reasoning: p.delta };
    case 'tool-input-start': {
      const index = calls.size;
      calls.set(p.id, { index, streamed: true });
      return { text: '', toolCalls: [{ index, id: p.id, name: p.toolName }] };
    }
    case 'tool-input-delta': {
      const call = calls.get(p.id);
      return call === undefined || p.delta === '' ? undefined : { text: '', toolCalls: [{ index: call.index, arguments: p.delta }] };
    }
    case 'tool-call': {
      const known = calls.get(p.toolCallId);
      if (known !== undefined) return undefined; // its input came as deltas already
      const index = calls.size;
      calls.set(p.toolCallId, { index, streamed: false });
      return { text: '', toolCalls: [{ index, id: p.toolCallId, name: p.toolName, arguments: p.input }] };
    }
    case 'finish': {
      // A stream the provider saw end without its completion signal is not a whole answer.
      if (p.finishReason.unified === 'error' || p.finishReason.unified === 'interrupted') throw new WorkerError(worker, 'truncated', `the model's stream ended without completing (${p.finishReason.unified})`);
      const usage = { ...(p.usage.inputTokens.total !== undefined ? { promptTokens: p.usage.inputTokens.total } : {}), ...(p.usage.outputTokens.total !== undefined ? { completionTokens: p.usage.outputTokens.total } : {}) };
      return { text: '', done: true, finishReason: finishOf(p.finishReason.unified, calls.size > 0), ...(Object.keys(usage).length > 0 ? { usage } : {}) };
    }
    case 'error':
      throw new WorkerError(worker, 'stream_error', `error part mid-stream: ${p.error instanceof Error ? p.error.message : String(p.error)}`, { cause: p.error });
    default:
      return undefined; // stream-start, response-metadata, text-start/end, sources, files, raw
  }
}

function finishOf(r: string, madeCalls: boolean): FinishReason {
  switch (r) {
    case 'stop':
      return madeCalls ? 'tool_calls' : 'stop';
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'other';
  }
}
