/**
 * The response cache on its own: its options refused by field, what the key is made of (and
 * what makes two requests different), which streams are kept, and what a replay gives back.
 * Through real requests: test/dispatcher/cache.test.ts.
 *
 * Mutation testing (npm run mutate, src/dispatcher/cache.ts) found that a fractional `ttlMs`
 * passed validation and then made lru-cache throw a TypeError: now refused by field. Survivors
 * left as equivalent (cache.ts 95.1 %): `x ?? null` -> `x && null` for a key part (`undefined`
 * and `null` both serialise as `null` in a JSON array, so the key is the same); pushing chunks
 * after the answer is known not to be whole (it is not kept); `typeof t === 'number'` -> `true`
 * (`undefined > 0` is false as well).
 */
import { describe, expect, it } from 'vitest';
import type { ChatMessage, StreamChunk } from '../../src/index.js';
import { checkCacheOptions, ResponseCache, replay, type Entry } from '../../src/dispatcher/cache.js';

const ask: ChatMessage[] = [{ role: 'user', content: 'hi' }];

async function* stream(chunks: Array<Partial<StreamChunk>>): AsyncGenerator<StreamChunk, void, undefined> {
  for (const c of chunks) yield { worker: 'w', text: '', done: false, segment: 0, ...c };
}

async function drain(g: AsyncGenerator<StreamChunk, void, undefined>): Promise<StreamChunk[]> {
  const out: StreamChunk[] = [];
  for await (const c of g) out.push(c);
  return out;
}

describe('checkCacheOptions', () => {
  it('fills in the defaults', () => expect(checkCacheOptions({})).toEqual({ maxEntries: 1000, ttlMs: 600_000, sampled: false, singleFlight: true }));

  it.each([
    ['maxEntries 0', { maxEntries: 0 }, 'cache.maxEntries', 'a whole number > 0'],
    ['maxEntries 1.5', { maxEntries: 1.5 }, 'cache.maxEntries', 'a whole number > 0'],
    ['ttlMs 0', { ttlMs: 0 }, 'cache.ttlMs', 'a whole number of ms > 0'],
    ['ttlMs 0.5 (lru-cache would throw a TypeError on it)', { ttlMs: 0.5 }, 'cache.ttlMs', 'a whole number of ms > 0'],
    ['ttlMs Infinity', { ttlMs: Infinity }, 'cache.ttlMs', 'a whole number of ms > 0'],
    ['sampled "yes"', { sampled: 'yes' }, 'cache.sampled', 'a boolean'],
    ['singleFlight 1', { singleFlight: 1 }, 'cache.singleFlight', 'a boolean'],
    ['options that are not an object', null, 'cache', undefined],
  ])('refuses %s, naming the field', (_what, options, field, expected) => {
    expect(() => checkCacheOptions(options as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', field, ...(expected ? { expected } : {}) }));
  });

  it('takes the smallest valid values, and a cache starts with them', () => {
    expect(checkCacheOptions({ maxEntries: 1, ttlMs: 1 })).toMatchObject({ maxEntries: 1, ttlMs: 1 });
    expect(new ResponseCache({ maxEntries: 1, ttlMs: 1 }).lookup('k')).toBeUndefined();
  });
});

describe('ResponseCache.key', () => {
  const cache = new ResponseCache({});

  it('is none when the request opts out, or samples (temperature above 0) without sampled: true', () => {
    expect(cache.key(ask, { cache: false })).toBeUndefined();
    expect(cache.key(ask, { temperature: 0.7 })).toBeUndefined();
    expect(cache.key(ask, { backendOptions: { temperature: 1 } })).toBeUndefined();
    expect(cache.key(ask, { temperature: 0 })).toBeDefined(); // greedy: the same answer, so kept
    expect(cache.key(ask, { backendOptions: { temperature: 'hot' } })).toBeDefined(); // not a number: not sampling
    expect(new ResponseCache({ sampled: true }).key(ask, { temperature: 0.7 })).toBeDefined();
  });

  it('differs by scope, model, route, message fields, generation options and backend options', () => {
    const base = cache.key(ask, {});
    const variants = [
      cache.key(ask, { cacheScope: 'tenant-a' }),
      cache.key(ask, { model: 'm' }),
      cache.key(ask, { route: 'code' }),
      cache.key([{ role: 'system', content: 'hi' }], {}),
      cache.key([{ role: 'user', content: 'hi!' }], {}),
      cache.key([{ role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }] }], {}),
      cache.key([{ role: 'tool', content: 'hi', toolCallId: 'c1' }], {}),
      cache.key([{ role: 'user', content: 'hi', name: 'ann' }], {}),
      cache.key(ask, { maxTokens: 5 }),
      cache.key(ask, { backendOptions: { num_ctx: 4096 } }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    expect(cache.key(ask, {})).toBe(base); // and is the same for the same request
  });
});

describe('ResponseCache.recording', () => {
  it('keeps an answer that completed on one worker: its chunks (text, reasoning, tool-call pieces) and the final details', async () => {
    const cache = new ResponseCache({});
    const kept: Entry[] = [];
    const call = { index: 0, id: 'c1', name: 'f', arguments: '{}' };
    const out = await drain(
      cache.recording(
        'k',
        stream([{ text: 'He', reasoning: 'think' }, { text: 'llo', toolCalls: [call] }, { text: '', done: true, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 }, model: 'm', costUsd: 0.5 }]),
        (e) => kept.push(e),
      ),
    );
    expect(out).toHaveLength(3); // streamed through as it came
    const expected: Entry = {
      chunks: [{ worker: 'w', text: 'He', reasoning: 'think' }, { worker: 'w', text: 'llo', toolCalls: [call] }, { worker: 'w', text: '' }],
      last: { finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 }, model: 'm' },
      costUsd: 0.5,
    };
    expect(kept).toStrictEqual([expected]); // no key for what a chunk did not have
    expect(cache.lookup('k')).toStrictEqual(expected);
  });

  it('a final chunk without details keeps none (no cost, no finish reason, no usage)', async () => {
    const cache = new ResponseCache({});
    await drain(cache.recording('k', stream([{ text: 'a', done: true }])));
    expect(cache.lookup('k')).toStrictEqual({ chunks: [{ worker: 'w', text: 'a' }], last: {} });
  });

  it('never keeps an answer continued by another worker, or a second segment, or one that did not finish', async () => {
    const cache = new ResponseCache({});
    await drain(cache.recording('two-workers', stream([{ text: 'a' }, { worker: 'other', text: 'b', done: true }])));
    await drain(cache.recording('segment', stream([{ text: 'a', segment: 1, done: true }])));
    await drain(cache.recording('unfinished', stream([{ text: 'a' }])));
    expect(cache.lookup('two-workers')).toBeUndefined();
    expect(cache.lookup('segment')).toBeUndefined();
    expect(cache.lookup('unfinished')).toBeUndefined();
  });
});

describe('ResponseCache single flight', () => {
  it('a request in flight is found by its key until it ends; waiters get its answer, or undefined when it did not complete', async () => {
    const cache = new ResponseCache({});
    const lead = cache.leading('k', stream([{ text: 'a' }, { text: 'b', done: true }]));
    expect(cache.inFlight('k')).toBeUndefined(); // not before it starts
    await lead.next();
    const waiting = cache.inFlight('k')!;
    await drain(lead);
    expect(cache.inFlight('k')).toBeUndefined();
    expect((await waiting)!.chunks.map((c) => c.text)).toEqual(['a', 'b']);
    const broken = cache.leading('x', stream([{ text: 'a' }]));
    await broken.next();
    const none = cache.inFlight('x')!;
    await drain(broken);
    expect(await none).toBeUndefined();
  });
});

describe('replay', () => {
  const entry: Entry = { chunks: [{ worker: 'w', text: 'a' }, { worker: 'w', text: 'b' }], last: { finishReason: 'stop', model: 'm' } };

  it('gives the chunks back marked cached, the final details on the last only', async () => {
    expect(await drain(replay(entry, undefined))).toEqual([
      { worker: 'w', text: 'a', done: false, segment: 0, cached: true },
      { worker: 'w', text: 'b', done: true, segment: 0, cached: true, finishReason: 'stop', model: 'm' },
    ]);
  });

  it('stops at an abort with what it had replayed', async () => {
    const ctl = new AbortController();
    const g = replay(entry, ctl.signal);
    await g.next();
    ctl.abort();
    await expect(g.next()).rejects.toMatchObject({ code: 'stream_aborted', partialText: 'a' });
  });
});
