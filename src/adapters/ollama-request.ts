import type { ChatMessage, GenerationOptions, ToolCallDelta, WorkerCapabilities } from '../behaviour/types.js';
import { WorkerError } from '../errors/pool.js';
import { argumentsObject } from '../behaviour/tool-calls.js';

/**
 * The fields of an Ollama `/api/chat` body for `messages` and `gen`: text content with
 * `images` (base64), assistant `tool_calls` (arguments as objects), `tool_name` on tool results,
 * `tools`, `format` (`'json'` or a schema), sampling in `options`. Refuses (kind `unsupported`),
 * before sending, what Ollama cannot do: an image by URL (it takes base64 only), a forced tool
 * choice (it has no `tool_choice`), and what `caps` says the model lacks.
 * @internal
 */
export function ollamaRequest(worker: string, messages: readonly ChatMessage[], gen: GenerationOptions, caps: WorkerCapabilities, options: unknown): Record<string, unknown> {
  const names = new Map<string, string>(); // tool call id -> tool name, for tool results
  const out: Record<string, unknown> = { messages: messages.map((m) => wireMessage(worker, m, caps, names)) };
  const choice = gen.toolChoice;
  if (choice === 'required' || typeof choice === 'object') throw new WorkerError(worker, 'unsupported', 'Ollama cannot be made to call a tool (it has no tool_choice)');
  if (gen.tools !== undefined && gen.tools.length > 0 && choice !== 'none') {
    if (caps.tools !== true) throw new WorkerError(worker, 'unsupported', 'this model is not configured for tools');
    out.tools = gen.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } },
    }));
  }
  const format = gen.responseFormat;
  if (format?.type === 'json') out.format = 'json';
  else if (format?.type === 'json_schema') {
    if (caps.jsonSchema !== true) throw new WorkerError(worker, 'unsupported', 'this model is not configured for JSON schema output');
    out.format = format.schema;
  }
  const sampling = {
    ...(typeof options === 'object' && options !== null ? options : {}),
    ...(gen.temperature !== undefined ? { temperature: gen.temperature } : {}),
    ...(gen.topP !== undefined ? { top_p: gen.topP } : {}),
    ...(gen.maxTokens !== undefined ? { num_predict: gen.maxTokens } : {}),
    ...(gen.stop !== undefined ? { stop: gen.stop } : {}),
    ...(gen.seed !== undefined ? { seed: gen.seed } : {}),
  };
  if (Object.keys(sampling).length > 0) out.options = sampling;
  return out;
}

function wireMessage(worker: string, m: ChatMessage, caps: WorkerCapabilities, names: Map<string, string>): Record<string, unknown> {
  let content: string;
  let images: string[] | undefined;
  if (typeof m.content === 'string') content = m.content;
  else {
    content = '';
    for (const p of m.content) {
      if (p.type === 'text') content += p.text;
      else (images ??= []).push(base64Of(worker, p.url, caps));
    }
  }
  const out: Record<string, unknown> = { role: m.role, content };
  if (images !== undefined) out.images = images;
  if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
    out.tool_calls = m.toolCalls.map((c) => {
      names.set(c.id, c.name);
      return { function: { name: c.name, arguments: argumentsOf(worker, c.arguments) } };
    });
  }
  const tool = m.toolCallId !== undefined ? names.get(m.toolCallId) : undefined;
  if (tool !== undefined) out.tool_name = tool;
  return out;
}

/** The base64 of a `data:` URL; an http URL is refused (Ollama does not fetch images). */
function base64Of(worker: string, url: string, caps: WorkerCapabilities): string {
  if (caps.images !== true) throw new WorkerError(worker, 'unsupported', 'this model is not configured for images');
  const m = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(url);
  if (m === null) throw new WorkerError(worker, 'unsupported', 'Ollama takes images as base64 data: URLs only, not by http URL');
  return m[1]!.replace(/\s+/g, '');
}

/** Ollama wants a tool call's arguments as an object. */
function argumentsOf(worker: string, text: string): object {
  const v = argumentsObject(text);
  if (v === undefined) throw new WorkerError(worker, 'unsupported', 'a tool call in the conversation has arguments that are not a JSON object (Ollama needs one)');
  return v;
}

/** Ollama's `message.tool_calls` (whole calls, arguments as objects) as deltas numbered from `next`. @internal */
export function ollamaToolCalls(raw: unknown, next: number): ToolCallDelta[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const out: ToolCallDelta[] = [];
  for (const t of raw as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
    const f = t?.function;
    if (typeof f?.name !== 'string') continue;
    const args = typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {});
    out.push({ index: next + out.length, id: typeof t.id === 'string' && t.id !== '' ? t.id : `call_${globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`, name: f.name, arguments: args });
  }
  return out.length > 0 ? out : undefined;
}
