import { checkFakeOptions, fakeHttp, faultAt, readJson, withCounters } from './fake-http.js';

/** What the fake Anthropic server does with one `/v1/messages` request. */
export interface FakeAnthropicScript {
  /** The answer's text pieces (`text_delta`s of one text block). Default `['Hello', ' from', ' fake', ' Claude']`. */
  chunks?: string[];
  /** Thinking pieces first (`thinking_delta`s of a thinking block). */
  thinking?: string[];
  /** Tool calls after the text: per call a `tool_use` block, its input streamed as `input_json_delta`s of `inputPiece` characters; the stop reason is then `tool_use`. */
  toolUse?: Array<{ name: string; input: Record<string, unknown> }>;
  /** Characters of input JSON per delta. Default 8. */
  inputPiece?: number;
  /** Real ms before each delta. */
  delayMs?: number;
  /** Answer with this status and Anthropic's error body (`{ type: 'error', error: { type, message } }`) instead of streaming. */
  status?: number;
  /** `error.type` of the error body or event. Default by status (`overloaded_error` for 529...). */
  errorType?: string;
  /** `error.message`. Default `error <status>`. */
  errorMessage?: string;
  /** Sent as `retry-after` with an error status. */
  retryAfter?: string;
  /** Extra response headers (e.g. `anthropic-ratelimit-requests-remaining`), on errors and streams alike. */
  headers?: Record<string, string>;
  /** Send `event: error` (`overloaded_error` unless `errorType`) after this many text deltas, then end. */
  errorEventAfter?: number;
  /** Destroy the connection after this many text deltas. */
  resetAfter?: number;
  /** Stop after this many text deltas and keep the connection open. */
  stallAfter?: number;
  /** Headers, then nothing. */
  headersThenSilence?: boolean;
  /** End after `message_delta` without `message_stop` (truncated). */
  noMessageStop?: boolean;
  /** `stop_reason` of `message_delta`. Default `end_turn` (`tool_use` with tool calls). */
  stopReason?: string;
  /** Send `event: ping` between events. */
  pings?: boolean;
}

/** Options of {@link startFakeAnthropic}. */
export interface FakeAnthropicOptions {
  /** Models listed by `GET /v1/models`. Default `['claude-test']`. */
  models?: string[];
  /** When set, requests without `x-api-key: <apiKey>` get 401. */
  apiKey?: string;
  /** Script for every request, or a function choosing per request. */
  script?: FakeAnthropicScript | ((index: number, body: Record<string, unknown>) => FakeAnthropicScript);
}

/** A running fake Anthropic Messages server on 127.0.0.1. */
export interface FakeAnthropic {
  /** Base URL (without `/v1`). */
  readonly url: string;
  /** Every `/v1/messages` request body, in order. */
  readonly requests: Array<Record<string, unknown>>;
  /** Every `/v1/messages` request's headers, in order. */
  readonly headers: Array<Record<string, string | string[] | undefined>>;
  readonly clientAborts: number;
  readonly active: number;
  readonly peakActive: number;
  /** Changes what the server does from the next request on (the script, faults, status). */
  set(options: FakeAnthropicOptions): void;
  /** Stops the server and ends its open connections. */
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };

/**
 * Starts a real HTTP server on 127.0.0.1 that speaks Anthropic's Messages API: `POST
 * /v1/messages` streamed as server-sent events (`message_start`, content blocks with text,
 * thinking and tool-use input deltas, `message_delta`, `message_stop`, `ping`, `error`) and
 * `GET /v1/models`; scriptable to produce its error shapes (529 overloaded...) and stream
 * faults. Exported from `cortex-otp/testing`.
 */
export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  checkFakeOptions(options);
  let opts = options;
  const requests: Array<Record<string, unknown>> = [];
  const headers: FakeAnthropic['headers'] = [];
  const http = await fakeHttp(async (req, res, { wait, write, track }) => {
    const json = (status: number, body: unknown, extra: Record<string, string> = {}): void => void res.writeHead(status, { 'content-type': 'application/json', ...extra }).end(JSON.stringify(body));
    const error = (status: number, type: string, message: string, extra: Record<string, string> = {}): void => json(status, { type: 'error', error: { type, message } }, extra);
    if (opts.apiKey !== undefined && req.headers['x-api-key'] !== opts.apiKey) return error(401, 'authentication_error', 'invalid x-api-key');
    if (req.method === 'GET' && req.url === '/v1/models') return json(200, { data: (opts.models ?? ['claude-test']).map((id) => ({ type: 'model', id, display_name: id })), has_more: false });
    if (req.method !== 'POST' || req.url !== '/v1/messages') return error(404, 'not_found_error', 'not found');
    const body = (await readJson(req)) ?? {};
    requests.push(body);
    headers.push({ ...req.headers });
    if (typeof body.max_tokens !== 'number') return error(400, 'invalid_request_error', 'max_tokens: Field required');
    const script = typeof opts.script === 'function' ? opts.script(requests.length - 1, body) : (opts.script ?? {});
    const tracker = track(res);
    if (script.status !== undefined && script.status !== 200) {
      tracker.finish();
      const extra = { ...(script.retryAfter !== undefined ? { 'retry-after': script.retryAfter } : {}), ...script.headers };
      return error(script.status, script.errorType ?? ERROR_TYPES[script.status] ?? 'api_error', script.errorMessage ?? `error ${script.status}`, extra);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...script.headers });
    if (script.headersThenSilence) return void res.flushHeaders();
    const event = async (type: string, data: Record<string, unknown>): Promise<void> => {
      if (script.pings) await write(res, 'event: ping\ndata: {"type": "ping"}\n\n');
      await write(res, `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    const pause = async (): Promise<boolean> => {
      if (script.delayMs) await wait(script.delayMs);
      return !res.destroyed;
    };
    const model = String(body.model ?? 'claude-test');
    await event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: 7, output_tokens: 1 } } });
    let block = 0;
    if (script.thinking !== undefined) {
      await event('content_block_start', { index: block, content_block: { type: 'thinking', thinking: '' } });
      for (const t of script.thinking) if (await pause()) await event('content_block_delta', { index: block, delta: { type: 'thinking_delta', thinking: t } });
      await event('content_block_stop', { index: block++ });
    }
    const chunks = script.chunks ?? ['Hello', ' from', ' fake', ' Claude'];
    await event('content_block_start', { index: block, content_block: { type: 'text', text: '' } });
    for (let i = 0; i <= chunks.length; i++) {
      if (script.errorEventAfter === i) {
        await event('error', { error: { type: script.errorType ?? 'overloaded_error', message: 'Overloaded' } });
        tracker.finish();
        return void res.end();
      }
      if (await faultAt(i, script, res, tracker, wait)) return;
      if (i === chunks.length) break;
      if (!(await pause())) return;
      await event('content_block_delta', { index: block, delta: { type: 'text_delta', text: chunks[i] } });
    }
    await event('content_block_stop', { index: block++ });
    for (const [n, call] of (script.toolUse ?? []).entries()) {
      await event('content_block_start', { index: block, content_block: { type: 'tool_use', id: `toolu_${n}_${requests.length}`, name: call.name, input: {} } });
      const input = JSON.stringify(call.input);
      const piece = script.inputPiece ?? 8;
      for (let at = 0; at < input.length; at += piece) if (await pause()) await event('content_block_delta', { index: block, delta: { type: 'input_json_delta', partial_json: input.slice(at, at + piece) } });
      await event('content_block_stop', { index: block++ });
    }
    const stop = script.stopReason ?? ((script.toolUse?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
    await event('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: chunks.length } });
    tracker.finish();
    if (!script.noMessageStop) await event('message_stop', {});
    res.end();
  });
  return withCounters<Omit<FakeAnthropic, 'clientAborts' | 'active' | 'peakActive'>>(
    {
      url: http.url,
      requests,
      headers,
      set(o: FakeAnthropicOptions) {
        opts = { ...opts, ...o };
      },
      close: () => http.close(),
    },
    http,
  );
}
