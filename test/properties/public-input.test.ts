/**
 * Whatever an app passes to the public entry points, it gets what it asked for or a typed
 * `CortexError` with a `code` (never a `TypeError` from deep inside): a config object of any
 * shape (`parseConfig`), a conversation and dispatch options of any shape (`dispatchStream`,
 * its error surfacing as the stream is read), and the pool's options (`startWorkers`). It found
 * one (a `prefix` that was an object) in a fresh-clone CI run; `test/support/fuzz.ts` says which
 * seed a run uses.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCortexError, parseConfig, startWorkers, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';
import { fuzz } from '../support/fuzz.js';

/** A value of the field's usual type most of the time, else any JSON. */
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 30, arbitrary: a }, fc.jsonValue());
/** A right value most of the time, else a wrong one of the right type. */
const mostly = <T>(right: fc.Arbitrary<T>, wrong: fc.Arbitrary<T>): fc.Arbitrary<unknown> => maybe(fc.oneof({ weight: 20, arbitrary: right }, wrong));
/** Mostly absent, else any JSON (a field whose right shape is not drawn here). */
const rare: fc.Arbitrary<unknown> = fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, fc.jsonValue());
/** Drops the keys drawn as undefined (a config file has none). */
const defined = (o: unknown): unknown => (typeof o === 'object' && o !== null && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) : o);

const count = (max: number): fc.Arbitrary<unknown> => mostly(fc.integer({ min: 1, max }), fc.integer({ min: -1, max: 0 }));
const limits = { maxConcurrent: count(5), rpm: count(100), tpm: count(1000) };
const model = mostly(fc.string({ minLength: 1, maxLength: 8 }).filter((m) => m.trim() !== ''), fc.constantFrom('', ' '));

/** One worker of each kind, named by its place in the list (or not, or wrongly). */
const worker = (i: number): fc.Arbitrary<unknown> => {
  const name = mostly(fc.constant(`w${i}`), fc.constantFrom('', ' ', 'w0'));
  return fc
    .oneof(
      fc.record({ kind: fc.constant('ollama'), name, baseUrl: mostly(fc.constantFrom('http://127.0.0.1:1', 'http://[::1]:2'), fc.constantFrom('ftp://x', 'not a url')), model, priority: maybe(fc.integer()), timeoutMs: count(100), tags: maybe(fc.array(fc.string({ minLength: 1 }), { maxLength: 3 })), ...limits }, { requiredKeys: ['kind'] }),
      fc.record({ kind: fc.constant('openai'), name, preset: mostly(fc.constantFrom('openai', 'groq', 'vllm'), fc.constant('nope')), baseUrl: mostly(fc.constant('http://127.0.0.1:1/v1'), fc.constant('x')), model: fc.string({ minLength: 1, maxLength: 8 }).filter((m) => m.trim() !== ''), apiKeyEnv: mostly(fc.constant('OPENAI_API_KEY'), fc.constantFrom('sk-not-a-name', '')), ...limits }, { requiredKeys: ['kind', 'model'] }),
      fc.record({ kind: fc.constant('anthropic'), name, model: fc.string({ minLength: 1, maxLength: 8 }).filter((m) => m.trim() !== ''), maxTokens: count(10), ...limits }, { requiredKeys: ['kind', 'model'] }),
      fc.record({ kind: mostly(fc.constant('demo'), fc.constant('nope')), name, priority: maybe(fc.integer()) }, { requiredKeys: ['kind'] }),
    )
    .map(defined);
};

const config = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record(
        {
          workers: maybe(fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => worker(i))))),
          pool: maybe(fc.record({ strategy: mostly(fc.constantFrom('local_first', 'round_robin', 'least_loaded', 'fastest'), fc.constant('nope')), maxQueue: count(5), failureThreshold: count(5) }, { requiredKeys: [] }).map(defined)),
          store: mostly(fc.constantFrom<unknown>('memory', { kind: 'redis', url: 'redis://127.0.0.1:1' }), fc.constantFrom<unknown>('nope', 'redis://127.0.0.1:1', { kind: 'redis' })),
          routes: rare,
          gateway: rare,
        },
        { requiredKeys: ['workers'] },
      )
      .map(defined),
  },
  fc.jsonValue(),
);

const message = fc.oneof(
  { weight: 20, arbitrary: fc.record({ role: maybe(fc.constantFrom('user', 'assistant', 'system')), content: maybe(fc.string()), images: rare, toolCalls: rare, toolCallId: rare }, { requiredKeys: ['role', 'content'] }) },
  fc.jsonValue(),
);
const options = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        model: maybe(fc.string({ minLength: 1, maxLength: 8 })),
        route: maybe(fc.constantFrom('w', 'nope')),
        priority: maybe(fc.integer({ min: -2, max: 2 })),
        deadlineMs: maybe(fc.integer({ min: -1, max: 50 })),
        maxTokens: maybe(fc.integer({ min: -1, max: 10 })),
        temperature: maybe(fc.oneof({ weight: 6, arbitrary: fc.double({ min: 0, max: 2, noNaN: true }) }, fc.double())),
        tools: rare,
        toolChoice: rare,
        responseFormat: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.constantFrom({ type: 'json' }, { type: 'text' }), fc.jsonValue()),
        stop: rare,
        seed: maybe(fc.integer()),
        tenant: maybe(fc.string()),
        cache: maybe(fc.boolean()),
        signal: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.constantFrom('not a signal', new AbortController().signal, AbortSignal.abort())),
      },
      { requiredKeys: [] },
    ),
  },
  fc.jsonValue(),
);

let cortex: Workers;
beforeAll(async () => {
  cortex = await startWorkers({ workers: [new MockWorker({ name: 'w', chunks: ['a'] })], healthIntervalMs: 0 });
});
afterAll(() => cortex.stop());

/** What `f` threw, or undefined. */
async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return e;
  }
}

function typed(e: unknown): void {
  if (e === undefined) return;
  expect(isCortexError(e), `not a CortexError: ${String(e)}\n${(e as Error).stack ?? ''}`).toBe(true);
  expect(typeof (e as { code: unknown }).code).toBe('string');
}

describe('whatever an app passes', () => {
  it('parseConfig builds the config or throws a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(config, async (c) => typed(await thrown(() => parseConfig(c)))),
      fuzz(300),
    );
  });

  it('dispatchStream answers or fails with a typed error, at once or as it is read', async () => {
    await fc.assert(
      fc.asyncProperty(maybe(fc.array(message, { minLength: 1, maxLength: 3 })), options, async (messages, o) =>
        typed(
          await thrown(async () => {
            for await (const _ of cortex.dispatcher.dispatchStream(messages as never, o as never)) void _;
          }),
        ),
      ),
      fuzz(300),
    );
  });

  it('startWorkers starts or throws a typed error', async () => {
    const pool = fc
      .record(
        {
          workers: maybe(fc.array(mostly(fc.constant('mock'), fc.constant('junk')), { minLength: 1, maxLength: 2 }).map((ks) => ks.map((k, i) => (k === 'mock' ? new MockWorker({ name: `m${i}` }) : { name: `x${i}` })))),
          strategy: mostly(fc.constantFrom('local_first', 'round_robin', 'fastest'), fc.constant('nope')),
          maxQueue: count(3),
          healthIntervalMs: mostly(fc.constantFrom(0, 1000), fc.constant(-1)),
          failureThreshold: count(3),
          continuation: rare,
          hedging: rare,
          cache: rare,
          prefix: mostly(fc.constant('p'), fc.constant('')),
          maxRestarts: mostly(fc.integer({ min: 0, max: 5 }), fc.constant(-1)),
          maxSeconds: mostly(fc.integer({ min: 1, max: 10 }), fc.constantFrom(0, Infinity)),
          config: rare,
        },
        { requiredKeys: ['workers'] },
      )
      .map(defined);
    await fc.assert(
      fc.asyncProperty(pool, async (o) => {
        let started: Workers | undefined;
        typed(await thrown(async () => (started = await startWorkers(o as never))));
        await started?.stop();
      }),
      fuzz(100),
    );
  });
});
