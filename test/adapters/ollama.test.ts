import { afterEach, describe, expect, it } from 'vitest';
import { isValidationError, isWorkerError, OllamaWorker, type WorkerError } from '../../src/index.js';
import { startFakeOllama, type FakeOllama, type FakeOllamaOptions } from '../../src/testing.js';
import { collect, until } from './helpers.js';

let fake: FakeOllama | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function worker(options: FakeOllamaOptions = {}, extra: ConstructorParameters<typeof OllamaWorker>[0] = {}) {
  fake = await startFakeOllama(options);
  return new OllamaWorker({ baseUrl: fake.url, ...extra });
}

const hi = [{ role: 'user' as const, content: 'Hi' }];



describe('OllamaWorker over real HTTP', () => {
  it('streams /api/chat and ends with done, finish reason and usage', async () => {
    const w = await worker({ script: { chunks: ['Hel', 'lo'] } });
    const r = await collect(w);
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('Hello');
    expect(r.chunks.at(-1)).toEqual({ text: '', done: true, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 } });
    expect(fake!.requests[0]).toMatchObject({ model: 'gemma3:4b', stream: true, messages: hi });
  });

  it('handles lines and UTF-8 characters split across reads', async () => {
    const w = await worker({ script: { chunks: ['€uro ', '日本 ', '🙂'], splitWrites: true } });
    const r = await collect(w);
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('€uro 日本 🙂');
  });

  it('maps a done_reason of length', async () => {
    const w = await worker({ script: { chunks: ['a'], doneReason: 'length' } });
    expect((await collect(w)).chunks.at(-1)!.finishReason).toBe('length');
  });

  it.each([
    [404, 'model_not_found'],
    [400, 'bad_request'],
    [500, 'http'],
    [503, 'http'],
    [401, 'auth'],
  ])('maps HTTP %i to a WorkerError of kind %s with status and body', async (status, kind) => {
    const w = await worker({ script: { status, errorMessage: 'nope' } });
    const err = await w.streamCompletion(hi, { signal: new AbortController().signal }).catch((e: WorkerError) => e);
    expect(isWorkerError(err)).toBe(true);
    expect(err).toMatchObject({ kind, status, body: 'nope' });
    expect((err as Error).message).toBe(`worker ollama-local: HTTP ${status}: nope`);
  });

  it('maps 429 with retry-after to rate_limited with the delay', async () => {
    const w = await worker({ script: { status: 429, retryAfter: '7', errorMessage: 'slow down' } });
    const err = await w.streamCompletion(hi, { signal: new AbortController().signal }).catch((e: WorkerError) => e);
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7_000 });
  });

  it('a {"error"} line mid-stream is a stream_error, after the text so far', async () => {
    const w = await worker({ script: { chunks: ['a', 'b', 'c'], errorAfter: 2 } });
    const r = await collect(w);
    expect(r.text).toBe('ab');
    expect(r.error).toMatchObject({ kind: 'stream_error', body: 'an error was encountered while running the model' });
  });

  it('a body that ends without done is truncated, never complete', async () => {
    const w = await worker({ script: { chunks: ['a'], endWithoutDone: true } });
    const r = await collect(w);
    expect(r.chunks.some((c) => c.done)).toBe(false);
    expect(r.error).toMatchObject({ kind: 'truncated' });
  });

  it('a connection reset mid-stream is a connection error', async () => {
    const w = await worker({ script: { chunks: ['a', 'b'], resetAfter: 1 } });
    const r = await collect(w);
    expect(r.error).toMatchObject({ kind: 'connection' });
    expect(r.error!.message).toContain('connection lost mid-stream');
  });

  it('a malformed line is a protocol error', async () => {
    const w = await worker({ script: { chunks: ['a', 'b'], malformedAfter: 1 } });
    expect((await collect(w)).error).toMatchObject({ kind: 'protocol' });
  });

  it('an oversized line is an error, not unbounded buffering', async () => {
    const w = await worker({ script: { oversizedLine: 200_000 } }, { maxLineBytes: 64 * 1024 });
    const r = await collect(w);
    expect(r.error).toMatchObject({ kind: 'protocol' });
    expect(r.error!.message).toContain('exceeded 65536 bytes');
  });

  it('a refused connection is a connection error', async () => {
    const probe = await startFakeOllama();
    const url = probe.url;
    await probe.close();
    const w = new OllamaWorker({ baseUrl: url });
    const err = await w.streamCompletion(hi, { signal: new AbortController().signal }).catch((e: WorkerError) => e);
    expect(err).toMatchObject({ kind: 'connection' });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('aborting while waiting for headers really cancels the request', async () => {
    const w = await worker({ script: { noResponse: true } });
    const ac = new AbortController();
    const p = w.streamCompletion(hi, { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => fake!.requests.length === 1);
    ac.abort(new Error('caller left'));
    expect(((await p) as Error).message).toBe('caller left');
    await until(() => fake!.clientAborts === 1);
    expect(fake!.clientAborts).toBe(1);
  });

  it('aborting mid-stream (headers then silence) rejects with the reason and closes the socket', async () => {
    const w = await worker({ script: { headersThenSilence: true } });
    const ac = new AbortController();
    const stream = await w.streamCompletion(hi, { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next().catch((e: unknown) => e);
    ac.abort(new Error('idle'));
    expect(((await next) as Error).message).toBe('idle');
    await until(() => fake!.clientAborts === 1);
    expect(fake!.clientAborts).toBe(1);
  });

  it("its hard cap (timeoutMs) ends a request still waiting for headers, and one whose body went silent, closing each socket", async () => {
    // Waiting for headers: the request is destroyed at the cap.
    const silent = await worker({ script: { noResponse: true } }, { timeoutMs: 60 });
    const refused = await silent.streamCompletion(hi, { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: 'idle_timeout', message: "worker ollama-local: request exceeded the worker's timeout" });
    await until(() => fake!.clientAborts === 1);
    expect(fake!.clientAborts).toBe(1);
    await fake!.close();
    // Headers in, then silence: the read in progress fails at the cap.
    const stalled = await worker({ script: { headersThenSilence: true } }, { timeoutMs: 60 });
    const stream = await stalled.streamCompletion(hi, { signal: new AbortController().signal });
    const broke = await stream[Symbol.asyncIterator]().next().catch((e: unknown) => e);
    expect(broke).toMatchObject({ kind: 'idle_timeout' });
    await until(() => fake!.clientAborts === 1);
    expect(fake!.clientAborts).toBe(1);
  });

  it('a redirect is not followed: an http error naming its status, and one request only (ADR 0002)', async () => {
    const { createServer } = await import('node:http');
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(308, { location: 'http://127.0.0.1:1/api/chat' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const w = new OllamaWorker({ baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
      const { error } = await collect(w);
      expect(error).toMatchObject({ kind: 'http', status: 308 });
      expect(requests).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a consumer that stops reading releases the connection', async () => {
    const w = await worker({ script: { chunks: ['a', 'b', 'c'], stallAfter: 1 } });
    for await (const _ of await w.streamCompletion(hi, { signal: new AbortController().signal })) break;
    await until(() => fake!.clientAborts === 1);
    expect(fake!.clientAborts).toBe(1);
  });
});

describe('OllamaWorker health and info', () => {
  it('is available when the model is pulled', async () => {
    const w = await worker({ models: ['gemma3:4b'] });
    expect(await w.healthCheck(new AbortController().signal)).toEqual({ status: 'available' });
  });

  it('reports a model that is not pulled', async () => {
    const w = await worker({ models: ['llama3.2:latest'] });
    expect(await w.healthCheck(new AbortController().signal)).toEqual({
      status: 'unavailable',
      reason: 'model "gemma3:4b" is not pulled (run: ollama pull gemma3:4b)',
    });
  });

  it('accepts a model without tag as :latest', async () => {
    const w = await worker({ models: ['llama3.2:latest'] }, { model: 'llama3.2' });
    expect((await w.healthCheck(new AbortController().signal)).status).toBe('available');
  });

  it('reports a server that is down with a reason', async () => {
    const probe = await startFakeOllama();
    await probe.close();
    const h = await new OllamaWorker({ baseUrl: probe.url }).healthCheck(new AbortController().signal);
    expect(h.status).toBe('unavailable');
    expect((h as { reason: string }).reason).toContain('ECONNREFUSED');
  });

  it('has the seed defaults and no credentials in info()', () => {
    const w = new OllamaWorker();
    expect(w.info()).toEqual({ name: 'ollama-local', kind: 'ollama', models: ['gemma3:4b'], endpoint: 'http://localhost:11434', capabilities: { tools: true, images: true, jsonSchema: true } });
    expect(w.priority()).toBe(10);
    expect(new OllamaWorker({ baseUrl: 'http://user:secret@host:1/' }).info().endpoint).toBe('http://host:1');
  });

  it('refuses bad options, naming the field', () => {
    let err: unknown;
    try {
      new OllamaWorker({ baseUrl: 'not a url', timeoutMs: -1 });
    } catch (e) {
      err = e;
    }
    expect(isValidationError(err)).toBe(true);
    expect((err as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'OllamaWorker options.baseUrl',
      'OllamaWorker options.timeoutMs',
    ]);
  });
});
