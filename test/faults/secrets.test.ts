import { afterEach, describe, expect, it } from 'vitest';
import { formatEvent, OpenAIWorker, startWorkers, type InspectionEvent, type Workers } from '../../src/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../src/testing.js';

const KEY = 'sk-cortex-FAKE-0123456789abcdef';
let fake: FakeOpenAI | undefined;
let running: Workers | undefined;
afterEach(async () => {
  await running?.stop();
  await fake?.close();
  running = fake = undefined;
  delete process.env.CORTEX_SECRET_TEST;
});

/** Everything reachable from a value, as text: own properties, causes, nested objects. */
function dump(v: unknown, seen = new Set<unknown>()): string {
  if (v === null || typeof v !== 'object') return String(v);
  if (seen.has(v)) return '';
  seen.add(v);
  const parts: string[] = [];
  if (v instanceof Error) parts.push(v.message, v.stack ?? '', dump(v.cause, seen));
  for (const k of Reflect.ownKeys(v)) {
    try {
      parts.push(String(k), dump((v as Record<PropertyKey, unknown>)[k], seen));
    } catch {
      // getters that throw
    }
  }
  return parts.join(' ');
}

describe('secrets never leak', () => {
  it('a known fake key appears in no info(), status(), event, log line, error message or error property', async () => {
    fake = await startFakeOpenAI({ apiKey: 'the-right-key', script: { chunks: ['ok'] } });
    process.env.CORTEX_SECRET_TEST = KEY;
    const worker = new OpenAIWorker({ name: 'cloud', baseUrl: fake.url, model: 'gpt-test', apiKeyEnv: 'CORTEX_SECRET_TEST' });
    running = await startWorkers({ workers: [worker], healthIntervalMs: 0 });
    const events: InspectionEvent[] = [];
    const lines: string[] = [];
    running.system.inspect((e) => {
      events.push(e);
      lines.push(formatEvent(e));
    });

    const health = await running.dispatcher.checkHealth();
    let error: unknown;
    try {
      for await (const _ of running.dispatcher.dispatchStream([{ role: 'user', content: 'Hi' }])) void _;
    } catch (e) {
      error = e;
    }
    expect(error).toBeDefined(); // the server refused the key (and echoed it back)
    const direct = await worker.streamCompletion([{ role: 'user', content: 'Hi' }], { signal: new AbortController().signal }).catch((e) => e);
    expect(dump(direct)).toContain('Incorrect API key provided'); // the echo reached us...
    const status = await running.dispatcher.status();

    const haystack = [dump(worker.info()), dump(status), dump(health), dump(events), lines.join('\n'), dump(error), dump(direct)].join('\n');
    expect(haystack).not.toContain(KEY); // ...but never the key
    expect(haystack).toContain('[redacted]');
  });
});
