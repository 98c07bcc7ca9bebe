import type { ChatMessage, ContentPart, GenerationOptions, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from '../behaviour/types.js';
import { GatewayError } from './errors.js';
import type { Mutable } from '../mutable.js';

/** A client's chat request as the pool takes it: the conversation and the generation options. @internal */
export interface PoolRequest {
  readonly messages: ChatMessage[];
  readonly options: GenerationOptions;
}

type Obj = Record<string, unknown>;

const bad = (field: string, what: string): GatewayError => new GatewayError(400, `${field}: ${what}`, field);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- OpenAI's POST /v1/chat/completions ------------------------------------------------------

/**
 * An OpenAI chat request's messages and options: content parts (`text`, `image_url`),
 * `tool_calls`, `tool_call_id`, `name`, the `developer` role (as `system`), `tools`,
 * `tool_choice`, `response_format`, sampling. Refuses what it cannot carry, naming the field.
 * @internal
 */
export function fromOpenAI(body: Obj): PoolRequest {
  for (const f of ['functions', 'function_call']) if (body[f] !== undefined && body[f] !== null) throw bad(f, 'deprecated; use tools and tool_choice');
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw bad('n', 'only 1 is supported');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('messages', 'expected a non-empty array');
  const messages = body.messages.map((m: unknown, i) => openaiMessage(m, `messages[${i}]`));
  const options: Record<string, unknown> = {};
  if (body.tools !== undefined && body.tools !== null) options.tools = openaiTools(body.tools);
  if (body.tool_choice !== undefined && body.tool_choice !== null) options.toolChoice = openaiToolChoice(body.tool_choice);
  const format = openaiFormat(body.response_format);
  if (format !== undefined) options.responseFormat = format;
  sampling(options, { temperature: body.temperature, topP: body.top_p, maxTokens: body.max_completion_tokens ?? body.max_tokens, seed: body.seed }, { topP: 'top_p', maxTokens: 'max_tokens' });
  if (body.stop !== undefined && body.stop !== null) options.stop = stopList(body.stop, 'stop');
  return { messages, options: options as GenerationOptions };
}

function openaiMessage(m: unknown, at: string): ChatMessage {
  if (!isObj(m)) throw bad(at, 'expected an object');
  const role = m.role === 'developer' ? 'system' : m.role;
  if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') throw bad(`${at}.role`, "expected 'system', 'developer', 'user', 'assistant' or 'tool'");
  const out: Mutable<ChatMessage> = { role, content: openaiContent(m.content, `${at}.content`, role === 'assistant') };
  if (typeof m.name === 'string' && m.name !== '') out.name = m.name;
  if (role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) out.toolCalls = m.tool_calls.map((c: unknown, j) => openaiToolCall(c, `${at}.tool_calls[${j}]`));
  if (role === 'tool') {
    if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') throw bad(`${at}.tool_call_id`, 'expected the id of the tool call this answers');
    out.toolCallId = m.tool_call_id;
  }
  return out;
}

function openaiContent(c: unknown, at: string, mayBeNull: boolean): string | ContentPart[] {
  if (typeof c === 'string') return c;
  if ((c === null || c === undefined) && mayBeNull) return '';
  if (!Array.isArray(c)) throw bad(at, 'expected a string or a list of content parts');
  return c.map((p: unknown, j): ContentPart => {
    const part = p as { type?: unknown; text?: unknown; image_url?: unknown };
    if (part?.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (part?.type === 'image_url') {
      const url = typeof part.image_url === 'string' ? part.image_url : (part.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url === 'string') return { type: 'image', url };
      throw bad(`${at}[${j}].image_url.url`, 'expected a URL');
    }
    throw bad(`${at}[${j}]`, "expected a part of type 'text' or 'image_url'");
  });
}

function openaiToolCall(c: unknown, at: string): ToolCall {
  const call = c as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
  if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string') throw bad(at, 'expected { id, type: "function", function: { name, arguments } }');
  const args = call.function.arguments;
  return { id: call.id, name: call.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
}

function openaiTools(tools: unknown): ToolDefinition[] {
  if (!Array.isArray(tools)) throw bad('tools', 'expected a list');
  return tools.map((t: unknown, i) => {
    const f = (t as { type?: unknown; function?: unknown })?.function;
    if ((t as { type?: unknown })?.type !== 'function' || !isObj(f)) throw bad(`tools[${i}]`, 'expected { type: "function", function: { name, description?, parameters? } }');
    return toolDefinition(f, `tools[${i}].function`);
  });
}

function openaiToolChoice(c: unknown): ToolChoice {
  if (c === 'auto' || c === 'none' || c === 'required') return c;
  const name = (c as { function?: { name?: unknown } })?.function?.name;
  if (typeof name === 'string') return { name };
  throw bad('tool_choice', 'expected "auto", "none", "required" or { type: "function", function: { name } }');
}

function openaiFormat(f: unknown): ResponseFormat | undefined {
  if (f === undefined || f === null) return undefined;
  const type = (f as { type?: unknown }).type;
  if (type === 'text') return undefined;
  if (type === 'json_object') return { type: 'json' };
  const js = (f as { json_schema?: { name?: unknown; schema?: unknown; strict?: unknown } }).json_schema;
  if (type === 'json_schema' && isObj(js?.schema)) {
    return { type: 'json_schema', schema: js.schema, ...(typeof js.name === 'string' ? { name: js.name } : {}), ...(typeof js.strict === 'boolean' ? { strict: js.strict } : {}) };
  }
  throw bad('response_format', 'expected { type: "text" }, { type: "json_object" } or { type: "json_schema", json_schema: { name, schema } }');
}

// ---- Ollama's POST /api/chat ----------------------------------------------------------------

/**
 * An Ollama chat request's messages and options: `images` (base64), `tool_calls` (arguments as
 * objects; each given an id, which the following `tool` messages answer by `tool_name` or in
 * order), `tools`, `format`, and the sampling fields of `options`. Other `options` and `think`
 * are not carried (the pool may answer with any backend).
 * @internal
 */
export function fromOllama(body: Obj): PoolRequest {
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('messages', 'expected a non-empty array');
  const pending: ToolCall[] = []; // calls of the last assistant message not answered yet
  const messages = body.messages.map((m: unknown, i) => ollamaMessage(m, i, pending));
  const options: Record<string, unknown> = {};
  if (body.tools !== undefined && body.tools !== null) options.tools = openaiTools(body.tools); // the same shape as OpenAI's
  if (body.format === 'json') options.responseFormat = { type: 'json' };
  else if (isObj(body.format)) options.responseFormat = { type: 'json_schema', schema: body.format };
  else if (body.format !== undefined && body.format !== null && body.format !== '') throw bad('format', 'expected "json" or a JSON schema');
  const o = body.options;
  if (o !== undefined && o !== null) {
    if (!isObj(o)) throw bad('options', 'expected an object');
    sampling(options, { temperature: o.temperature, topP: o.top_p, maxTokens: o.num_predict, seed: o.seed }, { topP: 'options.top_p', maxTokens: 'options.num_predict', temperature: 'options.temperature', seed: 'options.seed' });
    if (o.stop !== undefined && o.stop !== null) options.stop = stopList(o.stop, 'options.stop');
  }
  return { messages, options: options as GenerationOptions };
}

function ollamaMessage(m: unknown, i: number, pending: ToolCall[]): ChatMessage {
  const at = `messages[${i}]`;
  if (!isObj(m)) throw bad(at, 'expected an object');
  const role = m.role;
  if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') throw bad(`${at}.role`, "expected 'system', 'user', 'assistant' or 'tool'");
  if (typeof m.content !== 'string' && m.content !== undefined && m.content !== null) throw bad(`${at}.content`, 'expected a string');
  const text = typeof m.content === 'string' ? m.content : '';
  let content: string | ContentPart[] = text;
  if (Array.isArray(m.images) && m.images.length > 0) {
    content = [...(text !== '' ? [{ type: 'text' as const, text }] : []), ...m.images.map((b: unknown, j) => imagePart(b, `${at}.images[${j}]`))];
  }
  const out: Mutable<ChatMessage> = { role, content };
  if (role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
    pending.length = 0;
    out.toolCalls = m.tool_calls.map((c: unknown, j) => {
      const f = (c as { function?: { name?: unknown; arguments?: unknown } })?.function;
      if (typeof f?.name !== 'string') throw bad(`${at}.tool_calls[${j}].function.name`, 'expected a name');
      const call = { id: `call_${i}_${j}`, name: f.name, arguments: typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {}) };
      pending.push(call);
      return call;
    });
  }
  if (role === 'tool' && pending.length > 0) {
    const named = typeof m.tool_name === 'string' ? pending.findIndex((c) => c.name === m.tool_name) : -1;
    const [answered] = pending.splice(named >= 0 ? named : 0, 1);
    out.toolCallId = answered!.id;
  }
  return out;
}

/** Base64 as a data URL, its type told by its first bytes (PNG, JPEG, GIF, WebP). */
function imagePart(b: unknown, at: string): ContentPart {
  if (typeof b !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(b)) throw bad(at, 'expected an image as base64');
  const type = b.startsWith('/9j/') ? 'jpeg' : b.startsWith('R0lGOD') ? 'gif' : b.startsWith('UklGR') ? 'webp' : 'png';
  return { type: 'image', url: `data:image/${type};base64,${b}` };
}

// ---- both ---------------------------------------------------------------------------------------

function toolDefinition(f: Obj, at: string): ToolDefinition {
  if (typeof f.name !== 'string') throw bad(`${at}.name`, 'expected a name');
  return {
    name: f.name,
    ...(typeof f.description === 'string' ? { description: f.description } : {}),
    ...(isObj(f.parameters) ? { parameters: f.parameters } : {}),
  };
}

/** Copies the sampling fields that are set, checking that each is a number (`names`: the wire field for an error). */
function sampling(into: Record<string, unknown>, values: Record<'temperature' | 'topP' | 'maxTokens' | 'seed', unknown>, names: Partial<Record<string, string>>): void {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(names[k] ?? k, 'expected a number');
    into[k] = v;
  }
}

function stopList(v: unknown, field: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw bad(field, 'expected a string or a list of strings');
}

// ---- Anthropic's POST /v1/messages --------------------------------------------------------------

/**
 * An Anthropic Messages request's conversation and options: `system` (text or blocks), content
 * blocks (`text`, `image` by base64 or URL, `tool_use`, `tool_result`), `tools` with
 * `input_schema`, `tool_choice` (`auto`, `any`, `tool`, `none`), `max_tokens` (required, as
 * Anthropic's API asks), `temperature`, `top_p`, `stop_sequences`. Refuses what it cannot carry,
 * naming the field. @internal
 */
export function fromAnthropic(body: Obj): PoolRequest {
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) throw bad('max_tokens', 'expected a whole number >= 1');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('messages', 'expected a non-empty array');
  const messages: ChatMessage[] = [];
  const system = anthropicSystem(body.system);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  body.messages.forEach((m: unknown, i) => messages.push(...anthropicMessage(m, `messages[${i}]`)));
  const options: Record<string, unknown> = {};
  if (body.tools !== undefined && body.tools !== null) options.tools = anthropicTools(body.tools);
  const choice = anthropicToolChoice(body.tool_choice);
  if (choice !== undefined) options.toolChoice = choice;
  sampling(options, { temperature: body.temperature, topP: body.top_p, maxTokens: body.max_tokens, seed: undefined }, { topP: 'top_p', maxTokens: 'max_tokens' });
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) options.stop = stopList(body.stop_sequences, 'stop_sequences');
  return { messages, options: options as GenerationOptions };
}

function anthropicSystem(s: unknown): string | undefined {
  if (s === undefined || s === null) return undefined;
  if (typeof s === 'string') return s;
  if (Array.isArray(s)) return s.map((b, i) => (isObj(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : blockError(`system[${i}]`))).join('\n');
  throw bad('system', 'expected a string or text blocks');
}

function blockError(at: string): never {
  throw bad(at, 'expected a text block');
}

/** One message; a user turn's `tool_result` blocks become tool messages (before its text, as they answer the last turn). */
function anthropicMessage(m: unknown, at: string): ChatMessage[] {
  if (!isObj(m) || (m.role !== 'user' && m.role !== 'assistant')) throw bad(`${at}.role`, "expected 'user' or 'assistant'");
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  if (!Array.isArray(m.content)) throw bad(`${at}.content`, 'expected a string or content blocks');
  const parts: ContentPart[] = [];
  const results: ChatMessage[] = [];
  const calls: ToolCall[] = [];
  m.content.forEach((b: unknown, i) => {
    const where = `${at}.content[${i}]`;
    if (!isObj(b)) throw bad(where, 'expected a content block');
    if (b.type === 'text' && typeof b.text === 'string') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') parts.push(anthropicImage(b.source, `${where}.source`));
    else if (b.type === 'tool_use' && m.role === 'assistant' && typeof b.id === 'string' && typeof b.name === 'string') calls.push({ id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) });
    else if (b.type === 'tool_result' && typeof b.tool_use_id === 'string') results.push({ role: 'tool', toolCallId: b.tool_use_id, content: toolResultText(b.content, where) });
    else if (b.type === 'thinking' || b.type === 'redacted_thinking') return; // an earlier answer's thinking is not sent back
    else throw bad(`${where}.type`, 'expected text, image, tool_use (assistant) or tool_result (user)');
  });
  const text = parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : undefined;
  const own: ChatMessage[] = parts.length > 0 || calls.length > 0 ? [{ role: m.role, content: text ?? parts, ...(calls.length > 0 ? { toolCalls: calls } : {}) }] : [];
  return [...results, ...own];
}

function anthropicImage(s: unknown, at: string): ContentPart {
  if (!isObj(s)) throw bad(at, 'expected an image source');
  if (s.type === 'base64' && typeof s.media_type === 'string' && typeof s.data === 'string') return { type: 'image', url: `data:${s.media_type};base64,${s.data}` };
  if (s.type === 'url' && typeof s.url === 'string') return { type: 'image', url: s.url };
  throw bad(at, 'expected { type: "base64", media_type, data } or { type: "url", url }');
}

function toolResultText(c: unknown, at: string): string {
  if (c === undefined || c === null) return '';
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((b, i) => (isObj(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : blockError(`${at}.content[${i}]`))).join('\n');
  throw bad(`${at}.content`, 'expected a string or text blocks');
}

function anthropicTools(tools: unknown): ToolDefinition[] {
  if (!Array.isArray(tools)) throw bad('tools', 'expected an array');
  return tools.map((t: unknown, i) => {
    if (!isObj(t) || typeof t.name !== 'string') throw bad(`tools[${i}].name`, 'expected a name (server tools are not supported)');
    return toolDefinition({ name: t.name, description: t.description, parameters: t.input_schema }, `tools[${i}]`);
  });
}

function anthropicToolChoice(c: unknown): ToolChoice | undefined {
  if (c === undefined || c === null) return undefined;
  if (!isObj(c)) throw bad('tool_choice', 'expected an object');
  if (c.type === 'auto' || c.type === 'none') return c.type;
  if (c.type === 'any') return 'required';
  if (c.type === 'tool' && typeof c.name === 'string') return { name: c.name };
  throw bad('tool_choice', "expected { type: 'auto' | 'any' | 'none' } or { type: 'tool', name }");
}
