import { checkFakeOptions, fakeHttp, faultAt, readJson, withCounters } from './fake-http.js';

/** What the fake OpenAI-compatible server does with one `/chat/completions` request. */
export interface FakeOpenAIScript {
  /** The answer's pieces. Default `['Hello', ' from', ' fake', ' OpenAI']`. */
  chunks?: string[];
  /** Reasoning deltas sent first (a thinking model), each after `reasoningDelayMs`. */
  reasoning?: string[];
  /** The delta field reasoning comes in: `'reasoning_content'` (DeepSeek, vLLM; default) or `'reasoning'` (OpenRouter, Ollama /v1). */
  reasoningField?: 'reasoning_content' | 'reasoning';
  /** Real ms before each reasoning delta. */
  reasoningDelayMs?: number;
  /** Real ms between events. */
  delayMs?: number;
  /** Answer with this status and `errorBody` instead of streaming. */
  status?: number;
  /** The error body: `'object'` (OpenAI shape, default), `'array'` (Gemini), `'text'`, or a literal string. */
  errorBody?: 'object' | 'array' | 'text' | string;
  /** `error.code` in the OpenAI-shaped body, e.g. `'insufficient_quota'`. */
  errorCode?: string;
  /** Sent as `retry-after`. */
  retryAfter?: string;
  /** Extra response headers (e.g. `x-ratelimit-remaining-requests`), on errors and streams alike. */
  headers?: Record<string, string>;
  /** Send `data: {"error": ...}` after this many chunks, then `[DONE]` (as vLLM does). */
  errorEventAfter?: number;
  /** Use `event: error` for the error event. */
  namedErrorEvent?: boolean;
  /** Send a `: ping` comment before every event. */
  comments?: boolean;
  /** Send the usage chunk (`choices: []`) before `[DONE]`. Default true. */
  usage?: boolean;
  /** End after the finish chunk without `[DONE]` (some servers do; still complete). */
  noDone?: boolean;
  /** End without a finish chunk and without `[DONE]` (truncated). */
  endEarly?: boolean;
  /** Destroy the connection after this many chunks. */
  resetAfter?: number;
  /** Headers, then nothing. */
  headersThenSilence?: boolean;
  /** Stop after this many chunks and keep the connection open. */
  stallAfter?: number;
  /** Write events in small pieces (splitting UTF-8 characters). */
  splitWrites?: boolean;
  /** One event of this many bytes first. */
  oversizedEvent?: number;
  /** A malformed JSON event after this many chunks. */
  malformedAfter?: number;
  /**
   * Tool calls made after the text, streamed as OpenAI does: per call, a delta with its index,
   * id, type and name, then its arguments in pieces of `toolArgumentPiece` characters; the finish
   * reason is then `tool_calls`.
   */
  toolCalls?: Array<{ name: string; arguments: string }>;
  /** Characters of arguments per delta. Default 8. */
  toolArgumentPiece?: number;
  /** Destroy the connection after this many tool-call deltas (a tool call broken mid-stream). */
  resetAfterToolDeltas?: number;
}

/** Options of {@link startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** Models listed by `/v1/models`. Default `['gpt-test']`. */
  models?: string[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401. */
  apiKey?: string;
  /** Script for every chat request, or a function choosing per request. */
  script?: FakeOpenAIScript | ((index: number, body: Record<string, unknown>) => FakeOpenAIScript);
  /**
   * Request fields refused with 422 `extra_forbidden`, as Mistral's and Cohere's APIs refuse
   * `stream_options` (e.g. `['stream_options']`).
   */
  rejectFields?: string[];
}

/** A running fake OpenAI-compatible server on 127.0.0.1. */
export interface FakeOpenAI {
  /** Base URL including `/v1`. */
  readonly url: string;
  /** Every chat request body, in order. */
  readonly requests: Array<Record<string, unknown>>;
  /** Requests closed by the client before the server finished. */
  readonly clientAborts: number;
  /** Chat requests being answered now. */
  readonly active: number;
  /** The most chat requests answered at once so far. */
  readonly peakActive: number;
  /** Changes what the server does from the next request on (the script, faults, status). */
  set(options: FakeOpenAIOptions): void;
  /** Stops the server and ends its open connections. */
  close(): Promise<void>;
}

/**
 * Starts a real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions streaming
 * protocol (SSE) and `GET /v1/models`, scriptable to produce each vendor's error shapes and
 * stream faults. Exported from `cortex-otp/testing`.
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  checkFakeOptions(options);
  let opts = options;
  const requests: Array<Record<string, unknown>> = [];
  const http = await fakeHttp(async (req, res, { wait, write: send, track }) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      // Like OpenAI, echo the key that was sent: clients must not leak it from here.
      const sent = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return json(401, { error: { message: `Incorrect API key provided: ${sent}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    }
    if (req.method === 'GET' && req.url === '/v1/models') {
      return json(200, { object: 'list', data: (opts.models ?? ['gpt-test']).map((id) => ({ id, object: 'model', owned_by: 'fake' })) });
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return json(404, { error: { message: 'not found', type: 'not_found_error' } });
    const body = (await readJson(req)) ?? {};
    requests.push(body);
    const extra = opts.rejectFields?.find((f) => body[f] !== undefined);
    if (extra !== undefined) {
      const detail = [{ type: 'extra_forbidden', loc: ['body', extra], msg: 'Extra inputs are not permitted' }];
      return json(422, { object: 'error', message: { detail }, type: 'invalid_request_error', param: null, code: null });
    }
    const script = typeof opts.script === 'function' ? opts.script(requests.length - 1, body) : (opts.script ?? {});
    const tracker = track(res);
    if (script.status !== undefined && script.status !== 200) {
      tracker.finish();
      const message = `error ${script.status}`;
      const shaped =
        script.errorBody === 'array'
          ? [{ error: { code: script.status, message, status: 'INVALID_ARGUMENT' } }]
          : script.errorBody === 'text'
            ? message
            : script.errorBody === undefined || script.errorBody === 'object'
              ? { error: { message, type: 'api_error', param: null, code: script.errorCode ?? null } }
              : script.errorBody;
      return json(script.status, shaped, { ...(script.retryAfter !== undefined ? { 'retry-after': script.retryAfter } : {}), ...script.headers });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...script.headers });
    if (script.headersThenSilence) return void res.flushHeaders();
    const model = String(body.model ?? 'gpt-test');
    const event = async (data: unknown, name?: string): Promise<void> => {
      if (script.comments) await send(res, ': ping\n\n', script.splitWrites);
      await send(res, `${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`, script.splitWrites);
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 0,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    if (script.oversizedEvent) await event(chunk({ content: 'x'.repeat(script.oversizedEvent) }));
    await event(chunk({ role: 'assistant', content: '' }));
    for (const thought of script.reasoning ?? []) {
      if (script.reasoningDelayMs) await wait(script.reasoningDelayMs);
      if (res.destroyed) return;
      await event(chunk({ content: null, [script.reasoningField ?? 'reasoning_content']: thought }));
    }
    const chunks = script.chunks ?? ['Hello', ' from', ' fake', ' OpenAI'];
    for (let i = 0; i <= chunks.length; i++) {
      if (script.errorEventAfter === i) {
        await event({ error: { message: 'internal error while generating', type: 'server_error' } }, script.namedErrorEvent ? 'error' : undefined);
        await event('[DONE]');
        tracker.finish();
        return void res.end();
      }
      if (await faultAt(i, script, res, tracker, wait)) return;
      if (script.endEarly && i === chunks.length) {
        tracker.finish();
        return void res.end();
      }
      if (i === chunks.length) break;
      if (script.malformedAfter === i) await send(res, 'data: {"choices": [\n\n');
      if (script.delayMs) await wait(script.delayMs);
      if (res.destroyed) return;
      await event(chunk({ content: chunks[i] }));
    }
    const calls = script.toolCalls ?? [];
    let deltas = 0;
    for (const [index, call] of calls.entries()) {
      await event(chunk({ tool_calls: [{ index, id: `call_${index}_${requests.length}`, type: 'function', function: { name: call.name, arguments: '' } }] }));
      const piece = script.toolArgumentPiece ?? 8;
      for (let at = 0; at < call.arguments.length; at += piece) {
        if (script.resetAfterToolDeltas === deltas++) {
          tracker.finish();
          await wait(10);
          return void res.socket?.resetAndDestroy();
        }
        if (script.delayMs) await wait(script.delayMs);
        if (res.destroyed) return;
        await event(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(at, at + piece) } }] }));
      }
    }
    await event(chunk({}, calls.length > 0 ? 'tool_calls' : 'stop'));
    if (script.usage !== false) {
      await event({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model, choices: [], usage: { prompt_tokens: 3, completion_tokens: chunks.length, total_tokens: 3 + chunks.length } });
    }
    tracker.finish();
    if (!script.noDone) await event('[DONE]');
    res.end();
  });
  return withCounters<Omit<FakeOpenAI, 'clientAborts' | 'active' | 'peakActive'>>({
    url: `${http.url}/v1`,
    requests,
    set(o: FakeOpenAIOptions) {
      opts = { ...opts, ...o };
    },
    close: () => http.close(),
  }, http);
}
