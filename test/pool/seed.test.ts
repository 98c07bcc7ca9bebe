import { afterEach, describe, expect, it } from 'vitest';
import { startWorkers, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

let running: Workers | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('the seed scenario', () => {
  it('skips a failing local worker and streams exactly the working one', async () => {
    const failing = new MockWorker({ name: 'failing', priority: 10, health: { status: 'unavailable', reason: 'connection refused' } });
    const working = new MockWorker({ name: 'working', priority: 20, chunks: ['Hello', ', ', 'world'] });
    running = await startWorkers({ workers: [failing, working] });

    const report = await running.dispatcher.checkHealth();
    expect(report.map((r) => [r.worker, r.health.status])).toEqual([
      ['failing', 'unavailable'],
      ['working', 'available'],
    ]);

    const chunks = [];
    for await (const c of running.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }])) chunks.push(c);
    expect(chunks.map((c) => c.text).join('')).toBe('Hello, world');
    expect(new Set(chunks.map((c) => c.worker))).toEqual(new Set(['working']));
    expect(chunks.at(-1)).toMatchObject({ done: true, finishReason: 'stop' });
    expect(failing.calls).toHaveLength(0);
  });
});
