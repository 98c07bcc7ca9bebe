import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, isValidationError, loadConfig, parseConfig, startWorkers, type Workers } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cortex-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

let running: Workers | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('config files', () => {
  it('the default is one ollama-local worker with the seed settings', () => {
    const c = parseConfig(DEFAULT_CONFIG);
    expect(c.workers.map((w) => w.info())).toEqual([
      { name: 'ollama-local', kind: 'ollama', models: ['gemma3:4b'], endpoint: 'http://localhost:11434', capabilities: { tools: true, images: true, jsonSchema: true } },
    ]);
  });

  it('loads workers of every kind and pool options', async () => {
    const c = await loadConfig(
      file('ok.json', {
        workers: [
          { kind: 'ollama', name: 'local', model: 'llama3.2', priority: 5 },
          { kind: 'openai', preset: 'groq', model: 'llama-3.1-8b-instant', apiKeyEnv: 'GROQ_API_KEY' },
          { kind: 'demo' },
        ],
        pool: { strategy: 'round_robin', firstChunkTimeoutMs: 5000 },
      }),
    );
    expect(c.workers.map((w) => [w.info().name, w.info().kind, w.priority()])).toEqual([
      ['local', 'ollama', 5],
      ['groq', 'openai', 60],
      ['demo', 'demo', 1000],
    ]);
    expect(c.pool).toEqual({ strategy: 'round_robin', firstChunkTimeoutMs: 5000 });
  });

  it('reports one line per problem with the file, the field path and what was expected', async () => {
    const path = file('bad.json', {
      workers: [
        { kind: 'ollama', baseUrl: 'localhost:11434', priority: 'high' },
        { kind: 'openai', model: 'x', apiKey: 'sk-secret' },
        { kind: 'carrier-pigeon' },
      ],
      pool: { deadlineMs: -1 },
    });
    const err = await loadConfig(path).catch((e: unknown) => e);
    expect(isValidationError(err)).toBe(true);
    const lines = (err as Error).message.split('\n').slice(1);
    expect(lines.every((l) => l.startsWith(`  - ${path}: config.`))).toBe(true);
    const paths = (err as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['config.workers[0].baseUrl', 'config.workers[0].priority', 'config.workers[1]', 'config.workers[2].kind', 'config.pool.deadlineMs']),
    );
    expect((err as Error).message).not.toContain('sk-secret');
  });

  it('refuses duplicate worker names', () => {
    expect(() => parseConfig({ workers: [{ kind: 'demo' }, { kind: 'demo' }] })).toThrow('config.workers[1].name: duplicate worker name "demo"');
  });

  it('names the file when it is missing or not JSON', async () => {
    await expect(loadConfig(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: file: cannot read/);
    await expect(loadConfig(file('broken.json', '{ workers: '))).rejects.toThrow(/broken\.json: file: not valid JSON/);
  });

  it('reload adds and removes workers without a restart', async () => {
    running = await startWorkers({ config: parseConfig({ workers: [{ kind: 'demo', name: 'a' }, { kind: 'demo', name: 'b' }] }), healthIntervalMs: 0 });
    const supervisorBefore = running.supervisor;
    const r = await running.reload(parseConfig({ workers: [{ kind: 'demo', name: 'b' }, { kind: 'demo', name: 'c', priority: 5 }] }));
    expect(r).toEqual({ added: ['c'], removed: ['a'] });
    expect(running.workerNames().sort()).toEqual(['b', 'c']);
    expect((await running.dispatcher.status()).workers.map((w) => w.name).sort()).toEqual(['b', 'c']);
    expect(running.supervisor).toBe(supervisorBefore);
    expect(supervisorBefore.exited).toBe(false);
    const changed = await running.reload(parseConfig({ workers: [{ kind: 'demo', name: 'b' }, { kind: 'demo', name: 'c', priority: 7 }] }));
    expect(changed).toEqual({ added: ['c'], removed: ['c'] });
  });
});

describe("the gateway's keys in a config file", () => {
  const keys = (budget: unknown): unknown => ({ workers: [{ kind: 'demo' }], gateway: { keys: [{ id: 'app', keyEnv: 'APP_KEY', budget }] } });
  it('take a budget in tokens or in dollars, per day or month', () => {
    expect(parseConfig(keys({ tokens: 1000, per: 'day' }), 'c.json').gateway?.keys?.[0]?.budget).toEqual({ tokens: 1000, per: 'day' });
    expect(parseConfig(keys({ usd: 2.5, per: 'month' }), 'c.json').gateway?.keys?.[0]?.budget).toEqual({ usd: 2.5, per: 'month' });
  });
  it.each([[{ tokens: 10, usd: 1, per: 'day' }], [{ usd: -1, per: 'day' }], [{ usd: 1, per: 'year' }], [{ per: 'day' }]])('refuse the budget %j, naming it', (budget) => {
    let e: unknown;
    try {
      parseConfig(keys(budget), 'c.json');
    } catch (x) {
      e = x;
    }
    expect(isValidationError(e)).toBe(true);
    expect(JSON.stringify((e as { issues: unknown }).issues)).toContain('gateway.keys[0].budget');
  });
});

describe('workers from config entries at run time', () => {
  it('addWorker(name, config) builds the worker from a config entry; bad entries name the field', async () => {
    running = await startWorkers({ workers: [], healthIntervalMs: 0 });
    await running.addWorker('spare', { kind: 'demo', priority: 5 });
    expect((await running.dispatcher.status()).workers.map((w) => [w.name, w.kind, w.priority])).toEqual([['spare', 'demo', 5]]);
    await expect(running.addWorker('broken', { kind: 'ollama', baseUrl: 'nope' })).rejects.toThrow(/worker "broken": config\.workers\[0\]\.baseUrl/);
    await expect(running.addWorker('spare', { kind: 'demo' })).rejects.toThrow('worker name "spare" is already registered');
    expect(running.workerNames()).toEqual(['spare']);
  });

  it('reloadFile reads the file again and applies it', async () => {
    const path = file('live.json', { workers: [{ kind: 'demo', name: 'a' }] });
    running = await startWorkers({ config: await loadConfig(path), healthIntervalMs: 0 });
    writeFileSync(path, JSON.stringify({ workers: [{ kind: 'demo', name: 'b' }] }));
    expect(await running.reloadFile(path)).toEqual({ added: ['b'], removed: ['a'] });
    writeFileSync(path, '{ oops');
    await expect(running.reloadFile(path)).rejects.toThrow(/live\.json: file: not valid JSON/);
    expect(running.workerNames()).toEqual(['b']);
  });
});

describe('the config example of the pools guide', () => {
  it('is a valid config file', async () => {
    const { readFileSync } = await import('node:fs');
    const md = readFileSync('docs/guides/pools-and-failover.md', 'utf8');
    const block = /## Config files[\s\S]*?```json\n([\s\S]*?)```/.exec(md)![1]!;
    const { parseConfig: parse } = await import('../../src/index.js');
    const loaded = parse(JSON.parse(block), 'pools-and-failover.md');
    expect(loaded.workers.map((w) => w.info().name)).toEqual(['ollama-local', 'coder', 'groq', 'anthropic', 'demo']);
    expect(loaded.workers[1]!.info().tags).toEqual(['code']);
    expect(loaded.routes?.map((r) => r.tag)).toEqual(['code', 'fast']);
    expect(loaded.store).toEqual({ kind: 'redis', prefix: 'my-app' });
  });
});
