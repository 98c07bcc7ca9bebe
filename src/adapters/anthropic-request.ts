import type { ChatMessage, ContentPart, GenerationOptions, ToolCallDelta, WorkerCapabilities } from '../behaviour/types.js';
import { messageText } from '../behaviour/types.js';
import { WorkerError } from '../errors/pool.js';
import { argumentsObject } from '../behaviour/tool-calls.js';

type Block = Record<string, unknown>;
interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/**
 * The fields of an Anthropic Messages body for `messages` and `gen`: system messages gathered
 * into `system`; content blocks (`text`, `image` from base64 or a URL, `tool_use`,
 * `tool_result` in a user turn); consecutive turns of one role merged; `tools` with
 * `input_schema`; `tool_choice`; `max_tokens` (required by the API), `temperature`, `top_p`,
 * `stop_sequences`. Refuses (kind `unsupported`), before sending, what the API cannot take: JSON
 * output formats, a temperature above 1, a tool result without the id of its call, and what `caps`
 * says the model lacks. `seed` has no counterpart and is not sent.
 * @internal
 */
export function anthropicRequest(worker: string, messages: readonly ChatMessage[], gen: GenerationOptions, caps: WorkerCapabilities, maxTokens: number): Record<string, unknown> {
  const refuse = (why: string): never => {
    throw new WorkerError(worker, 'unsupported', why);
  };
  if (gen.responseFormat !== undefined && gen.responseFormat.type !== 'text') refuse('the Anthropic Messages API has no JSON output format');
  if (gen.temperature !== undefined && gen.temperature > 1) refuse('Anthropic takes a temperature from 0 to 1');
  const system = messages.filter((m) => m.role === 'system').map(messageText);
  const turns: WireMessage[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const content = blocks(m, caps, refuse);
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  }
  const out: Record<string, unknown> = { messages: turns, max_tokens: gen.maxTokens ?? maxTokens };
  if (system.length > 0) out.system = system.join('\n\n');
  if (gen.tools !== undefined && gen.tools.length > 0) {
    if (caps.tools !== true) refuse('this model is not configured for tools');
    out.tools = gen.tools.map((t) => ({ name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), input_schema: t.parameters ?? { type: 'object', properties: {} } }));
  }
  const c = gen.toolChoice;
  if (c !== undefined) out.tool_choice = typeof c === 'object' ? { type: 'tool', name: c.name } : { type: c === 'required' ? 'any' : c };
  if (gen.temperature !== undefined) out.temperature = gen.temperature;
  if (gen.topP !== undefined) out.top_p = gen.topP;
  if (gen.stop !== undefined) out.stop_sequences = gen.stop;
  return out;
}

function blocks(m: ChatMessage, caps: WorkerCapabilities, refuse: (why: string) => never): Block[] {
  if (m.role === 'tool') {
    if (m.toolCallId === undefined) refuse('a tool result needs the id of the call it answers (toolCallId)');
    return [{ type: 'tool_result', tool_use_id: m.toolCallId, content: messageText(m) }];
  }
  const parts: readonly ContentPart[] = typeof m.content === 'string' ? (m.content === '' ? [] : [{ type: 'text', text: m.content }]) : m.content;
  const out: Block[] = parts.map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : image(p.url, caps, refuse)));
  for (const call of m.toolCalls ?? []) out.push({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call.arguments, refuse) });
  return out;
}

function image(url: string, caps: WorkerCapabilities, refuse: (why: string) => never): Block {
  if (caps.images !== true) refuse('this model is not configured for images');
  const m = /^data:(image\/[\w.+-]+);base64,(.*)$/s.exec(url);
  return m === null ? { type: 'image', source: { type: 'url', url } } : { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2]!.replace(/\s+/g, '') } };
}

/** Anthropic wants a tool call's input as an object. */
function inputOf(text: string, refuse: (why: string) => never): object {
  return argumentsObject(text) ?? refuse('a tool call in the conversation has arguments that are not a JSON object (Anthropic needs one)');
}

/** One decoded Anthropic stream event, as the worker's decoder reads it. */
export interface AnthropicEvent {
  type?: unknown;
  index?: unknown;
  message?: { usage?: { input_tokens?: unknown; output_tokens?: unknown } };
  content_block?: { type?: unknown; id?: unknown; name?: unknown; text?: unknown; input?: unknown };
  delta?: { type?: unknown; text?: unknown; partial_json?: unknown; thinking?: unknown; stop_reason?: unknown };
  usage?: { output_tokens?: unknown; input_tokens?: unknown };
  error?: { type?: unknown; message?: unknown };
}

/**
 * Numbers the `tool_use` blocks of one message (by the order they start) and turns their events
 * into tool-call deltas: the block's start gives the id and name, each `input_json_delta` a piece
 * of the arguments. @internal
 */
export class ToolUseBlocks {
  readonly #byBlock = new Map<number, number>();

  get count(): number {
    return this.#byBlock.size;
  }

  /** A `content_block_start` of a tool_use block. */
  started(block: number, id: string, name: string, input: unknown): ToolCallDelta {
    const index = this.#byBlock.size;
    this.#byBlock.set(block, index);
    const given = input && typeof input === 'object' && Object.keys(input).length > 0 ? JSON.stringify(input) : undefined;
    return { index, id, name, ...(given !== undefined ? { arguments: given } : {}) };
  }

  /** An `input_json_delta` of block `block`, or undefined for a block that is no tool_use. */
  piece(block: number, partial: string): ToolCallDelta | undefined {
    const index = this.#byBlock.get(block);
    return index === undefined ? undefined : { index, arguments: partial };
  }
}
