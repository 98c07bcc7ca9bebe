/**
 * The response cache (opt-in): a complete answer is replayed for the same request, marked
 * `cached`, without asking a worker; errors, truncated and continued answers are never kept.
 */
import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError, startWorkers, type StreamChunk, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const hi = [{ role: 'user' as const, content: 'What is OTP?' }];

async function chunks(cortex: Workers, options: Parameters<Workers['dispatcher']['dispatchStream']>[1] = {}, messages = hi): Promise<StreamChunk[]> {
  const out: StreamChunk[] = [];
  for await (const c of cortex.dispatcher.dispatchStream(messages, options)) out.push(c);
  return out;
}

describe('response cache', () => {
  it('replays a complete answer for the same request, marked cached, without asking a worker', async () => {
    const w = new MockWorker({ name: 'w', chunks: ['Open', ' Telecom', ' Platform'], usage: { promptTokens: 5, completionTokens: 3 } });
    const cortex = await startWorkers({ workers: [w], healthIntervalMs: 0, cache: { maxEntries: 10 } });
    const first = await chunks(cortex);
    const again = await chunks(cortex);
    expect(w.calls).toHaveLength(1);
    expect(again.map((c) => c.text).join('')).toBe('Open Telecom Platform');
    expect(again.every((c) => c.cached === true && c.worker === 'w')).toBe(true);
    expect(again.at(-1)).toMatchObject({ done: true, usage: { promptTokens: 5, completionTokens: 3 } });
    expect(first.some((c) => c.cached)).toBe(false);
    // Another question, another model, a bypass, or a sampled request: the worker is asked.
    await chunks(cortex, {}, [{ role: 'user', content: 'And Elixir?' }]);
    await chunks(cortex, { model: 'other' });
    await chunks(cortex, { cache: false });
    await chunks(cortex, { backendOptions: { temperature: 0.7 } });
    await chunks(cortex, { backendOptions: { temperature: 0.7 } });
    expect(w.calls).toHaveLength(6);
    await cortex.stop();
  });

  it('never keeps an error, a truncated or a continued answer', async () => {
    const broken = new MockWorker({ name: 'broken', priority: 1, chunks: ['half', ' of it'], failAfter: 1 });
    const good = new MockWorker({ name: 'good', priority: 2, chunks: ['whole'] });
    const cortex = await startWorkers({ workers: [broken, good], healthIntervalMs: 0, cache: {}, continuation: { maxSwitches: 1 }, failureThreshold: 100 });
    const continued = await chunks(cortex);
    expect([...new Set(continued.map((c) => c.worker))]).toEqual(['broken', 'good']);
    await chunks(cortex);
    expect(good.calls).toHaveLength(2); // the continued answer was not kept
    const lone = await startWorkers({ workers: [new MockWorker({ name: 'x', failOnStart: true })], healthIntervalMs: 0, cache: {} });
    await expect(chunks(lone)).rejects.toThrow();
    await expect(chunks(lone)).rejects.toThrow(); // a failure is not an answer to replay
    await cortex.stop();
    await lone.stop();
  });

  it('stops a replay when the caller aborts, as a live stream does', async () => {
    const cortex = await startWorkers({ workers: [new MockWorker({ chunks: ['a', 'b', 'c'] })], healthIntervalMs: 0, cache: {} });
    await chunks(cortex);
    const ctl = new AbortController();
    const got: string[] = [];
    const read = async (): Promise<void> => {
      for await (const c of cortex.dispatcher.dispatchStream(hi, { signal: ctl.signal })) {
        got.push(c.text);
        ctl.abort();
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'stream_aborted', partialText: 'a' });
    await cortex.stop();
  });

  it('refuses bad cache options before anything starts', async () => {
    for (const cache of [{ maxEntries: 0 }, { ttlMs: -1 }, { sampled: 'yes' }]) {
      await expect(startWorkers({ workers: [new MockWorker()], cache: cache as never })).rejects.toSatisfy(isInvalidArgumentError);
    }
  });
});
