/**
 * Routing by tags: workers carry tags (and their name and model route to them too); a request
 * asks for one (`route`, a router, or a `model` that is a tag), and only those workers answer.
 */
import { describe, expect, it } from 'vitest';
import { isInvalidArgumentError, isNoWorkersAvailableError, isValidationError, parseConfig, rulesRouter, startWorkers, type Workers } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

const ask = (cortex: Workers, content: string, options = {}) => cortex.dispatcher.complete([{ role: 'user', content }], options);

function pool(): { workers: MockWorker[]; code: MockWorker; fast: MockWorker; general: MockWorker } {
  const general = new MockWorker({ name: 'general', priority: 1, chunks: ['general'] });
  const code = new MockWorker({ name: 'coder', priority: 5, chunks: ['code'], tags: ['code'], models: ['qwen-coder'] });
  const fast = new MockWorker({ name: 'small', priority: 9, chunks: ['fast'], tags: ['fast', 'cheap'], models: ['llama3.2:1b'] });
  return { workers: [general, code, fast], code, fast, general };
}

describe('routing by tags', () => {
  it('a request with a route goes only to the workers carrying it, whatever their priority', async () => {
    const { workers } = pool();
    const cortex = await startWorkers({ workers, healthIntervalMs: 0 });
    expect((await ask(cortex, 'x', { route: 'code' })).workers).toEqual(['coder']);
    expect((await ask(cortex, 'x', { route: 'cheap' })).workers).toEqual(['small']);
    expect((await ask(cortex, 'x', { route: 'small' })).workers).toEqual(['small']); // a worker's name routes too
    expect((await ask(cortex, 'x')).workers).toEqual(['general']); // no route: the strategy decides among all
    const e = await ask(cortex, 'x', { route: 'vision' }).catch((x: unknown) => x);
    expect(isNoWorkersAvailableError(e)).toBe(true);
    expect(String(e)).toContain('no worker carries the tag or name "vision"');
    await cortex.stop();
  });

  it('a model that is a tag routes, and the worker answers with its own model; any other model is passed on', async () => {
    const { workers, fast, general } = pool();
    const cortex = await startWorkers({ workers, healthIntervalMs: 0 });
    expect((await ask(cortex, 'x', { model: 'fast' })).workers).toEqual(['small']);
    expect(fast.calls.at(-1)!.model).toBeUndefined(); // an alias: its own model
    expect((await ask(cortex, 'x', { model: 'qwen-coder' })).workers).toEqual(['coder']); // a worker's model routes too, and is asked for
    await ask(cortex, 'x', { model: 'gpt-4o' });
    expect(general.calls.at(-1)!.model).toBe('gpt-4o'); // not a route: passed on as before
    await cortex.stop();
  });

  it('a router decides when the request names no route; the config file\'s rules make one', async () => {
    const route = rulesRouter([
      { tag: 'code', pattern: '```|\\bfunction\\b' },
      { tag: 'fast', maxChars: 20 },
    ]);
    expect(route([{ role: 'user', content: 'write a function that adds' }])).toBe('code');
    expect(route([{ role: 'user', content: 'hi' }])).toBe('fast');
    expect(route([{ role: 'user', content: 'tell me a long story about actors' }])).toBeUndefined();
    const { workers } = pool();
    const cortex = await startWorkers({ workers, healthIntervalMs: 0, route });
    expect((await ask(cortex, 'explain this function please')).workers).toEqual(['coder']);
    expect((await ask(cortex, 'hi')).workers).toEqual(['small']);
    expect((await ask(cortex, 'hi', { route: 'code' })).workers).toEqual(['coder']); // an explicit route wins
    await cortex.stop();

    const config = parseConfig({ workers: [{ kind: 'demo', name: 'd1' }], routes: [{ tag: 'translate', keywords: ['translate', 'in french'] }] });
    expect(config.routes).toEqual([{ tag: 'translate', keywords: ['translate', 'in french'] }]);
    const fromFile = await startWorkers({ config, workers: [new MockWorker({ name: 'translator', tags: ['translate'], chunks: ['bonjour'] })], healthIntervalMs: 0 });
    expect((await ask(fromFile, 'Translate hello in French')).workers).toEqual(['translator']);
    await fromFile.stop();
  });

  it('a bad rule names the rule and the field', () => {
    let e: unknown;
    try {
      rulesRouter([{ tag: 'ok' }, { tag: 'code', pattern: '([' }]);
    } catch (x) {
      e = x;
    }
    expect(isInvalidArgumentError(e) && (e as { field: string }).field).toBe('routes[1].pattern');
    const v = (() => {
      try {
        return parseConfig({ workers: [{ kind: 'demo' }], routes: [{ tag: 'x', pattern: '([' }] });
      } catch (x) {
        return x;
      }
    })();
    expect(isValidationError(v) && String((v as Error).message)).toContain('routes[0].pattern');
  });
});
