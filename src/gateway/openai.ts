import { randomUUID } from 'node:crypto';
import type { StreamChunk } from '../dispatcher/options.js';
import { batched, collect, routeOf, sendJson, SSE_HEADERS, stream } from './answer.js';
import { type Call } from './call.js';
import { GatewayError } from './errors.js';
import { fromOpenAI } from './requests.js';
import type { ToolCallDelta } from '../behaviour/types.js';

/** OpenAI's `POST /v1/chat/completions`: SSE chunks ending with `[DONE]`, or one JSON answer. @internal */
export async function openaiChat(call: Call): Promise<void> {
  const body = call.body as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError(400, 'expected a JSON object', null);
  const request = fromOpenAI(body);
  const route = await routeOf(call.dispatcher, body.model);
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  if (body.stream !== true) {
    const a = await collect(call, request, route);
    const message = {
      role: 'assistant',
      content: a.text === '' && a.toolCalls.length > 0 ? null : a.text,
      ...(a.reasoning !== '' ? { reasoning_content: a.reasoning } : {}),
      ...(a.toolCalls.length > 0 ? { tool_calls: a.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
    };
    return sendJson(call, { id, object: 'chat.completion', created, model: a.model, choices: [{ index: 0, message, finish_reason: a.last.finishReason ?? 'stop', logprobs: null }], ...(a.last.usage ? { usage: usage(a.last) } : {}) });
  }
  const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const res = call.res;
  const out = batched(res);
  const write = out.write;
  const send = (data: unknown): void => write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (model: string, delta: object, finish: string | null): object => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  let first = true;
  const delta = (c: StreamChunk): object => {
    const d = { ...(first ? { role: 'assistant' } : {}), content: c.text, ...(c.reasoning !== undefined ? { reasoning_content: c.reasoning } : {}), ...(c.toolCalls !== undefined ? { tool_calls: c.toolCalls.map(wireToolCall) } : {}) };
    first = false;
    return d;
  };
  await stream(call, request, {
    start: () => res.writeHead(200, SSE_HEADERS),
    chunk: (c, model) => send(chunk(model, delta(c), null)),
    end(last, model) {
      send(chunk(model, delta(last), last.finishReason ?? 'stop'));
      if (includeUsage) send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: last.usage ? usage(last) : null });
      write('data: [DONE]\n\n');
      out.end();
    },
    broke(message) {
      // No [DONE]: the client must not take what it got for a complete answer.
      send({ error: { message, type: 'api_error', param: null, code: 'stream_interrupted' } });
      out.end();
    },
  }, route);
}

/** A tool-call piece as OpenAI streams it: `{ index, id, type, function: { name, arguments } }` (id, type and name on the first piece). */
function wireToolCall(d: ToolCallDelta): object {
  return {
    index: d.index,
    ...(d.id !== undefined ? { id: d.id, type: 'function' } : {}),
    function: { ...(d.name !== undefined ? { name: d.name } : {}), arguments: d.arguments ?? '' },
  };
}

/** OpenAI's `GET /v1/models`: every worker's model, and each worker's name as an alias. @internal */
export async function openaiModels(call: Call): Promise<void> {
  const status = await call.dispatcher.status();
  const ids = new Map<string, string>();
  for (const w of status.workers) {
    if (w.model !== undefined && !ids.has(w.model)) ids.set(w.model, w.kind);
    if (!ids.has(w.name)) ids.set(w.name, 'cortex');
    for (const t of w.tags ?? []) if (!ids.has(t)) ids.set(t, 'cortex');
  }
  sendJson(call, { object: 'list', data: [...ids].map(([id, owner]) => ({ id, object: 'model', created: 0, owned_by: owner })) });
}

function usage(c: StreamChunk): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const p = c.usage?.promptTokens ?? 0;
  const q = c.usage?.completionTokens ?? 0;
  return { prompt_tokens: p, completion_tokens: q, total_tokens: p + q };
}

