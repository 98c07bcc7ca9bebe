import { afterEach, describe, expect, it } from 'vitest';
import {
  call,
  createSystem,
  isAlreadyRegisteredError,
  isInvalidArgumentError,
  isValidationError,
  listAll,
  OllamaWorker,
  OpenAIWorker,
  parseConfig,
  register,
  startRegistry,
  startSupervisor,
  startWorkers,
  type ChatMessage,
  type Workers,
} from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

let running: Workers | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Runs `f`, expecting a typed error; returns it. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('bad input: a typed error naming the field, and nothing changed', () => {
  it('invalid messages and options leave the pool untouched', async () => {
    running = await startWorkers({ workers: [new MockWorker({ name: 'a' })], healthIntervalMs: 0 });
    const before = await running.dispatcher.status();
    const cases: Array<[unknown, unknown, string]> = [
      [[{ role: 'user' }], {}, 'messages[0].content'],
      [[{ role: 'wizard', content: 'x' }], {}, 'messages[0].role'],
      ['hello', {}, 'messages'],
      [[{ role: 'user', content: 'x' }], { deadlineMs: -1 }, 'options.deadlineMs'],
      [[{ role: 'user', content: 'x' }], { idleTimeoutMs: 'soon' }, 'options.idleTimeoutMs'],
      [[{ role: 'user', content: 'x' }], { model: '' }, 'options.model'],
      // Options checked without zod when valid: when not, zod still names them.
      [[{ role: 'user', content: 'x' }], { route: '' }, 'options.route'],
      [[{ role: 'user', content: 'x' }], { tenant: 7 }, 'options.tenant'],
      [[{ role: 'user', content: 'x' }], { cacheScope: '' }, 'options.cacheScope'],
      [[{ role: 'user', content: 'x' }], { priority: Number.NaN }, 'options.priority'],
      [[{ role: 'user', content: 'x' }], { cache: 'yes' }, 'options.cache'],
      [[{ role: 'user', content: 'x' }], { sideEffects: 1 }, 'options.sideEffects'],
      [[{ role: 'user', content: 'x' }], { signal: {} }, 'options.signal'],
      [[{ role: 'user', content: 'x' }], { surprise: true }, 'options'],
    ];
    for (const [messages, options, field] of cases) {
      const e = thrown(() => running!.dispatcher.dispatchStream(messages as ChatMessage[], options as never));
      expect(isValidationError(e)).toBe(true);
      expect((e as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(field);
    }
    expect(await running.dispatcher.status()).toEqual(before);
  });

  it('invalid pool options are refused before anything starts', async () => {
    const system = createSystem();
    await expect(startWorkers({ system, workers: [new MockWorker()], firstChunkTimeoutMs: -5 })).rejects.toThrow(/options\.firstChunkTimeoutMs/);
    await expect(startWorkers({ system, workers: [new MockWorker()], strategy: 'quickest' as never })).rejects.toSatisfy(isInvalidArgumentError);
    // The tree's own options (a prefix like this one threw a TypeError from a template string; found by test/properties/public-input).
    for (const [bad, field] of [
      [{ prefix: { toString: [] } }, 'prefix'],
      [{ prefix: '' }, 'prefix'],
      [{ maxRestarts: -1 }, 'maxRestarts'],
      [{ maxSeconds: 0 }, 'maxSeconds'],
      [{ config: { workers: 'x' } }, 'config'],
    ] as const) {
      const e = await startWorkers({ system, workers: [new MockWorker()], ...(bad as object) }).catch((err: unknown) => err);
      expect(e).toMatchObject({ code: 'invalid_argument', field });
    }
    expect(system.size).toBe(0);
  });

  it('invalid URLs and worker options name the field', () => {
    expect((thrown(() => new OllamaWorker({ baseUrl: 'ftp://x' })) as { issues: { path: string }[] }).issues[0]!.path).toBe('OllamaWorker options.baseUrl');
    expect(isValidationError(thrown(() => new OpenAIWorker({ model: 'm', baseUrl: 'nope' })))).toBe(true);
    expect(isValidationError(thrown(() => new OllamaWorker({ priority: Number.NaN })))).toBe(true);
    expect(isValidationError(thrown(() => parseConfig({ workers: [{ kind: 'ollama', timeoutMs: -1 }] })))).toBe(true);
  });

  it('duplicate names are refused and the registry is unchanged', async () => {
    const system = createSystem();
    const registry = await startRegistry(system);
    const a = new MockWorker({ name: 'a' });
    await register(registry, 'a', a);
    const e = await register(registry, 'a', new MockWorker({ name: 'other' })).catch((x: unknown) => x);
    expect(isAlreadyRegisteredError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('already_registered');
    expect((await listAll(registry)).map((x) => [x.name, x.worker])).toEqual([['a', a]]);
    await expect(register(registry, '', a)).rejects.toThrow('invalid name: expected a non-empty string');
    await expect(register(registry, 'b', { info: () => ({}) } as never)).rejects.toThrow(/worker "b".healthCheck: expected a function/);
    expect(await listAll(registry)).toHaveLength(1);
    await system.shutdown();
  });

  it('a worker whose process dies leaves the registry (no stale entry)', async () => {
    const system = createSystem();
    const registry = await startRegistry(system);
    const proc = await system.spawn({ init: () => null }, undefined);
    await register(registry, 'a', new MockWorker({ name: 'a' }), proc);
    await import('../../src/index.js').then(({ kill }) => kill(proc));
    await call(registry, { type: 'listAll' });
    expect(await listAll(registry)).toEqual([]);
    await system.shutdown();
  });

  it('wrong supervisor options name the option', async () => {
    const system = createSystem();
    await expect(startSupervisor(system, { maxSeconds: 0 })).rejects.toThrow('invalid maxSeconds: expected a finite number > 0, received 0');
    await expect(startSupervisor(system, { children: [{ id: 'x', start: () => Promise.reject(new Error()), shutdown: -1 }] })).rejects.toThrow(
      /invalid children\[0\]\.shutdown/,
    );
  });
});
