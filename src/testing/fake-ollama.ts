import { checkFakeOptions, withCounters } from './fake-http.js';
import { fakeHttp, faultAt, readJson } from './fake-http.js';

/** What the fake server does with one `/api/chat` request. */
export interface FakeOllamaScript {
  /** The answer's pieces. Default `['Hello', ' from', ' fake', ' Ollama']`. */
  chunks?: string[];
  /** Reasoning pieces sent first, as `message.thinking` (a thinking model), each after `thinkingDelayMs`. */
  thinking?: string[];
  /** Real ms before each thinking piece. */
  thinkingDelayMs?: number;
  /** Real ms between lines. Default 0. */
  delayMs?: number;
  /** Answer with this status and `{"error": errorMessage}` instead of streaming. */
  status?: number;
  errorMessage?: string;
  /** Sent as `retry-after` with an error status. */
  retryAfter?: string;
  /** Write `{"error": ...}` after this many chunks, then end (as Ollama does mid-stream). */
  errorAfter?: number;
  /** Destroy the connection after this many chunks. */
  resetAfter?: number;
  /** Stop writing after this many chunks and keep the connection open. */
  stallAfter?: number;
  /** Send the headers, then nothing. */
  headersThenSilence?: boolean;
  /** Send nothing at all (a server that accepted the connection and hangs). */
  noResponse?: boolean;
  /** End cleanly without the `done: true` line. */
  endWithoutDone?: boolean;
  /** Write a malformed JSON line after this many chunks. */
  malformedAfter?: number;
  /** Write one line of this many bytes first. */
  oversizedLine?: number;
  /** Write every line in small pieces (splitting UTF-8 characters). */
  splitWrites?: boolean;
  /** `done_reason` of the final line. Default `'stop'`. */
  doneReason?: string;
  /** Tool calls made after the text, in one line as Ollama sends them (`message.tool_calls`, arguments as objects). */
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
}

/** Options of {@link startFakeOllama}. */
export interface FakeOllamaOptions {
  /** Models listed by `/api/tags`. Default `['gemma3:4b']`. */
  models?: string[];
  /** Script for every chat request (or a function choosing per request). */
  script?: FakeOllamaScript | ((request: FakeOllamaRequest, index: number) => FakeOllamaScript);
  /** Real ms before `/api/tags` answers. */
  tagsDelayMs?: number;
  /** Status of `/api/tags`. Default 200. */
  tagsStatus?: number;
}

/** One `/api/chat` request as the fake server received it. */
export interface FakeOllamaRequest {
  readonly model: string;
  readonly messages: Array<{ role: string; content: string; images?: string[]; tool_calls?: unknown[]; tool_name?: string }>;
  readonly stream: boolean;
  readonly body: Record<string, unknown>;
}

/** A running fake Ollama server on 127.0.0.1. */
export interface FakeOllama {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Every chat request, in order. */
  readonly requests: FakeOllamaRequest[];
  /** Chat connections closed by the client before the server finished (cancelled requests). */
  readonly clientAborts: number;
  /** Chat requests being answered now. */
  readonly active: number;
  /** The most chat requests answered at once so far (what a backend's capacity would see). */
  readonly peakActive: number;
  /** Connections open now. */
  openConnections(): number;
  /** Replaces the script (and models) from now on. */
  set(options: FakeOllamaOptions): void;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

/**
 * Starts a real HTTP server on 127.0.0.1 (random port) that speaks Ollama's wire protocol:
 * `POST /api/chat` (NDJSON streaming), `GET /api/tags`, `GET /`. Scriptable per request to
 * produce the failures an app must survive. Exported from `cortex-otp/testing`.
 *
 * @example
 * const fake = await startFakeOllama({ script: { chunks: ['Hi'], resetAfter: 1 } });
 * const worker = new OllamaWorker({ baseUrl: fake.url });
 * await fake.close();
 */
export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  checkFakeOptions(options);
  let opts = options;
  const requests: FakeOllamaRequest[] = [];

  const http = await fakeHttp(async (req, res, { wait, write: send, track }) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running');
    if (req.method === 'GET' && url === '/api/tags') {
      if (opts.tagsDelayMs) await wait(opts.tagsDelayMs);
      const models = (opts.models ?? ['gemma3:4b']).map((m) => ({ name: m, model: m, size: 1, digest: 'x', details: {} }));
      res.writeHead(opts.tagsStatus ?? 200, { 'content-type': 'application/json; charset=utf-8' });
      return void res.end(JSON.stringify({ models }));
    }
    if (req.method !== 'POST' || url !== '/api/chat') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');

    const body = await readJson(req);
    if (body === undefined) return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid JSON' }));
    const request: FakeOllamaRequest = {
      model: String(body.model ?? ''),
      messages: (body.messages as FakeOllamaRequest['messages']) ?? [],
      stream: body.stream !== false,
      body,
    };
    requests.push(request);
    const script = typeof opts.script === 'function' ? opts.script(request, requests.length - 1) : (opts.script ?? {});
    const tracker = track(res);

    if (!(opts.models ?? ['gemma3:4b']).includes(request.model) && script.status === undefined) {
      tracker.finish();
      return void res
        .writeHead(404, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify({ error: `model '${request.model}' not found` }));
    }
    if (script.noResponse) return; // hold the connection: no status line, nothing
    if (script.status !== undefined && script.status !== 200) {
      tracker.finish();
      res.writeHead(script.status, {
        'content-type': 'application/json; charset=utf-8',
        ...(script.retryAfter !== undefined ? { 'retry-after': script.retryAfter } : {}),
      });
      return void res.end(JSON.stringify({ error: script.errorMessage ?? `error ${script.status}` }));
    }

    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (script.headersThenSilence) return void res.flushHeaders();
    const write = (text: string): Promise<void> => send(res, text, script.splitWrites);
    const created_at = new Date(0).toISOString();
    const line = (content: string): string =>
      JSON.stringify({ model: request.model, created_at, message: { role: 'assistant', content }, done: false }) + '\n';
    const errorLine = JSON.stringify({ error: 'an error was encountered while running the model' }) + '\n';

    if (script.oversizedLine) await write(line('x'.repeat(script.oversizedLine)));
    for (const thought of script.thinking ?? []) {
      if (script.thinkingDelayMs) await wait(script.thinkingDelayMs);
      if (res.destroyed) return;
      await write(JSON.stringify({ model: request.model, created_at, message: { role: 'assistant', content: '', thinking: thought }, done: false }) + '\n');
    }
    const chunks = script.chunks ?? ['Hello', ' from', ' fake', ' Ollama'];
    for (let i = 0; i <= chunks.length; i++) {
      if (script.errorAfter === i) {
        await write(errorLine);
        tracker.finish();
        return void res.end();
      }
      if (await faultAt(i, script, res, tracker, wait)) return;
      if (i === chunks.length) break;
      if (script.malformedAfter === i) await write('{"model": "oops", "message": {\n');
      if (script.delayMs) await wait(script.delayMs);
      if (res.destroyed) return;
      await write(line(chunks[i]!));
    }
    if (script.toolCalls !== undefined && script.toolCalls.length > 0) {
      const tool_calls = script.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
      await write(JSON.stringify({ model: request.model, created_at, message: { role: 'assistant', content: '', tool_calls }, done: false }) + '\n');
    }
    tracker.finish();
    if (script.endWithoutDone) return void res.end();
    await write(
      JSON.stringify({
        model: request.model,
        created_at,
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: script.doneReason ?? 'stop',
        total_duration: 1_000_000,
        prompt_eval_count: request.messages.length,
        eval_count: chunks.length,
      }) + '\n',
    );
    res.end();
  });

  return withCounters<Omit<FakeOllama, 'clientAborts' | 'active' | 'peakActive'>>({
    url: http.url,
    port: http.port,
    requests,
    openConnections: () => http.openConnections(),
    set(o) {
      opts = { ...opts, ...o };
    },
    close: () => http.close(),
  }, http);
}
