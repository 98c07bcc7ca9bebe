/**
 * Whatever a backend answers, each adapter ends the request with chunks that end `done`, or with
 * a typed `WorkerError`, and never hangs past its cap, throws anything else, or shows its key.
 * The backend is a raw TCP server answering from a plan drawn at random: a status (200 mostly,
 * else 4xx / 5xx / 3xx), headers (content types, `retry-after` and rate-limit headers of any
 * value), a body made of the protocol's own pieces (text, tool calls, usage, done, error events,
 * keep-alives) mixed with junk and bytes that are not UTF-8, framed by length, chunked, by
 * close, or by a length longer than what comes, written in random pieces, and then closed or
 * left hanging. `FUZZ_RUNS` sets the runs per adapter (60 by default); `test/support/fuzz.ts` says which seed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicWorker, isWorkerError, OllamaWorker, OpenAIWorker, type CompletionChunk, type LlmWorker } from '../../src/index.js';
import { fuzz } from '../support/fuzz.js';

const KEY = 'sk-fuzz-backend-secret-4711';
const KINDS = new Set(['connection', 'http', 'rate_limited', 'quota', 'auth', 'model_not_found', 'bad_request', 'protocol', 'stream_error', 'truncated', 'first_chunk_timeout', 'idle_timeout', 'unsupported']);

interface Plan {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: readonly Buffer[];
  readonly framing: 'length' | 'chunked' | 'close' | 'short';
  readonly end: 'close' | 'hang';
}

let plan: Plan;
let server: Server;
let url: string;
const sockets = new Set<Socket>();

/** Answers each request on the connection with the current plan (the request itself is read to its end, then ignored). */
function serve(socket: Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket)).on('error', () => undefined);
  let buf = Buffer.alloc(0);
  socket.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    const head = buf.indexOf('\r\n\r\n');
    if (head === -1) return;
    const length = Number(/content-length: *(\d+)/i.exec(buf.subarray(0, head).toString())?.[1] ?? 0);
    if (buf.length < head + 4 + length) return;
    buf = buf.subarray(head + 4 + length);
    void answer(socket, plan);
  });
}

async function answer(socket: Socket, p: Plan): Promise<void> {
  const total = p.body.reduce((n, b) => n + b.length, 0);
  const framing = p.framing === 'length' ? [['content-length', String(total)]] : p.framing === 'short' ? [['content-length', String(total + 10)]] : p.framing === 'chunked' ? [['transfer-encoding', 'chunked']] : [['connection', 'close']];
  const head = [`HTTP/1.1 ${p.status} X`, ...[...p.headers, ...framing].map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n';
  const write = (b: Buffer | string): void => void (socket.destroyed || socket.write(b));
  write(head);
  for (const part of p.body) {
    await new Promise((resolve) => setImmediate(resolve)); // each piece its own read, most of the time
    if (part.length === 0) continue;
    write(p.framing === 'chunked' ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part);
  }
  if (p.end === 'hang') return; // the worker's cap ends it
  if (p.framing === 'chunked') write('0\r\n\r\n');
  if (p.framing === 'close' || p.framing === 'short') socket.end();
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const text = fc.string({ maxLength: 8 });
const json = (v: unknown): string => JSON.stringify(v);
const junk = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\n', '\r\n', '{', '}\n', 'data:', 'data: \n\n', 'event: \n', ':\n\n', 'null\n', '[]\n', '"x"\n'), fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)));

/** Ollama's NDJSON lines. */
const ollamaPiece = fc.oneof(
  { weight: 4, arbitrary: text.map((t) => `${json({ model: 'm', message: { role: 'assistant', content: t }, done: false })}\n`) },
  { weight: 2, arbitrary: fc.constantFrom('stop', 'length', 'load', null).map((r) => `${json({ model: 'm', message: { role: 'assistant', content: '' }, done: true, done_reason: r, prompt_eval_count: 3, eval_count: 2 })}\n`) },
  fc.jsonValue().map((a) => `${json({ message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: a } }] }, done: false })}\n`),
  text.map((t) => `${json({ error: t })}\n`),
  fc.jsonValue().map((v) => `${json(v)}\n`),
  junk,
);

/** OpenAI's server-sent events. */
const openaiPiece = fc.oneof(
  { weight: 4, arbitrary: text.map((t) => `data: ${json({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`) },
  { weight: 2, arbitrary: fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter', null).map((r) => `data: ${json({ choices: [{ index: 0, delta: {}, finish_reason: r }], usage: { prompt_tokens: 3, completion_tokens: 2 } })}\n\n`) },
  { weight: 2, arbitrary: fc.constant('data: [DONE]\n\n') },
  fc.tuple(fc.nat(2), fc.oneof(fc.string(), fc.constant('{"a":'))).map(([i, a]) => `data: ${json({ choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: `c${i}`, function: { name: 'f', arguments: a } }] } }] })}\n\n`),
  text.map((t) => `data: ${json({ error: { message: t, type: 'server_error' } })}\n\n`),
  fc.constant(': keep-alive\n\n'),
  fc.jsonValue().map((v) => `data: ${json(v)}\n\n`),
  junk,
);

/** Anthropic's named events. */
const event = (type: string, data: unknown): string => `event: ${type}\ndata: ${json(data)}\n\n`;
const anthropicPiece = fc.oneof(
  { weight: 2, arbitrary: fc.constant(event('message_start', { type: 'message_start', message: { id: 'msg', model: 'c', usage: { input_tokens: 3, output_tokens: 0 } } })) },
  { weight: 2, arbitrary: fc.nat(2).map((i) => event('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } })) },
  { weight: 4, arbitrary: fc.tuple(fc.nat(2), text).map(([i, t]) => event('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: t } })) },
  fc.nat(2).map((i) => event('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } })),
  fc.tuple(fc.nat(2), fc.oneof(fc.string(), fc.constant('{"a":'))).map(([i, s]) => event('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: s } })),
  fc.tuple(fc.nat(2), text).map(([i, t]) => event('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'thinking_delta', thinking: t } })),
  fc.nat(2).map((i) => event('content_block_stop', { type: 'content_block_stop', index: i })),
  { weight: 2, arbitrary: fc.constantFrom('end_turn', 'max_tokens', 'tool_use', 'stop_sequence', 'refusal', null).map((r) => event('message_delta', { type: 'message_delta', delta: { stop_reason: r }, usage: { output_tokens: 2 } })) },
  { weight: 2, arbitrary: fc.constant(event('message_stop', { type: 'message_stop' })) },
  fc.constantFrom('overloaded_error', 'api_error', 'invalid_request_error').map((t) => event('error', { type: 'error', error: { type: t, message: 'x' } })),
  fc.constant(event('ping', { type: 'ping' })),
  fc.jsonValue().map((v) => event('content_block_delta', v)),
  junk,
);

/** A plan: mostly a 200 with the protocol's pieces; the body cut into random writes. */
function plans(piece: fc.Arbitrary<string | Buffer>, contentType: string): fc.Arbitrary<Plan> {
  return fc.record({
    status: fc.oneof({ weight: 8, arbitrary: fc.constant(200) }, fc.constantFrom(204, 302, 400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 529)),
    headers: fc.tuple(
      fc.oneof({ weight: 6, arbitrary: fc.constant(contentType) }, fc.constantFrom('application/json', 'text/html', 'text/event-stream', 'application/x-ndjson', '')),
      fc.option(fc.constantFrom('1', '0', '-5', 'abc', '99999999999', 'Wed, 21 Oct 2015 07:28:00 GMT', '2.5')),
      fc.option(fc.constantFrom('0', '1', 'x')),
    ).map(([ct, retry, remaining]) => [
      ...(ct !== '' ? [['content-type', ct] as const] : []),
      ...(retry !== null ? [['retry-after', retry] as const] : []),
      ...(remaining !== null ? [['x-ratelimit-remaining-requests', remaining] as const, ['x-ratelimit-reset-requests', '1s'] as const, ['anthropic-ratelimit-requests-remaining', remaining] as const] : []),
    ]),
    body: fc.tuple(fc.array(piece, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 4 })).map(([pieces, cuts]) => {
      const all = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
      const at = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
      return [0, ...at].map((from, i) => all.subarray(from, [...at, all.length][i]));
    }),
    framing: fc.constantFrom('length', 'chunked', 'close', 'short'),
    end: fc.oneof({ weight: 9, arbitrary: fc.constant('close' as const) }, fc.constant('hang' as const)),
  });
}

type Outcome = { chunks: CompletionChunk[] } | { error: unknown } | { hung: true };

/** Reads the worker's answer to the end, or to its first error; `hung` if it takes more than 3 s (its cap is 0.4 s). */
async function outcome(worker: LlmWorker): Promise<Outcome> {
  const read = (async (): Promise<Outcome> => {
    const chunks: CompletionChunk[] = [];
    try {
      for await (const c of await worker.streamCompletion([{ role: 'user', content: 'hi' }], { signal: new AbortController().signal })) {
        chunks.push(c);
        if (c.done) break;
      }
      return { chunks };
    } catch (error) {
      return { error };
    }
  })();
  return Promise.race([read, new Promise<Outcome>((resolve) => setTimeout(resolve, 3_000, { hung: true }))]);
}

function holds(o: Outcome): void {
  expect('hung' in o).toBe(false);
  if ('error' in o) {
    expect(isWorkerError(o.error), `not a WorkerError: ${String(o.error)}`).toBe(true);
    expect(KINDS.has((o.error as { kind: string }).kind)).toBe(true);
    expect(JSON.stringify({ ...(o.error as object), message: (o.error as Error).message })).not.toContain(KEY.slice(3, 15));
    return;
  }
  if (!('chunks' in o)) return;
  // No error: the answer ended with its final chunk, each chunk with its text.
  expect(o.chunks.at(-1)?.done).toBe(true);
  for (const c of o.chunks) expect(typeof c.text).toBe('string');
}

const adapters: Array<[string, () => LlmWorker, fc.Arbitrary<Plan>]> = [
  ['OllamaWorker', () => new OllamaWorker({ baseUrl: url, model: 'm', timeoutMs: 400 }), plans(ollamaPiece, 'application/x-ndjson')],
  ['OpenAIWorker', () => new OpenAIWorker({ baseUrl: `${url}/v1`, model: 'm', apiKey: KEY, timeoutMs: 400 }), plans(openaiPiece, 'text/event-stream')],
  ['AnthropicWorker', () => new AnthropicWorker({ baseUrl: url, model: 'c', apiKey: KEY, timeoutMs: 400 }), plans(anthropicPiece, 'text/event-stream')],
];

describe('whatever a backend answers', () => {
  for (const [name, make, plan$] of adapters) {
    it(`${name} ends with its final chunk or a typed WorkerError, in time, its key never shown`, async () => {
      const worker = make();
      await fc.assert(
        fc.asyncProperty(plan$, async (p) => {
          plan = p;
          holds(await outcome(worker));
        }),
        fuzz(60),
      );
    }, 120_000);
  }
});
