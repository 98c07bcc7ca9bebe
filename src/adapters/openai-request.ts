import type { ChatMessage, ContentPart, GenerationOptions, ToolCallDelta, WorkerCapabilities } from '../behaviour/types.js';
import { WorkerError } from '../errors/pool.js';

/** The adapters' default capabilities: the APIs carry all three; the model may not (configure it). @internal */
export const ALL_CAPABILITIES: WorkerCapabilities = Object.freeze({ tools: true, images: true, jsonSchema: true });

/** A message as OpenAI's chat API takes it. */
type WireMessage = Record<string, unknown>;

/**
 * The fields of an OpenAI-compatible `/chat/completions` body for `messages` and `gen`: content
 * parts (`image_url`), assistant `tool_calls`, `tool_call_id`, `tools`, `tool_choice`,
 * `response_format`, sampling. Refuses (kind `unsupported`) what `caps` says the backend lacks.
 * @internal
 */
export function openaiRequest(worker: string, messages: readonly ChatMessage[], gen: GenerationOptions, caps: WorkerCapabilities): Record<string, unknown> {
  const out: Record<string, unknown> = { messages: messages.map((m) => wireMessage(worker, m, caps)) };
  if (gen.tools !== undefined && gen.tools.length > 0) {
    if (caps.tools !== true) throw new WorkerError(worker, 'unsupported', 'this backend is not configured for tools');
    out.tools = gen.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } },
    }));
  }
  const choice = gen.toolChoice;
  if (choice !== undefined) out.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  const format = gen.responseFormat;
  if (format?.type === 'json') out.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    if (caps.jsonSchema !== true) throw new WorkerError(worker, 'unsupported', 'this backend is not configured for JSON schema output');
    out.response_format = { type: 'json_schema', json_schema: { name: format.name ?? 'answer', schema: format.schema, ...(format.strict !== undefined ? { strict: format.strict } : {}) } };
  }
  if (gen.temperature !== undefined) out.temperature = gen.temperature;
  if (gen.topP !== undefined) out.top_p = gen.topP;
  if (gen.maxTokens !== undefined) out.max_tokens = gen.maxTokens;
  if (gen.stop !== undefined) out.stop = gen.stop;
  if (gen.seed !== undefined) out.seed = gen.seed;
  return out;
}

function wireMessage(worker: string, m: ChatMessage, caps: WorkerCapabilities): WireMessage {
  const out: WireMessage = { role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => wirePart(worker, p, caps)) };
  if (m.name !== undefined) out.name = m.name;
  if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    if (out.content === '') out.content = null; // OpenAI's shape for a message that only calls tools
  }
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  return out;
}

function wirePart(worker: string, p: ContentPart, caps: WorkerCapabilities): Record<string, unknown> {
  if (p.type === 'text') return { type: 'text', text: p.text };
  if (caps.images !== true) throw new WorkerError(worker, 'unsupported', 'this backend is not configured for images');
  return { type: 'image_url', image_url: { url: p.url } };
}

/** One streamed `tool_calls` entry of a delta. */
interface WireToolCallDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

/** The tool-call pieces of a streamed delta (`choices[0].delta.tool_calls`), by index. @internal */
export function toolCallDeltas(raw: unknown): ToolCallDelta[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  return raw.map((t: WireToolCallDelta, i) => {
    const f = t?.function ?? undefined;
    return {
      index: typeof t?.index === 'number' ? t.index : i, // some servers send whole calls without an index
      ...(typeof t?.id === 'string' && t.id !== '' ? { id: t.id } : {}),
      ...(typeof f?.name === 'string' && f.name !== '' ? { name: f.name } : {}),
      ...(typeof f?.arguments === 'string' ? { arguments: f.arguments } : f?.arguments && typeof f.arguments === 'object' ? { arguments: JSON.stringify(f.arguments) } : {}),
    };
  });
}
