/**
 * A backend whose answer has no end (a wrong `baseUrl` pointing at a stream, a broken proxy):
 * a health check reads a bounded part of the body (1 MiB for a model list, 4 KB otherwise) and
 * lets the rest go, and a refused chat request reads 4 KB of its error. Before, a health check
 * read the whole body into memory until its signal aborted.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicWorker, OllamaWorker, OpenAIWorker } from '../../src/index.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A server answering every request with `status` and a body that never ends; counts what it wrote. */
async function endless(status: number): Promise<{ url: string; sent: () => number }> {
  let sent = 0;
  const piece = Buffer.alloc(64 * 1024, 'x');
  server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    const pump = (): void => {
      while (!res.destroyed && res.write(piece)) sent += piece.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}`, sent: () => sent };
}

const MiB = 1 << 20;

describe('a body without end', () => {
  it.each([
    ['OllamaWorker', (url: string) => new OllamaWorker({ baseUrl: url })],
    ['OpenAIWorker', (url: string) => new OpenAIWorker({ name: 'o', baseUrl: url, model: 'm', apiKey: 'sk-test' })],
    ['AnthropicWorker', (url: string) => new AnthropicWorker({ name: 'a', baseUrl: url, model: 'm', apiKey: 'sk-ant-test' })],
  ])('%s: a health check reads a bounded part of it and answers', async (_name, make) => {
    const backend = await endless(200);
    const signal = AbortSignal.timeout(5_000);
    const health = await make(backend.url).healthCheck(signal);
    expect(signal.aborted).toBe(false); // answered from what it read, not cut by the signal
    expect(health.status).toBe(_name === 'AnthropicWorker' ? 'available' : 'unavailable'); // 200 with no JSON: a model list that cannot be read
    await new Promise((r) => setTimeout(r, 50));
    // It stopped reading: what the server wrote is what was read plus what the sockets buffer (the
    // kernel may grow a loopback buffer to tens of MiB); before, it read until its signal: gigabytes.
    expect(backend.sent()).toBeLessThan(64 * MiB);
  });

  it('a refused chat request reads 4 KB of the error and fails with it', async () => {
    const backend = await endless(500);
    const w = new OllamaWorker({ baseUrl: backend.url });
    const err = await w.streamCompletion([{ role: 'user', content: 'Hi' }], { signal: AbortSignal.timeout(5_000) }).then(
      () => undefined,
      (e: unknown) => e as { kind: string; body?: string },
    );
    expect(err?.kind).toBe('http');
    expect(err?.body?.length).toBeLessThanOrEqual(4096);
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.sent()).toBeLessThan(64 * MiB);
  });
});
