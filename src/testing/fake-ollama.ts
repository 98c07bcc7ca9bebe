import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the fake server does with one `/api/chat` request. */
export interface FakeOllamaScript {
  /** The answer's pieces. Default `['Hello', ' from', ' fake', ' Ollama']`. */
  chunks?: string[];
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
  readonly messages: Array<{ role: string; content: string }>;
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
  /** Connections open now. */
  openConnections(): number;
  /** Replaces the script (and models) from now on. */
  set(options: FakeOllamaOptions): void;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

const enc = new TextEncoder();

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
  let opts = options;
  const requests: FakeOllamaRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let clientAborts = 0;

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running');
    if (req.method === 'GET' && url === '/api/tags') {
      if (opts.tagsDelayMs) await wait(opts.tagsDelayMs);
      const models = (opts.models ?? ['gemma3:4b']).map((m) => ({ name: m, model: m, size: 1, digest: 'x', details: {} }));
      res.writeHead(opts.tagsStatus ?? 200, { 'content-type': 'application/json; charset=utf-8' });
      return void res.end(JSON.stringify({ models }));
    }
    if (req.method !== 'POST' || url !== '/api/chat') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');

    let raw = '';
    for await (const c of req) raw += c;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid JSON' }));
    }
    const request: FakeOllamaRequest = {
      model: String(body.model ?? ''),
      messages: (body.messages as FakeOllamaRequest['messages']) ?? [],
      stream: body.stream !== false,
      body,
    };
    requests.push(request);
    const script = typeof opts.script === 'function' ? opts.script(request, requests.length - 1) : (opts.script ?? {});
    let finished = false;
    res.on('close', () => {
      if (!finished) clientAborts++;
    });

    if (!(opts.models ?? ['gemma3:4b']).includes(request.model) && script.status === undefined) {
      finished = true;
      return void res
        .writeHead(404, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify({ error: `model '${request.model}' not found` }));
    }
    if (script.noResponse) return; // hold the connection: no status line, nothing
    if (script.status !== undefined && script.status !== 200) {
      finished = true;
      res.writeHead(script.status, {
        'content-type': 'application/json; charset=utf-8',
        ...(script.retryAfter !== undefined ? { 'retry-after': script.retryAfter } : {}),
      });
      return void res.end(JSON.stringify({ error: script.errorMessage ?? `error ${script.status}` }));
    }

    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (script.headersThenSilence) return void res.flushHeaders();
    const write = async (line: string): Promise<void> => {
      if (res.destroyed) return;
      const bytes = enc.encode(line);
      if (!script.splitWrites) return void res.write(bytes);
      for (let i = 0; i < bytes.length; i += 3) {
        res.write(bytes.subarray(i, Math.min(bytes.length, i + 3)));
        await wait(0);
      }
    };
    const created_at = new Date(0).toISOString();
    const line = (content: string): string =>
      JSON.stringify({ model: request.model, created_at, message: { role: 'assistant', content }, done: false }) + '\n';

    if (script.oversizedLine) await write(line('x'.repeat(script.oversizedLine)));
    const chunks = script.chunks ?? ['Hello', ' from', ' fake', ' Ollama'];
    for (let i = 0; i < chunks.length; i++) {
      if (script.errorAfter === i) {
        await write(JSON.stringify({ error: 'an error was encountered while running the model' }) + '\n');
        finished = true;
        return void res.end();
      }
      if (script.resetAfter === i) {
        finished = true;
        if (i > 0) await wait(10); // let the client take the lines so far first
        return void res.socket?.resetAndDestroy();
      }
      if (script.stallAfter === i) return;
      if (script.malformedAfter === i) await write('{"model": "oops", "message": {\n');
      if (script.delayMs) await wait(script.delayMs);
      if (res.destroyed) return;
      await write(line(chunks[i]!));
    }
    if (script.errorAfter === chunks.length) {
      await write(JSON.stringify({ error: 'an error was encountered while running the model' }) + '\n');
      finished = true;
      return void res.end();
    }
    if (script.resetAfter === chunks.length) {
      finished = true;
      await wait(10);
      return void res.socket?.resetAndDestroy();
    }
    if (script.stallAfter === chunks.length) return;
    finished = true;
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
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get clientAborts() {
      return clientAborts;
    },
    openConnections: () => sockets.size,
    set(o) {
      opts = { ...opts, ...o };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}
