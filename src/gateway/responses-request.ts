import type { ChatMessage, ContentPart, GenerationOptions, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from '../behaviour/types.js';
import { GatewayError } from './errors.js';
import type { PoolRequest } from './requests.js';

type Obj = Record<string, unknown>;

const bad = (field: string, what: string): GatewayError => new GatewayError(400, `${field}: ${what}`, field);
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An OpenAI Responses request (`POST /v1/responses`) as the pool takes it: `instructions`,
 * `input` (text, or items: messages with `input_text` / `input_image` / `output_text` parts,
 * `function_call` and `function_call_output`), function `tools`, `tool_choice`, `text.format`,
 * `temperature`, `top_p`, `max_output_tokens`. `previous_response_id` is refused: the gateway
 * keeps no state between requests (send the whole conversation). @internal
 */
export function fromResponses(body: Obj): PoolRequest {
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    throw bad('previous_response_id', 'not supported: this gateway keeps no responses between requests; send the whole conversation in input');
  }
  const messages: ChatMessage[] = [];
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== 'string') throw bad('instructions', 'expected a string');
    messages.push({ role: 'system', content: body.instructions });
  }
  messages.push(...inputMessages(body.input));
  if (messages.every((m) => m.role === 'system')) throw bad('input', 'expected text or at least one input item');
  const options: Record<string, unknown> = {};
  if (body.tools !== undefined && body.tools !== null) options.tools = tools(body.tools);
  if (body.tool_choice !== undefined && body.tool_choice !== null) options.toolChoice = toolChoice(body.tool_choice);
  const format = textFormat(body.text);
  if (format !== undefined) options.responseFormat = format;
  for (const [wire, key] of [['temperature', 'temperature'], ['top_p', 'topP'], ['max_output_tokens', 'maxTokens']] as const) {
    const v = body[wire];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(wire, 'expected a number');
    options[key] = v;
  }
  return { messages, options: options as GenerationOptions };
}

function inputMessages(input: unknown): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) throw bad('input', 'expected a string or a list of items');
  const out: ChatMessage[] = [];
  input.forEach((item: unknown, i) => {
    const at = `input[${i}]`;
    if (!isObj(item)) throw bad(at, 'expected an item');
    if (item.type === 'function_call') return void attachCall(out, functionCall(item, at));
    if (item.type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw bad(`${at}.call_id`, 'expected a string');
      return void out.push({ role: 'tool', toolCallId: item.call_id, content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '') });
    }
    if (item.type === 'reasoning') return; // an earlier answer's reasoning is not sent back
    if (item.type === undefined || item.type === 'message') return void out.push(message(item, at));
    throw bad(`${at}.type`, 'expected message, function_call, function_call_output or reasoning');
  });
  return out;
}

/** A function call of an earlier answer joins the assistant message before it (or starts one). */
function attachCall(out: ChatMessage[], call: ToolCall): void {
  const last = out.at(-1);
  if (last?.role === 'assistant') out[out.length - 1] = { ...last, toolCalls: [...(last.toolCalls ?? []), call] };
  else out.push({ role: 'assistant', content: '', toolCalls: [call] });
}

function functionCall(item: Obj, at: string): ToolCall {
  if (typeof item.call_id !== 'string' || typeof item.name !== 'string' || typeof item.arguments !== 'string') throw bad(at, 'expected call_id, name and arguments');
  return { id: item.call_id, name: item.name, arguments: item.arguments };
}

function message(item: Obj, at: string): ChatMessage {
  const role = item.role === 'developer' ? 'system' : item.role;
  if (role !== 'user' && role !== 'system' && role !== 'assistant') throw bad(`${at}.role`, 'expected user, system, developer or assistant');
  if (typeof item.content === 'string') return { role, content: item.content };
  if (!Array.isArray(item.content)) throw bad(`${at}.content`, 'expected a string or content parts');
  const parts = item.content.map((p: unknown, j): ContentPart => {
    const where = `${at}.content[${j}]`;
    if (!isObj(p)) throw bad(where, 'expected a content part');
    if ((p.type === 'input_text' || p.type === 'output_text') && typeof p.text === 'string') return { type: 'text', text: p.text };
    if (p.type === 'input_image' && typeof p.image_url === 'string') return { type: 'image', url: p.image_url };
    throw bad(`${where}.type`, 'expected input_text, output_text or input_image (with image_url)');
  });
  return { role, content: parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : parts };
}

function tools(v: unknown): ToolDefinition[] {
  if (!Array.isArray(v)) throw bad('tools', 'expected an array');
  return v.map((t: unknown, i) => {
    if (!isObj(t) || t.type !== 'function' || typeof t.name !== 'string') throw bad(`tools[${i}]`, 'expected a function tool with a name (built-in tools are not supported)');
    return { name: t.name, ...(typeof t.description === 'string' ? { description: t.description } : {}), ...(isObj(t.parameters) ? { parameters: t.parameters } : {}) };
  });
}

function toolChoice(c: unknown): ToolChoice {
  if (c === 'auto' || c === 'none' || c === 'required') return c;
  if (isObj(c) && c.type === 'function' && typeof c.name === 'string') return { name: c.name };
  throw bad('tool_choice', "expected 'auto', 'none', 'required' or { type: 'function', name }");
}

function textFormat(t: unknown): ResponseFormat | undefined {
  if (t === undefined || t === null) return undefined;
  const f = isObj(t) ? t.format : undefined;
  if (f === undefined || f === null) return undefined;
  if (!isObj(f)) throw bad('text.format', 'expected an object');
  if (f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json' };
  if (f.type === 'json_schema' && isObj(f.schema)) return { type: 'json_schema', schema: f.schema, ...(typeof f.name === 'string' ? { name: f.name } : {}), ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}) };
  throw bad('text.format', "expected { type: 'text' | 'json_object' } or { type: 'json_schema', name, schema }");
}
