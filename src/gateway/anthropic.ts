import { randomUUID } from 'node:crypto';
import type { FinishReason, ToolCallDelta } from '../behaviour/types.js';
import type { StreamChunk } from '../dispatcher/options.js';
import { argumentsObject } from '../behaviour/tool-calls.js';
import { batched, collect, routeOf, sendJson, sseEvent, SSE_HEADERS, stream } from './answer.js';
import { type Call } from './call.js';
import { GatewayError } from './errors.js';
import { fromAnthropic } from './requests.js';

/**
 * Anthropic's `POST /v1/messages`: server-sent events in Anthropic's order (`message_start`,
 * content blocks with their deltas, `message_delta` with the stop reason and usage,
 * `message_stop`), or one message. A break mid-answer is an `error` event, never a
 * `message_stop`. @internal
 */
export async function anthropicMessages(call: Call): Promise<void> {
  const body = call.body as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError(400, 'expected a JSON object', null);
  const request = fromAnthropic(body);
  const route = await routeOf(call.dispatcher, body.model);
  const id = `msg_${randomUUID().replace(/-/g, '')}`;
  if (body.stream !== true) {
    const a = await collect(call, request, route);
    const content = [
      ...(a.reasoning !== '' ? [{ type: 'thinking', thinking: a.reasoning, signature: '' }] : []),
      ...(a.text !== '' || a.toolCalls.length === 0 ? [{ type: 'text', text: a.text }] : []),
      ...a.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: argumentsObject(c.arguments) ?? {} })),
    ];
    return sendJson(call, { id, type: 'message', role: 'assistant', model: a.model, content, stop_reason: stopReason(a.last.finishReason), stop_sequence: null, usage: usageOf(a.last) });
  }
  const res = call.res;
  const out = batched(res);
  const write = out.write;
  const blocks = new Blocks((event, data) => write(sseEvent(event, { type: event, ...data })));
  await stream(call, request, {
    start: () => res.writeHead(200, SSE_HEADERS),
    chunk: (c, model) => blocks.chunk(c, model, id),
    end(last, model) {
      blocks.chunk(last, model, id);
      blocks.close();
      blocks.send('message_delta', { delta: { stop_reason: stopReason(last.finishReason), stop_sequence: null }, usage: { output_tokens: last.usage?.completionTokens ?? 0 } });
      blocks.send('message_stop', {});
      out.end();
    },
    broke(message) {
      blocks.close();
      blocks.send('error', { error: { type: 'api_error', message } }); // no message_stop: not a complete answer
      out.end();
    },
  }, route);
}

/** A content block being streamed: thinking, text, or the tool use of one call. */
type Open = 'thinking' | 'text' | { readonly tool: number };

/** The open content block (Anthropic streams one block at a time: thinking, text, each tool use). */
class Blocks {
  #index = -1;
  #open: Open | null = null;
  #started = false;

  constructor(readonly send: (event: string, data: object) => void) {}

  chunk(c: StreamChunk, model: string, id: string): void {
    if (!this.#started) {
      this.#started = true;
      this.send('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: c.usage?.promptTokens ?? 0, output_tokens: 0 } } });
    }
    if (c.reasoning !== undefined && c.reasoning !== '') {
      this.#to('thinking', { type: 'thinking', thinking: '' });
      this.send('content_block_delta', { index: this.#index, delta: { type: 'thinking_delta', thinking: c.reasoning } });
    }
    if (c.text !== '') {
      this.#to('text', { type: 'text', text: '' });
      this.send('content_block_delta', { index: this.#index, delta: { type: 'text_delta', text: c.text } });
    }
    for (const d of c.toolCalls ?? []) this.#tool(d);
  }

  #tool(d: ToolCallDelta): void {
    const open = this.#open;
    if (typeof open !== 'object' || open === null || open.tool !== d.index) {
      this.#to({ tool: d.index }, { type: 'tool_use', id: d.id ?? `toolu_${d.index}`, name: d.name ?? '', input: {} });
    }
    if (d.arguments !== undefined && d.arguments !== '') this.send('content_block_delta', { index: this.#index, delta: { type: 'input_json_delta', partial_json: d.arguments } });
  }

  /** Opens `kind` as the next block (closing the one open), unless it is open already. */
  #to(kind: Open, block: object): void {
    if (this.#open === kind) return;
    this.close();
    this.#open = kind;
    this.send('content_block_start', { index: ++this.#index, content_block: block });
  }

  close(): void {
    if (this.#open === null) return;
    if (this.#open === 'thinking') this.send('content_block_delta', { index: this.#index, delta: { type: 'signature_delta', signature: '' } });
    this.send('content_block_stop', { index: this.#index });
    this.#open = null;
  }
}

function stopReason(r: FinishReason | undefined): string {
  switch (r) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

function usageOf(c: StreamChunk): { input_tokens: number; output_tokens: number } {
  return { input_tokens: c.usage?.promptTokens ?? 0, output_tokens: c.usage?.completionTokens ?? 0 };
}

