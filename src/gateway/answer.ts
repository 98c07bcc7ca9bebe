import type { ToolCall, ToolCallDelta } from '../behaviour/types.js';
import { collectToolCalls } from '../behaviour/tool-calls.js';
import { totalTokens } from '../behaviour/usage.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { DispatchOptions, StreamChunk } from '../dispatcher/options.js';
import type { PoolRequest } from './requests.js';
import { describe } from '../errors/runtime.js';
import { CLOSING, type Call } from './call.js';
import { toGatewayError, type GatewayError } from './errors.js';
import { checkScope, type Spent } from './keys.js';
import { estimateTokens } from '../pool/admission.js';
import { conversationChars } from '../dispatcher/conversation.js';

/** How a protocol writes an answer: its headers, each chunk, the end, and a break after text was sent. @internal */
export interface Writer {
  /** Called once, when the first chunk is there (before it, an error still gets its own status). */
  start(): void;
  chunk(c: StreamChunk, model: string): void;
  /** The answer is complete: `last` is its final chunk. */
  end(last: StreamChunk, model: string): void;
  /** The stream broke after text was sent: say so without presenting the answer as complete. */
  broke(message: string): void;
}

/**
 * Streams the pool's answer through `writer`: headers only once the first chunk came (so a
 * request no worker could take still gets a 503 or a 429), every chunk as it comes, and a break
 * mid-answer as the protocol's error, never as a complete answer. Errors before the first chunk
 * are thrown for the caller to answer. A client that reads slowly is waited for (the next chunk
 * is not asked of the pool, so the backend is not read either): memory per client stays bounded.
 * @internal
 */
export async function stream(call: Call, request: PoolRequest, writer: Writer, route?: string): Promise<void> {
  const release = await admitted(call, request, route);
  const it = call.dispatcher.dispatchStream(request.messages, dispatchOptions(call, request, route));
  let started = false;
  let used: Spent | undefined;
  // The model is looked up when the worker changes (a failover, a continuation), not per chunk.
  let worker: string | undefined;
  let model = '';
  try {
    for await (const c of it) {
      if (c.worker !== worker) {
        worker = c.worker;
        model = await modelOf(call.dispatcher, c.worker);
      }
      if (!started) {
        started = true;
        writer.start();
      }
      if (c.done) {
        used = { tokens: totalTokens(c.usage), costUsd: c.costUsd };
        writer.end(c, model);
      } else writer.chunk(c, model);
      if (call.res.writableNeedDrain) await drained(call.res);
    }
  } catch (e) {
    if (!started) throw e;
    if (call.signal.reason === CLOSING) writer.broke(`the gateway is shutting down: the answer was cut after its drain time`);
    else if (!call.signal.aborted) writer.broke(messageOf(toGatewayError(e), e));
  } finally {
    release(used);
  }
}

/**
 * The client's key may ask for this route (a 403 names what it may use), and its limits let the
 * request in (a 429 with `retry-after` when they do not); returns what gives its slot back.
 */
async function admitted(call: Call, request: PoolRequest, route: string | undefined): Promise<(spent: Spent | undefined) => void> {
  if (call.key === undefined) return () => undefined;
  checkScope(call.key, route);
  return call.limits.admit(call.key, estimateTokens(conversationChars(request.messages)));
}

/** The whole answer at once (a non-streaming request). @internal */
export async function collect(call: Call, request: PoolRequest, route?: string): Promise<Collected> {
  const release = await admitted(call, request, route);
  let text = '';
  let reasoning = '';
  let last: StreamChunk | undefined;
  const deltas: ToolCallDelta[] = [];
  try {
    for await (const c of call.dispatcher.dispatchStream(request.messages, dispatchOptions(call, request, route))) {
      text += c.text;
      if (c.reasoning !== undefined) reasoning += c.reasoning;
      if (c.toolCalls !== undefined) deltas.push(...c.toolCalls);
      last = c;
    }
  } finally {
    release({ tokens: totalTokens(last?.usage), costUsd: last?.costUsd });
  }
  return { text, reasoning, toolCalls: collectToolCalls(deltas), last: last!, model: await modelOf(call.dispatcher, last!.worker) };
}

/** A whole answer, for a non-streaming request. @internal */
export interface Collected {
  readonly text: string;
  readonly reasoning: string;
  readonly toolCalls: ToolCall[];
  readonly last: StreamChunk;
  readonly model: string;
}

function dispatchOptions(call: Call, request: PoolRequest, route: string | undefined): DispatchOptions {
  return { signal: call.signal, ...request.options, ...(route !== undefined ? { route } : {}), ...(call.key !== undefined ? { cacheScope: call.key.scope, tenant: call.key.id } : {}) };
}

function messageOf(g: GatewayError, e: unknown): string {
  return g.status === 500 ? `the answer broke off: ${describe(e)}` : g.message;
}

/**
 * The headers of a streamed answer in server-sent events (OpenAI's and Anthropic's APIs). No
 * `connection` header: node:http keeps the connection alive, or closes it after the answer when
 * the client asked to (`Connection: close`), which a `keep-alive` set here overrode. @internal
 */
export const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;

/** A server-sent event with a name (Anthropic's and the Responses API's form). @internal */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Answers `body` as JSON, 200. @internal */
export function sendJson(call: Call, body: unknown): void {
  call.res.writeHead(200, { 'content-type': 'application/json' });
  call.res.end(JSON.stringify(body));
}

/** A response written in batches: `write` queues, `end` sends what is queued and ends it. @internal */
export interface Batched {
  write(data: string): void;
  end(): void;
}

/** Queued text is sent at once past this many characters (a slow client's backpressure stays visible). */
const FLUSH_AT = 16_384;

/**
 * Writes to `res` coalesced per event-loop turn: the pieces that arrive from one upstream read
 * (they come a promise turn apart) are joined and leave in one write, one chunk of the chunked
 * encoding and one socket write, instead of one each. Past {@link FLUSH_AT} characters they
 * go at once, so that `writableNeedDrain` still tells a slow client. @internal
 */
export function batched(res: import('node:http').ServerResponse): Batched {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const data = pending;
    pending = '';
    if (!res.destroyed && !res.writableEnded) res.write(data);
  };
  return {
    write(data) {
      pending += data;
      if (pending.length >= FLUSH_AT) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    end() {
      // What is queued goes with the end: one write, not two.
      const data = pending;
      pending = '';
      if (data !== '' && !res.destroyed && !res.writableEnded) res.end(data);
      else res.end();
    },
  };
}

interface Directory {
  readonly at: number;
  /** Each worker's model (its default). */
  readonly byWorker: Map<string, string>;
  /** Every name a request's `model` may route by: workers' names, models and tags. */
  readonly routes: Set<string>;
}
const directories = new WeakMap<Dispatcher, Directory>();

/** The pool's workers, models and tags, from `status()`, cached for a second. */
async function directory(dispatcher: Dispatcher, need?: string): Promise<Directory> {
  let d = directories.get(dispatcher);
  if (d === undefined || Date.now() - d.at > 1000 || (need !== undefined && !d.byWorker.has(need))) {
    const status = await dispatcher.status();
    const routes = new Set<string>();
    for (const w of status.workers) for (const r of [w.name, ...(w.model !== undefined ? [w.model] : []), ...(w.tags ?? [])]) routes.add(r);
    d = { at: Date.now(), byWorker: new Map(status.workers.map((w) => [w.name, w.model ?? w.name])), routes };
    directories.set(dispatcher, d);
  }
  return d;
}

/** The model a worker answers with (its default). @internal */
export async function modelOf(dispatcher: Dispatcher, worker: string): Promise<string> {
  return (await directory(dispatcher, worker)).byWorker.get(worker) ?? worker;
}

/**
 * What a client's `model` field means here: a worker's tag, name or model routes the request to
 * those workers; anything else (`"gpt-4o"` from a client that must send one) lets the pool choose. @internal
 */
export async function routeOf(dispatcher: Dispatcher, model: unknown): Promise<string | undefined> {
  if (typeof model !== 'string' || model === '') return undefined;
  return (await directory(dispatcher)).routes.has(model) ? model : undefined;
}

/** Resolves when `res` has written out what it buffered (or closed). */
function drained(res: import('node:http').ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
