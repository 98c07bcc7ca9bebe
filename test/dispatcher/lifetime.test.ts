/**
 * The lifetime rules of `startWorkers(...).stop()`: the door shuts, requests in flight drain
 * for the time the caller chose, the rest are ended with a typed error and their HTTP requests
 * aborted (the server sees it), nothing is emitted afterwards, and nothing keeps Node alive.
 * Over real HTTP against the fake Ollama server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  isShutdownError,
  OllamaWorker,
  startWorkers,
  type InspectionEvent,
  type StreamChunk,
  type Workers,
} from '../../src/index.js';
import { startFakeOllama, type FakeOllama, type FakeOllamaScript } from '../../src/testing.js';
import { runScript } from '../support/run-script.js';

let server: FakeOllama | undefined;
let cortex: Workers | undefined;
afterEach(async () => {
  await cortex?.stop({ drainMs: 0 });
  await server?.close();
  cortex = server = undefined;
});

async function setup(script: FakeOllamaScript): Promise<{ cortex: Workers; server: FakeOllama; events: InspectionEvent[] }> {
  server = await startFakeOllama({ script });
  cortex = await startWorkers({ workers: [new OllamaWorker({ name: 'local', baseUrl: server.url })], healthIntervalMs: 0 });
  const events: InspectionEvent[] = [];
  cortex.system.inspect((e) => events.push(e));
  return { cortex, server, events };
}

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('stop(): drain, then end', () => {
  it('ends a stream still running when the drain time runs out: typed error with the partial text, upstream aborted', async () => {
    const { cortex, server, events } = await setup({ chunks: Array.from({ length: 200 }, (_, i) => `${i} `), delayMs: 10 });
    const stream = cortex.dispatcher.dispatchStream([{ role: 'user', content: 'long' }]);
    const first = await stream.next();
    expect((first.value as StreamChunk).text).toBe('0 ');
    const received: string[] = [];
    const reading = (async () => {
      for await (const c of stream) received.push(c.text);
    })();
    await cortex.stop({ drainMs: 30 });
    const error = await reading.then(() => undefined, (e: unknown) => e);
    expect(isShutdownError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'shutdown', stage: 'ended', partialText: ['0 ', ...received].join('') });
    await until(() => server.clientAborts === 1, 'the server to see the abort');
    // Nothing is emitted after stop() resolved, even while the server's socket winds down.
    const after = events.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(events.length).toBe(after);
    expect(events.some((e) => e.type === 'pool.stream_finished' && e.outcome === 'shutdown')).toBe(true);
  });

  it('lets a stream finish when it ends within the drain time', async () => {
    const { cortex } = await setup({ chunks: ['a', 'b', 'c', 'd'], delayMs: 15 });
    const stream = cortex.dispatcher.dispatchStream([{ role: 'user', content: 'short' }]);
    await stream.next();
    const rest = (async () => {
      const chunks: StreamChunk[] = [];
      for await (const c of stream) chunks.push(c);
      return chunks;
    })();
    await cortex.stop({ drainMs: 5_000 });
    const chunks = await rest;
    expect(chunks.map((c) => c.text).join('')).toBe('bcd');
    expect(chunks.at(-1)!.done).toBe(true);
  });

  it('against a backend that never answers, stop() ends the caller at once with drainMs 0 and closes the socket', async () => {
    const { cortex, server } = await setup({ noResponse: true });
    const pending = cortex.dispatcher.complete([{ role: 'user', content: 'hello?' }]).then(() => undefined, (e: unknown) => e);
    await until(() => server.requests.length === 1, 'the request to reach the server');
    await cortex.stop({ drainMs: 0 });
    expect(await pending).toMatchObject({ code: 'shutdown', stage: 'ended', partialText: '' });
    await until(() => server.openConnections() === 0, 'the connection to close');
  });

  it('refuses new requests while draining', async () => {
    const { cortex } = await setup({ chunks: ['x'], delayMs: 50 });
    const running = cortex.dispatcher.complete([{ role: 'user', content: 'one' }]);
    await new Promise((r) => setTimeout(r, 10));
    const stopping = cortex.stop({ drainMs: 5_000 });
    await expect(cortex.dispatcher.complete([{ role: 'user', content: 'two' }])).rejects.toMatchObject({ code: 'shutdown', stage: 'refused' });
    await expect(running).resolves.toMatchObject({ text: 'x' });
    await stopping;
  });
});

describe('after stop(), every method of the handle rejects with a typed error', () => {
  it.each([
    ['dispatchStream', (c: Workers) => c.dispatcher.dispatchStream([{ role: 'user', content: 'x' }]).next()],
    ['complete', (c: Workers) => c.dispatcher.complete([{ role: 'user', content: 'x' }])],
    ['status', (c: Workers) => c.dispatcher.status()],
    ['checkHealth', (c: Workers) => c.dispatcher.checkHealth()],
    ['addWorker', (c: Workers) => c.addWorker(new OllamaWorker({ name: 'late' }))],
    ['addWorker (config entry)', (c: Workers) => c.addWorker('late', { kind: 'ollama' })],
    ['removeWorker', (c: Workers) => c.removeWorker('local')],
    ['reload', (c: Workers) => c.reload({ workers: [], entries: new Map(), pool: {} } as never)],
    ['reloadFile', (c: Workers) => c.reloadFile('/nonexistent.json')],
  ] as const)('%s', async (_name, use) => {
    const { cortex } = await setup({});
    await cortex.stop();
    await expect(use(cortex)).rejects.toMatchObject({ code: 'shutdown', stage: 'refused' });
    await expect(cortex.stop()).resolves.toBeUndefined(); // stop again: the same, settled promise
  });

  it('a bad drain time is refused, and the handle keeps working', async () => {
    const { cortex } = await setup({});
    await expect(cortex.stop({ drainMs: -1 })).rejects.toMatchObject({ code: 'invalid_argument', field: 'drainMs' });
    await expect(cortex.dispatcher.complete([{ role: 'user', content: 'x' }])).resolves.toMatchObject({ text: 'Hello from fake Ollama' });
  });
});

describe('what keeps Node alive', () => {
  it('a script that forgets stop() still exits: periodic health checks and circuit timers do not hold it', async () => {
    const script = `
      import { startWorkers } from './src/index.ts';
      import { MockWorker } from './src/testing.ts';
      const cortex = await startWorkers({
        workers: [new MockWorker({ name: 'a', failOnStart: 3 }), new MockWorker({ name: 'b' })],
        healthIntervalMs: 30_000, failureThreshold: 1, circuitResetMs: 60_000,
      });
      const answer = await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]);
      const status = await cortex.dispatcher.status();
      console.log(answer.workers.join(','), status.workers.find((w) => w.name === 'a').circuit);
    `;
    const started = Date.now();
    const out = await runScript(script);
    expect(out).toEqual({ code: 0, stdout: 'b open\n' });
    expect(Date.now() - started).toBeLessThan(15_000); // not the 30 s health period, nor the 60 s reset
  }, 20_000);
});
