import type { StreamChunk } from '../dispatcher/options.js';
import { batched, collect, routeOf, stream } from './answer.js';
import { type Call } from './call.js';
import { GatewayError } from './errors.js';
import { fromOllama } from './requests.js';
import { argumentsObject, collectToolCalls } from '../behaviour/tool-calls.js';
import type { ToolCall, ToolCallDelta } from '../behaviour/types.js';

/** The version `GET /api/version` reports (Ollama's clients only display it). */
const VERSION = '0.1.0';

let isoMs = -1;
let iso = '';

/** The time as ISO 8601 (each line's `created_at`), formatted once per millisecond: not once per chunk. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/** Ollama's `POST /api/chat`: NDJSON lines ending with `done: true`, or one JSON answer (`stream: false`). @internal */
export async function ollamaChat(call: Call): Promise<void> {
  const body = call.body as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError(400, 'expected a JSON object');
  const request = fromOllama(body);
  const route = await routeOf(call.dispatcher, body.model);
  const started = process.hrtime.bigint();
  const at = isoNow;
  const final = (last: StreamChunk, model: string, message: object): object => ({
    model,
    created_at: at(),
    message: { role: 'assistant', content: '', ...message },
    done: true,
    done_reason: last.finishReason === 'length' ? 'length' : 'stop',
    total_duration: Number(process.hrtime.bigint() - started),
    ...(last.usage?.promptTokens !== undefined ? { prompt_eval_count: last.usage.promptTokens } : {}),
    ...(last.usage?.completionTokens !== undefined ? { eval_count: last.usage.completionTokens } : {}),
  });
  if (body.stream === false) {
    const a = await collect(call, request, route);
    const message = { content: a.text, ...(a.reasoning !== '' ? { thinking: a.reasoning } : {}), ...(a.toolCalls.length > 0 ? { tool_calls: a.toolCalls.map(wireToolCall) } : {}) };
    call.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    return void call.res.end(JSON.stringify(final(a.last, a.model, message)));
  }
  const res = call.res;
  const out = batched(res);
  const write = out.write;
  const line = (v: unknown): void => write(`${JSON.stringify(v)}\n`);
  // Ollama sends each tool call whole: the pieces are kept and sent together before the last line.
  const deltas: ToolCallDelta[] = [];
  // A text line is written from a template (the same bytes JSON.stringify gives): it is most
  // lines, and building and serialising an object for each cost more than the rest of the line.
  let prefixOf = '';
  let prefix = '';
  const piece = (c: StreamChunk, model: string): void => {
    if (c.toolCalls !== undefined) deltas.push(...c.toolCalls);
    if (c.text === '' && c.reasoning === undefined) return;
    if (c.reasoning !== undefined) {
      line({ model, created_at: at(), message: { role: 'assistant', content: c.text, thinking: c.reasoning }, done: false });
      return;
    }
    if (model !== prefixOf || prefix === '') {
      prefixOf = model;
      prefix = `{"model":${JSON.stringify(model)},"created_at":"`;
    }
    write(`${prefix}${at()}","message":{"role":"assistant","content":${JSON.stringify(c.text)}},"done":false}\n`);
  };
  await stream(call, request, {
    start: () => res.writeHead(200, { 'content-type': 'application/x-ndjson' }),
    chunk: piece,
    end(last, model) {
      piece(last, model);
      const calls = collectToolCalls(deltas);
      if (calls.length > 0) line({ model, created_at: at(), message: { role: 'assistant', content: '', tool_calls: calls.map(wireToolCall) }, done: false });
      line(final(last, model, {}));
      out.end();
    },
    broke(message) {
      line({ error: message }); // as Ollama does mid-stream: no `done: true` line follows
      out.end();
    },
  }, route);
}

/** A tool call as Ollama sends it: arguments as an object (as text when the model wrote no JSON object). */
function wireToolCall(c: ToolCall): object {
  return { id: c.id, function: { name: c.name, arguments: argumentsObject(c.arguments) ?? c.arguments } };
}

/** Ollama's `GET /api/tags`: every worker's model, and each worker's name. @internal */
export async function ollamaTags(call: Call): Promise<void> {
  const status = await call.dispatcher.status();
  const names = new Set<string>();
  for (const w of status.workers) {
    if (w.model !== undefined) names.add(w.model);
    names.add(w.name);
    for (const t of w.tags ?? []) names.add(t);
  }
  const models = [...names].map((name) => ({ name, model: name, modified_at: new Date(0).toISOString(), size: 0, digest: '', details: {} }));
  call.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  call.res.end(JSON.stringify({ models }));
}

/** Ollama's `GET /api/version`. @internal */
export async function ollamaVersion(call: Call): Promise<void> {
  call.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  call.res.end(JSON.stringify({ version: VERSION }));
  return Promise.resolve();
}
