import { randomUUID } from 'node:crypto';
import type { ToolCallDelta } from '../behaviour/types.js';
import type { StreamChunk } from '../dispatcher/options.js';
import { batched, collect, routeOf, sendJson, sseEvent, SSE_HEADERS, stream, type Collected } from './answer.js';
import { type Call } from './call.js';
import { GatewayError } from './errors.js';
import { fromResponses } from './responses-request.js';

/**
 * OpenAI's Responses API (`POST /v1/responses`), what recent official clients and the AI SDK's
 * default OpenAI provider call: server-sent events in the API's order (`response.created`, each
 * output item added, its deltas, done, then `response.completed`), or one response. Output items:
 * a reasoning summary, the message, each function call. A break mid-answer is an `error` event,
 * never `response.completed`. Nothing is stored (`previous_response_id` is refused). @internal
 */
export async function openaiResponses(call: Call): Promise<void> {
  const body = call.body as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError(400, 'expected a JSON object', null);
  const request = fromResponses(body);
  const route = await routeOf(call.dispatcher, body.model);
  const head = { id: `resp_${hex()}`, created_at: Math.floor(Date.now() / 1000) };
  if (body.stream !== true) {
    const a = await collect(call, request, route);
    return sendJson(call, response(head, a.model, outputOf(a), a.last));
  }
  const res = call.res;
  const out = batched(res);
  const write = out.write;
  const items = new Items((type, data) => write(sseEvent(type, data)));
  await stream(call, request, {
    start: () => res.writeHead(200, SSE_HEADERS),
    chunk: (c, model) => items.chunk(c, head, model),
    end(last, model) {
      items.chunk(last, head, model);
      items.close();
      const done = response(head, model, items.output, last);
      items.send(done.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: done });
      out.end();
    },
    broke(message) {
      items.send('error', { code: 'stream_interrupted', message, param: null }); // no response.completed: not a whole answer
      out.end();
    },
  }, route);
}

type Head = { readonly id: string; readonly created_at: number };
type Item = Record<string, unknown>;

/** The output item being streamed, and those done. */
class Items {
  readonly output: Item[] = [];
  #seq = 0;
  #open: { kind: 'reasoning' | 'message'; id: string; text: string } | { kind: 'call'; index: number; id: string; call_id: string; name: string; args: string } | null = null;
  #started = false;

  constructor(private readonly write: (type: string, data: object) => void) {}

  send(type: string, data: object): void {
    this.write(type, { type, sequence_number: this.#seq++, ...data });
  }

  chunk(c: StreamChunk, head: Head, model: string): void {
    if (!this.#started) {
      this.#started = true;
      const r = { ...response(head, model, [], undefined), status: 'in_progress', usage: null };
      this.send('response.created', { response: r });
      this.send('response.in_progress', { response: r });
    }
    if (c.reasoning !== undefined && c.reasoning !== '') this.#text('reasoning', c.reasoning);
    if (c.text !== '') this.#text('message', c.text);
    for (const d of c.toolCalls ?? []) this.#call(d);
  }

  get #at(): number {
    return this.output.length;
  }

  #text(kind: 'reasoning' | 'message', delta: string): void {
    let o = this.#open;
    if (o === null || o.kind !== kind) {
      this.close();
      o = this.#open = { kind, id: `${kind === 'message' ? 'msg' : 'rs'}_${hex()}`, text: '' };
      if (kind === 'message') {
        this.send('response.output_item.added', { output_index: this.#at, item: { type: 'message', id: o.id, status: 'in_progress', role: 'assistant', content: [] } });
        this.send('response.content_part.added', { item_id: o.id, output_index: this.#at, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
      } else {
        this.send('response.output_item.added', { output_index: this.#at, item: { type: 'reasoning', id: o.id, summary: [] } });
        this.send('response.reasoning_summary_part.added', { item_id: o.id, output_index: this.#at, summary_index: 0, part: { type: 'summary_text', text: '' } });
      }
    }
    o.text += delta;
    if (kind === 'message') this.send('response.output_text.delta', { item_id: o.id, output_index: this.#at, content_index: 0, delta, logprobs: [] });
    else this.send('response.reasoning_summary_text.delta', { item_id: o.id, output_index: this.#at, summary_index: 0, delta });
  }

  #call(d: ToolCallDelta): void {
    let o = this.#open;
    if (o === null || o.kind !== 'call' || o.index !== d.index) {
      this.close();
      o = this.#open = { kind: 'call', index: d.index, id: `fc_${hex()}`, call_id: d.id ?? `call_${hex()}`, name: d.name ?? '', args: '' };
      this.send('response.output_item.added', { output_index: this.#at, item: { type: 'function_call', id: o.id, call_id: o.call_id, name: o.name, arguments: '', status: 'in_progress' } });
    }
    if (d.arguments === undefined || d.arguments === '') return;
    o.args += d.arguments;
    this.send('response.function_call_arguments.delta', { item_id: o.id, output_index: this.#at, delta: d.arguments });
  }

  /** Ends the open item: its done events, and it joins the output. */
  close(): void {
    const o = this.#open;
    if (o === null) return;
    this.#open = null;
    const at = this.#at;
    let item: Item;
    if (o.kind === 'call') {
      item = functionCall(o.id, o.call_id, o.name, o.args);
      this.send('response.function_call_arguments.done', { item_id: o.id, output_index: at, name: o.name, arguments: o.args });
    } else if (o.kind === 'message') {
      item = message(o.id, o.text);
      this.send('response.output_text.done', { item_id: o.id, output_index: at, content_index: 0, text: o.text, logprobs: [] });
      this.send('response.content_part.done', { item_id: o.id, output_index: at, content_index: 0, part: { type: 'output_text', text: o.text, annotations: [] } });
    } else {
      item = reasoning(o.id, o.text);
      this.send('response.reasoning_summary_text.done', { item_id: o.id, output_index: at, summary_index: 0, text: o.text });
      this.send('response.reasoning_summary_part.done', { item_id: o.id, output_index: at, summary_index: 0, part: { type: 'summary_text', text: o.text } });
    }
    this.send('response.output_item.done', { output_index: at, item });
    this.output.push(item);
  }
}

/** A whole answer's output items: its reasoning summary, its message, its function calls. */
function outputOf(a: Collected): Item[] {
  return [
    ...(a.reasoning !== '' ? [reasoning(`rs_${hex()}`, a.reasoning)] : []),
    ...(a.text !== '' || a.toolCalls.length === 0 ? [message(`msg_${hex()}`, a.text)] : []),
    ...a.toolCalls.map((c) => functionCall(`fc_${hex()}`, c.id, c.name, c.arguments)),
  ];
}

function message(id: string, text: string): Item {
  return { type: 'message', id, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
}

function reasoning(id: string, text: string): Item {
  return { type: 'reasoning', id, summary: [{ type: 'summary_text', text }] };
}

function functionCall(id: string, callId: string, name: string, args: string): Item {
  return { type: 'function_call', id, call_id: callId, name, arguments: args, status: 'completed' };
}

/** The response object, complete (or incomplete when the answer hit its token limit). */
function response(head: Head, model: string, output: Item[], last: StreamChunk | undefined) {
  const u = last?.usage;
  const input = u?.promptTokens ?? 0;
  const out = u?.completionTokens ?? 0;
  const incomplete = last?.finishReason === 'length';
  return {
    id: head.id,
    object: 'response',
    created_at: head.created_at,
    status: incomplete ? 'incomplete' : 'completed',
    error: null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    model,
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    text: { format: { type: 'text' } },
    metadata: {},
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: out, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + out },
  };
}

function hex(): string {
  return randomUUID().replace(/-/g, '');
}
