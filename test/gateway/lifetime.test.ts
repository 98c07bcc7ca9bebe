/**
 * The gateway's lifetime, as a load balancer and a Kubernetes rollout expect: probes; on close
 * (and SIGTERM to `cortex-otp serve`) it stops taking requests and answers `/readyz` 503 at once,
 * lets streams in flight finish for the drain time, then ends the rest with their API's error
 * (never `[DONE]`), and exits 0. Slow clients are bounded: headers, whole requests, and a client
 * that reads nothing holds the backend back instead of the gateway's memory.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type CompletionChunk, type LlmWorker } from '../../src/index.js';
import { serveGateway } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';
import { serveCli } from '../support/serve-cli.js';

const { ollama, start } = useServers();
const chat = (url: string, stream = true): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }) });

/** Reads an SSE body to its end: the data lines, in order. */
async function events(res: Response): Promise<string[]> {
  const text = await res.text();
  return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
}

describe('probes', () => {
  it('/healthz is up; /readyz says whether a worker can answer', async () => {
    const w = new MockWorker({ name: 'w' });
    const { cortex } = await start([w]);
    const g = await serveGateway(cortex);
    try {
      expect([(await fetch(`${g.url}/healthz`)).status, (await fetch(`${g.url}/readyz`)).status]).toEqual([200, 200]);
      w.set({ health: { status: 'unavailable', reason: 'off' } });
      await cortex.dispatcher.checkHealth();
      const res = await fetch(`${g.url}/readyz`);
      expect([res.status, await res.json()]).toEqual([503, { ready: false, workers: 0 }]);
    } finally {
      await g.close();
    }
  });
});

describe('close: drain, then cut', () => {
  it('lets a stream in flight finish; meanwhile /readyz is 503 and new requests get 503', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w', chunks: Array.from({ length: 10 }, (_, i) => `${i} `), delayMs: 40 })]);
    const g = await serveGateway(cortex);
    const streaming = chat(g.url);
    const res = await streaming;
    const body = events(res);
    await new Promise((r) => setTimeout(r, 100)); // a few chunks in
    const closed = g.close(5_000);
    const ready = await fetch(`${g.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([503, { ready: false, draining: true }]);
    const refused = await chat(g.url, false);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    const lines = await body;
    expect(lines.at(-1)).toBe('[DONE]');
    expect(lines.filter((l) => l !== '[DONE]').map((l) => (JSON.parse(l) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('')).toBe('0 1 2 3 4 5 6 7 8 9 ');
    await closed;
  });

  it('after the drain time, ends the rest with an error event and no [DONE], and closes', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w', chunks: Array.from({ length: 50 }, () => 'x'), delayMs: 40 })]);
    const g = await serveGateway(cortex);
    const res = await chat(g.url);
    const body = events(res);
    await new Promise((r) => setTimeout(r, 100));
    await g.close(100);
    const lines = await body;
    expect(lines).not.toContain('[DONE]');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ error: { message: expect.stringMatching(/shutting down/), code: 'stream_interrupted' } });
    expect(cortex.dispatcher.inflight).toBe(0); // the pool's request was ended with it
  });

  it('cortex-otp serve on SIGTERM: the stream in flight finishes, then it exits 0', async () => {
    const backend = await ollama({ script: { chunks: Array.from({ length: 10 }, (_, i) => `${i}`), delayMs: 60 } });
    const served = serveCli({ workers: [{ kind: 'ollama', name: 'local', baseUrl: backend.url }] });
    const child = served.child;
    try {
      const url = await served.url;
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
      const text = res.text();
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGTERM');
      const lines = (await text).trim().split('\n').map((l) => JSON.parse(l) as { message?: { content: string }; done: boolean; error?: string });
      expect(lines.map((l) => l.message?.content ?? '').join('')).toBe('0123456789');
      expect(lines.at(-1)!.done).toBe(true);
      expect(await exited).toBe(0);
    } finally {
      served.dispose();
    }
  }, 20_000);
});

describe('slow clients are bounded', () => {
  /** Opens a raw connection, sends `parts` one by one `everyMs` apart, and says when the server closed it (and what it answered). */
  function slowClient(port: number, parts: string[], everyMs: number): Promise<{ closedAfterMs: number; answer: string }> {
    return new Promise((resolve) => {
      const t0 = Date.now();
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let i = 0;
      const timer = setInterval(() => {
        if (i < parts.length && !socket.destroyed) socket.write(parts[i++]!);
      }, everyMs);
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ closedAfterMs: Date.now() - t0, answer });
      });
    });
  }

  it('a client that sends its headers a line at a time is cut at headersTimeoutMs', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const g = await serveGateway(cortex, { headersTimeoutMs: 300 });
    try {
      const lines = ['POST /v1/chat/completions HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `x-slow-${i}: 1\r\n`)];
      const r = await slowClient(g.port, lines, 100);
      expect(r.answer).toMatch(/^HTTP\/1.1 408/);
      expect(r.closedAfterMs).toBeLessThan(2_000); // 40 lines would take 4 s
    } finally {
      await g.close(0);
    }
  });

  it('a client that announces a longer body than it sends is cut at requestTimeoutMs', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const g = await serveGateway(cortex, { headersTimeoutMs: 200, requestTimeoutMs: 400 });
    try {
      const r = await slowClient(g.port, ['POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{"model":'], 10);
      expect(r.answer).toMatch(/^HTTP\/1.1 408/);
      expect(r.closedAfterMs).toBeLessThan(3_000);
    } finally {
      await g.close(0);
    }
  });

  it('a client that reads nothing makes the gateway stop asking the pool, so memory stays bounded; nothing is lost when it reads', async () => {
    const CHUNK = 'y'.repeat(1024);
    const TOTAL = 16 * 1024; // 16 MiB of answer
    let pulled = 0;
    const firehose: LlmWorker = Object.assign(new MockWorker({ name: 'firehose' }), {
      streamCompletion: (): Promise<AsyncIterable<CompletionChunk>> =>
        Promise.resolve(
          (async function* () {
            for (; pulled < TOTAL; ) {
              pulled++;
              yield { text: CHUNK };
            }
            yield { text: '', done: true };
          })(),
        ),
    });
    const { cortex } = await start([firehose]);
    const g = await serveGateway(cortex);
    const socket = connect(g.port, '127.0.0.1');
    try {
      const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      socket.pause(); // reads nothing
      let last = -1;
      for (let still = 0; still < 4; ) {
        await new Promise((r) => setTimeout(r, 50));
        still = pulled === last ? still + 1 : 0;
        last = pulled;
      }
      // What sits in the socket buffers on both ends, and no more: far from the whole answer.
      expect(pulled * 1024).toBeLessThan(TOTAL * 1024 / 4);
      let received = 0;
      const done = new Promise<void>((resolve) => {
        socket.on('data', (d: Buffer) => {
          received += d.length;
          if (d.toString().includes('[DONE]')) resolve();
        });
      });
      socket.resume();
      await done;
      expect(pulled).toBe(TOTAL);
      expect(received).toBeGreaterThan(TOTAL * 1024);
    } finally {
      socket.destroy();
      await g.close(0);
    }
  }, 20_000);
});
