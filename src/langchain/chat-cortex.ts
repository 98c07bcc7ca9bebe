import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { AIMessageChunk, type AIMessage, type BaseMessage, type MessageContent } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import type { ChatMessage, ContentPart, ToolChoice, ToolDefinition } from '../behaviour/types.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { DispatchOptions, StreamChunk } from '../dispatcher/options.js';
import { InvalidArgumentError } from '../errors/runtime.js';

/** Options of {@link ChatCortex}. */
export interface ChatCortexInput extends BaseChatModelParams {
  /** The pool: a `startWorkers` handle's dispatcher. */
  dispatcher: Dispatcher;
  /** A route, tag, worker name or model alias (as a request's `model`); absent: the pool chooses. */
  model?: string;
}

/** What one call may add: tools (from `bindTools`), and cortex's own request options. */
export interface ChatCortexCallOptions extends BaseChatModelCallOptions {
  /** Tools, as `bindTools` gives them. */
  tools?: BindToolsInput[];
  /** Only workers carrying this tag or name. */
  route?: string;
  /** Place in the pool's queue, higher first. */
  priority?: number;
  /** Never hedged (its tools act on the world). */
  sideEffects?: boolean;
  /** The response cache's scope (a tenant, a user). */
  cacheScope?: string;
}

/**
 * A LangChain chat model over a cortex pool: `invoke`, `stream`, `batch`, `bindTools`,
 * `withStructuredOutput`, tool messages, abort through `signal`, callbacks
 * (`handleLLMNewToken`), usage metadata, and the workers that answered in
 * `response_metadata`. Needs `@langchain/core` (a peer dependency of `cortex-otp/langchain`).
 * @throws InvalidArgumentError without a dispatcher.
 * @example
 * const model = new ChatCortex({ dispatcher: workers.dispatcher, model: 'fast' });
 * const reply = await model.invoke('Hello');
 */
export class ChatCortex extends BaseChatModel<ChatCortexCallOptions, AIMessageChunk> {
  /** The route asked for (undefined: the pool chooses). */
  readonly model: string | undefined;
  readonly #dispatcher: Dispatcher;

  static override lc_name(): string {
    return 'ChatCortex';
  }

  constructor(fields: ChatCortexInput) {
    super(fields);
    if (typeof fields?.dispatcher?.dispatchStream !== 'function') throw new InvalidArgumentError('ChatCortex fields.dispatcher', 'a Dispatcher (from startWorkers)', fields?.dispatcher);
    this.#dispatcher = fields.dispatcher;
    this.model = fields.model;
  }

  /** LangChain's name for this kind of model: `cortex`. */
  _llmType(): string {
    return 'cortex';
  }

  override bindTools(tools: BindToolsInput[], kwargs?: Partial<ChatCortexCallOptions>): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatCortexCallOptions> {
    return this.withConfig({ tools, ...kwargs });
  }

  /** The whole answer, collected from {@link ChatCortex._streamResponseChunks} (LangChain calls it for `invoke`). */
  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    let whole: AIMessageChunk | undefined;
    for await (const chunk of this._streamResponseChunks(messages, options, runManager)) whole = whole === undefined ? (chunk.message as AIMessageChunk) : (whole.concat(chunk.message as AIMessageChunk) as AIMessageChunk);
    // The whole answer as one chunk: what `invoke` returns (the model's output type, AIMessageChunk).
    const message = whole ?? new AIMessageChunk({ content: '' });
    return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] };
  }

  /** The answer's chunks from the pool, as LangChain's `ChatGenerationChunk`s (LangChain calls it for `stream`). */
  override async *_streamResponseChunks(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    const workers: string[] = [];
    for await (const c of this.#dispatcher.dispatchStream(messages.map(toCortex), this.#options(options))) {
      if (workers.at(-1) !== c.worker) workers.push(c.worker);
      const chunk = new ChatGenerationChunk({ text: c.text, message: messageChunk(c, workers) });
      yield chunk;
      if (c.text !== '') await runManager?.handleLLMNewToken(c.text, undefined, undefined, undefined, undefined, { chunk });
    }
  }

  #options(o: this['ParsedCallOptions']): DispatchOptions {
    const tools = o.tools?.map(toolOf);
    return {
      ...(this.model !== undefined ? { model: this.model } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      ...(o.stop !== undefined && o.stop.length > 0 ? { stop: o.stop } : {}),
      ...(tools !== undefined && tools.length > 0 ? { tools } : {}),
      ...(tools !== undefined && tools.length > 0 && o.tool_choice !== undefined ? { toolChoice: choiceOf(o.tool_choice) } : {}),
      ...(o.route !== undefined ? { route: o.route } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.sideEffects !== undefined ? { sideEffects: o.sideEffects } : {}),
      ...(o.cacheScope !== undefined ? { cacheScope: o.cacheScope } : {}),
    };
  }
}

/** A cortex chunk as LangChain's: its text, tool-call pieces, and on the last, usage and who answered. */
function messageChunk(c: StreamChunk, workers: readonly string[]): AIMessageChunk {
  const toolCallChunks = (c.toolCalls ?? []).map((d) => ({ type: 'tool_call_chunk' as const, index: d.index, ...(d.id !== undefined ? { id: d.id } : {}), ...(d.name !== undefined ? { name: d.name } : {}), args: d.arguments ?? '' }));
  if (!c.done) return new AIMessageChunk({ content: c.text, tool_call_chunks: toolCallChunks });
  const u = c.usage;
  const input = u?.promptTokens ?? 0;
  const output = u?.completionTokens ?? 0;
  return new AIMessageChunk({
    content: c.text,
    tool_call_chunks: toolCallChunks,
    response_metadata: { model_provider: 'cortex', worker: c.worker, workers: [...workers], finish_reason: c.finishReason, ...(c.cached === true ? { cached: true } : {}) },
    ...(u !== undefined ? { usage_metadata: { input_tokens: input, output_tokens: output, total_tokens: input + output } } : {}),
  });
}

/** A LangChain message as cortex's. */
function toCortex(m: BaseMessage): ChatMessage {
  switch (m.type) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(m.content) };
    case 'human':
    case 'generic':
      return { role: 'user', content: partsOf(m.content) };
    case 'ai': {
      const calls = (m as AIMessage).tool_calls ?? [];
      return { role: 'assistant', content: textOf(m.content), ...(calls.length > 0 ? { toolCalls: calls.map((t, i) => ({ id: t.id ?? `call_${i}`, name: t.name, arguments: JSON.stringify(t.args ?? {}) })) } : {}) };
    }
    case 'tool': {
      const t = m as BaseMessage & { tool_call_id: string };
      return { role: 'tool', toolCallId: t.tool_call_id, ...(m.name !== undefined ? { name: m.name } : {}), content: textOf(m.content) };
    }
    default:
      throw new InvalidArgumentError('messages', 'system, human, ai or tool messages', m.type);
  }
}

function textOf(content: MessageContent): string {
  if (typeof content === 'string') return content;
  return content.map((p) => textOfPart(p)).join('');
}

function textOfPart(p: unknown): string {
  const o = p as { type?: unknown; text?: unknown };
  return o.type === 'text' && typeof o.text === 'string' ? o.text : '';
}

function partsOf(content: MessageContent): string | ContentPart[] {
  if (typeof content === 'string') return content;
  return content.flatMap((p): ContentPart[] => {
    if (p.type === 'text') return [{ type: 'text', text: String((p as { text?: unknown }).text ?? '') }];
    if (p.type === 'image_url') {
      const u = (p as { image_url?: string | { url?: string } }).image_url;
      const url = typeof u === 'string' ? u : u?.url;
      return url === undefined ? [] : [{ type: 'image', url }];
    }
    return [];
  });
}

/** A tool as `bindTools` gives it (a LangChain tool, a zod-described one, an OpenAI-shaped one) as cortex's. */
function toolOf(t: BindToolsInput): ToolDefinition {
  const f = convertToOpenAITool(t).function;
  return { name: f.name, ...(f.description !== undefined ? { description: f.description } : {}), ...(f.parameters !== undefined ? { parameters: f.parameters as Record<string, unknown> } : {}) };
}

/** LangChain's tool choice (`any` is OpenAI's `required`; another string names the tool). */
function choiceOf(c: NonNullable<BaseChatModelCallOptions['tool_choice']>): ToolChoice {
  if (c === 'auto' || c === 'none') return c;
  if (c === 'any' || c === 'required') return 'required';
  if (typeof c === 'string') return { name: c };
  const named = (c as { function?: { name?: string } }).function?.name;
  return named !== undefined ? { name: named } : 'auto';
}
