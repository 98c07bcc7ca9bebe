/**
 * Whose fault, as a gateway client sees it: a request its backend refused as invalid comes back
 * with the backend's status, message and code in each API's error shape (never a retryable 503);
 * a pool whose only worker is rate limited answers 429 with `retry-after`; a 503 says which route
 * was asked for and why each worker could not take it.
 */
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { OpenAIWorker, type Workers } from '../../src/index.js';
import { serveGateway, type GatewayServer } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { openai, start } = useServers();

async function gateway(cortex: Workers, keys?: string[]): Promise<GatewayServer> {
  return serveGateway(cortex, keys ? { keys } : {});
}

const refusal = JSON.stringify({
  error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
});

describe("a backend's refusal reaches the client as the caller's error", () => {
  it('the openai client gets a 400 BadRequestError with the backend message, code and param; the spare worker is not asked', async () => {
    const strict = await openai({ script: { status: 400, errorBody: refusal } });
    const spare = new MockWorker({ name: 'spare', priority: 2, capabilities: { contextLength: 8192 } });
    const { cortex } = await start([new OpenAIWorker({ name: 'strict', baseUrl: strict.url, model: 'm', priority: 1, capabilities: { contextLength: 8192 } }), spare]);
    const g = await gateway(cortex);
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    try {
      const e = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'long' }], stream: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages', type: 'invalid_request_error' });
      expect((e as Error).message).toContain("This model's maximum context length is 8192 tokens");
      expect(spare.calls).toHaveLength(0); // its context is not larger: it would refuse the same
    } finally {
      await g.close();
    }
  });

  it("the ollama client gets the backend's status and message as Ollama's { error }", async () => {
    const strict = await openai({ script: { status: 422, errorBody: JSON.stringify({ error: { message: 'tools[0].function.parameters is not a valid JSON schema', type: 'invalid_request_error', param: 'tools', code: null } }) } });
    const { cortex } = await start([new OpenAIWorker({ name: 'strict', baseUrl: strict.url, model: 'm' })]);
    const g = await gateway(cortex);
    try {
      const e = await new Ollama({ host: g.url }).chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toMatchObject({ status_code: 422, error: 'tools[0].function.parameters is not a valid JSON schema' });
      // Three refusals in a row open no circuit: the worker still answers everyone else.
      for (let i = 0; i < 3; i++) await fetch(`${g.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
      expect((await cortex.dispatcher.status()).workers[0]).toMatchObject({ circuit: 'closed', failures: 0 });
    } finally {
      await g.close();
    }
  });
});

describe('rate limits and unavailable workers', () => {
  it("answers 429 with retry-after when the only worker's backend is rate limited", async () => {
    const limited = await openai({ script: { status: 429, retryAfter: '7' } });
    const { cortex } = await start([new OpenAIWorker({ name: 'limited', baseUrl: limited.url, model: 'm' })]);
    const g = await gateway(cortex);
    try {
      const first = await fetch(`${g.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(first.status).toBe(429);
      expect(first.headers.get('retry-after')).toBe('7');
      expect(await first.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limited' } });
      // Asked again while it rests: skipped as cooling down, still a 429 with the time left.
      const again = await fetch(`${g.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThanOrEqual(6);
    } finally {
      await g.close();
    }
  });

  it('a 503 names the route asked for and why each worker could not take it', async () => {
    const { cortex } = await start([new MockWorker({ name: 'coder', tags: ['code'], failOnStart: true }), new MockWorker({ name: 'writer', tags: ['prose'] })]);
    const g = await gateway(cortex);
    try {
      const res = await fetch(`${g.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'code', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { message: string; type: string } };
      expect(body.error.type).toBe('service_unavailable_error');
      expect(body.error.message).toMatch(/no workers available for route "code"/);
      expect(body.error.message).toMatch(/coder: .*failed to start/);
    } finally {
      await g.close();
    }
  });
});

describe('keys', () => {
  it('accepts the bearer scheme in any case (RFC 9110 11.1)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'm' })]);
    const g = await gateway(cortex, ['a-long-enough-key']);
    try {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const res = await fetch(`${g.url}/v1/models`, { headers: { authorization: `${scheme} a-long-enough-key` } });
        expect(res.status).toBe(200);
      }
      expect((await fetch(`${g.url}/v1/models`, { headers: { authorization: 'Basic a-long-enough-key' } })).status).toBe(401);
      expect((await fetch(`${g.url}/v1/models`, { headers: { authorization: 'bearer wrong-key-here' } })).status).toBe(401);
    } finally {
      await g.close();
    }
  });

  it("keeps each key's cached answers apart (the key's hash is the cache scope)", async () => {
    const w = new MockWorker({ name: 'm', chunks: ['private answer'] });
    const { cortex } = await start([w], { cache: {} });
    const g = await gateway(cortex, ['key-of-tenant-a', 'key-of-tenant-b']);
    const ask = (key: string): Promise<Response> =>
      fetch(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'same question' }] }) });
    try {
      for (const key of ['key-of-tenant-a', 'key-of-tenant-b', 'key-of-tenant-a']) expect((await ask(key)).status).toBe(200);
      expect(w.calls).toHaveLength(2); // b was not served a's answer; a's second was
    } finally {
      await g.close();
    }
  });
});

describe('request bodies', () => {
  it('over maxBodyBytes: 413, whether the length is declared or the body is chunked; not JSON: 400; the server goes on', async () => {
    const w = new MockWorker({ name: 'm' });
    const { cortex } = await start([w]);
    const g = await serveGateway(cortex, { maxBodyBytes: 1_000 });
    const { request } = await import('node:http');
    const post = (body: string, chunked: boolean): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${g.url}/v1/chat/completions`, { method: 'POST', headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode!, text }));
        });
        req.on('error', reject);
        if (chunked) for (let i = 0; i < body.length; i += 200) req.write(body.slice(i, i + 200));
        req.end(chunked ? undefined : body);
      });
    const big = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(2_000) }] });
    try {
      for (const chunked of [false, true]) {
        const r = await post(big, chunked);
        expect(r.status, chunked ? 'chunked' : 'declared').toBe(413);
        expect(JSON.parse(r.text)).toMatchObject({ error: { message: 'request body over 1000 bytes' } });
      }
      expect((await post('{"model": ', false)).status).toBe(400);
      expect(w.calls).toHaveLength(0);
      const ok = await post(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), true);
      expect(ok.status).toBe(200);
    } finally {
      await g.close();
    }
  });
});

/**
 * Sends one raw request (a target no HTTP client would send, or `Connection: close`) and reads
 * the answer's status line, and whether the server closed the connection within a second.
 */
async function raw(url: string, target: string, method = 'GET', body = ''): Promise<{ status: string; closed: boolean }> {
  const { connect } = await import('node:net');
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  let answer = '';
  socket.on('data', (b: Buffer) => (answer += b.toString()));
  const closed = await Promise.race([new Promise<boolean>((resolve) => socket.on('close', () => resolve(true))), new Promise<boolean>((resolve) => setTimeout(resolve, 1_000, false))]);
  socket.destroy();
  return { status: answer.split('\r\n')[0]!, closed };
}

describe('a request target that is not a path', () => {
  it('gets 400 and the gateway goes on (it threw in the request handler: an uncaught exception that ended the process)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const g = await gateway(cortex);
    try {
      expect((await raw(g.url, '//\\')).status).toBe('HTTP/1.1 400 Bad Request');
      expect((await raw(g.url, '/v1/models')).status).toBe('HTTP/1.1 200 OK');
    } finally {
      await g.close();
    }
  });
});

describe('a client that asks to close the connection (Connection: close)', () => {
  it('has it closed after a streamed answer in each API (the answers said keep-alive, and the socket stayed open until the idle timeout)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const g = await gateway(cortex);
    const messages = [{ role: 'user', content: 'hi' }];
    try {
      for (const [path, body] of [
        ['/v1/chat/completions', { model: 'w', messages, stream: true }],
        ['/v1/messages', { model: 'w', messages, max_tokens: 10, stream: true }],
        ['/v1/responses', { model: 'w', input: 'hi', stream: true }],
        ['/api/chat', { model: 'w', messages, stream: true }],
        ['/v1/chat/completions', { model: 'w', messages }],
      ] as const) {
        expect({ path, ...(await raw(g.url, path, 'POST', JSON.stringify(body))) }).toEqual({ path, status: 'HTTP/1.1 200 OK', closed: true });
      }
    } finally {
      await g.close();
    }
  });
});
