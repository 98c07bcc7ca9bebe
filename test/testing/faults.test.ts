import { afterEach, describe, expect, it } from 'vitest';
import { DemoWorker, startWorkers, type Workers } from '../../src/index.js';
import { MockWorker, withFaults } from '../../src/testing.js';

let running: Workers | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

const hi = [{ role: 'user' as const, content: 'Hi' }];

describe('withFaults: the fault-injection kit for your own workers', () => {
  it('fails to start the next `times` requests, then behaves', async () => {
    const flaky = withFaults(new MockWorker({ name: 'w', chunks: ['ok'] }), { failOnStart: true, times: 2 });
    running = await startWorkers({ workers: [flaky], healthIntervalMs: 0, failureThreshold: 10 });
    await expect(running.dispatcher.complete(hi)).rejects.toThrow('injected fault: failed to start');
    await expect(running.dispatcher.complete(hi)).rejects.toThrow('injected fault: failed to start');
    expect((await running.dispatcher.complete(hi)).text).toBe('ok');
    expect(flaky.injected).toBe(2);
  });

  it('cuts a stream after N chunks, and the pool fails over or reports it', async () => {
    const cut = withFaults(new MockWorker({ name: 'cut', priority: 1, chunks: ['a', 'b', 'c'] }), { failAfterChunks: 2, times: 1 });
    const backup = new MockWorker({ name: 'backup', priority: 2, chunks: ['c'] });
    running = await startWorkers({ workers: [cut, backup], healthIntervalMs: 0, continuation: { maxSwitches: 1 } });
    const r = await running.dispatcher.complete(hi);
    expect(r).toMatchObject({ text: 'abc', workers: ['cut', 'backup'] });
    expect(cut.injected).toBe(1);
    expect((await running.dispatcher.complete(hi)).workers).toEqual(['cut']); // times: 1, then healthy again
  });

  it('reports a scripted health and keeps the worker identity', async () => {
    const w = withFaults(new MockWorker({ name: 'w', priority: 7 }), { health: { status: 'unavailable', reason: 'injected' } });
    expect(await w.healthCheck(new AbortController().signal)).toEqual({ status: 'unavailable', reason: 'injected' });
    expect(w.info().name).toBe('w');
    expect(w.priority()).toBe(7);
  });
});

describe('DemoWorker', () => {
  it('says plainly that it is a demo, and echoes the question', async () => {
    const demo = new DemoWorker({ delayMs: 0 });
    const chunks = [];
    for await (const c of await demo.streamCompletion(hi, { signal: new AbortController().signal })) chunks.push(c);
    const text = chunks.map((c) => c.text).join('');
    expect(text).toContain("This is cortex's built-in demo worker, not a language model");
    expect(text).toContain('You said: "Hi"');
    expect(chunks.at(-1)).toMatchObject({ done: true, finishReason: 'stop' });
  });

  it('continues a partial answer instead of starting over', async () => {
    const demo = new DemoWorker({ delayMs: 0 });
    const full: string[] = [];
    for await (const c of await demo.streamCompletion(hi, { signal: new AbortController().signal })) full.push(c.text);
    const whole = full.join('');
    const partial = whole.slice(0, 20);
    const rest: string[] = [];
    const cont = [...hi, { role: 'assistant' as const, content: partial }, { role: 'user' as const, content: 'continue' }];
    for await (const c of await demo.streamCompletion(cont, { signal: new AbortController().signal })) rest.push(c.text);
    expect(partial + rest.join('')).toBe(whole);
  });
});
