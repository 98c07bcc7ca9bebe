/**
 * The gateway's keys for a team: each key named by an id (never shown itself), given as the key
 * or its SHA-256, with the routes it may use (403 naming them otherwise) and its own limits (429
 * with `retry-after`), held in the pool's shared store when there is one, so that every gateway
 * instance counts the same.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryStore, isInvalidArgumentError } from '../../src/index.js';
import { createGateway, serveGateway } from '../../src/gateway.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';
import { serveCli } from '../support/serve-cli.js';

const { ollama, start } = useServers();
const sha256 = (k: string): string => createHash('sha256').update(k).digest('hex');
const ask = (url: string, key: string, model = 'any', api: 'openai' | 'ollama' = 'openai'): Promise<Response> =>
  fetch(api === 'openai' ? `${url}/v1/chat/completions` : `${url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('keys with scopes and limits', () => {
  it('a key may use only its routes: 403 in each API\'s shape naming them; a key given by its SHA-256 works', async () => {
    const { cortex } = await start([new MockWorker({ name: 'coder', tags: ['code'] }), new MockWorker({ name: 'writer', tags: ['prose'] })]);
    const g = await serveGateway(cortex, { keys: [{ id: 'team-code', sha256: sha256('code-team-secret'), routes: ['code'] }, { id: 'admin', key: 'admin-secret-key' }] });
    try {
      expect((await ask(g.url, 'code-team-secret', 'code')).status).toBe(200);
      const denied = await ask(g.url, 'code-team-secret', 'prose');
      expect(denied.status).toBe(403);
      expect(await denied.json()).toEqual({ error: { message: 'key team-code may use only: code, not "prose"', type: 'permission_error', param: 'model', code: 'route_not_allowed' } });
      const anyModel = await ask(g.url, 'code-team-secret', 'gpt-4o', 'ollama');
      expect([anyModel.status, await anyModel.json()]).toEqual([403, { error: 'key team-code may use only: code (name one as the model)' }]);
      expect((await ask(g.url, 'admin-secret-key', 'prose')).status).toBe(200); // no routes: any
      const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'code-team-secret', maxRetries: 0 });
      await expect(client.chat.completions.create({ model: 'prose', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    } finally {
      await g.close(0);
    }
  });

  it("a key's own limits: 429 with retry-after when it is at them; another key is not held back", async () => {
    const slow = new MockWorker({ name: 'w', chunks: ['a', 'b'], delayMs: 50 });
    const { cortex } = await start([slow]);
    const g = await serveGateway(cortex, { keys: [{ id: 'small', key: 'small-team-key', maxConcurrent: 1, rpm: 3 }, { id: 'big', key: 'big-team-key' }] });
    try {
      const [first, second] = await Promise.all([ask(g.url, 'small-team-key'), ask(g.url, 'small-team-key')]);
      expect([first.status, second.status].sort()).toEqual([200, 429]);
      const refused = first.status === 429 ? first : second;
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { message: string; code: string } }).error).toMatchObject({ code: 'key_rate_limited', message: 'key small is at its limits (maxConcurrent 1, rpm 3); retry later' });
      expect((await ask(g.url, 'big-team-key')).status).toBe(200); // its own key, its own limits
      expect((await ask(g.url, 'small-team-key')).status).toBe(200); // 2 of 3 a minute
      expect((await ask(g.url, 'small-team-key')).status).toBe(200); // 3 of 3: the refused one did not count
      const fourth = await ask(g.url, 'small-team-key');
      expect(fourth.status).toBe(429);
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(50); // until the window frees room
    } finally {
      await g.close(0);
    }
  });

  it("keyUsage(): each key's requests, tokens and cost since its period started, and its budget used (what the dashboard shows)", async () => {
    const w = new MockWorker({ name: 'w', usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 1, outputPerMTok: 2 } });
    const { cortex } = await start([w]);
    const g = await serveGateway(cortex, { keys: [{ id: 'team-a', key: 'team-a-secret-key', budget: { tokens: 1000, per: 'day' } }, { id: 'team-b', key: 'team-b-secret-key' }, { id: 'idle', key: 'idle-secret-key', budget: { tokens: 5, per: 'month' } }] });
    try {
      for (let i = 0; i < 2; i++) expect((await ask(g.url, 'team-a-secret-key')).status).toBe(200);
      expect((await ask(g.url, 'team-b-secret-key')).status).toBe(200);
      const now = new Date();
      const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
      await expect.poll(async () => (await g.keyUsage())[0]!.budget?.used).toBe(300); // the spend is counted after the answer
      expect(await g.keyUsage()).toEqual([
        { id: 'team-a', since: day, requests: 2, inputTokens: 200, outputTokens: 100, costUsd: (200 * 1 + 100 * 2) / 1e6, budget: { tokens: 1000, per: 'day', used: 300, since: day, renewsAt: day + 86_400_000 } },
        { id: 'team-b', since: day, requests: 1, inputTokens: 100, outputTokens: 50, costUsd: (100 * 1 + 50 * 2) / 1e6 },
        { id: 'idle', since: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), requests: 0, inputTokens: 0, outputTokens: 0, budget: { tokens: 5, per: 'month', used: 0, since: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), renewsAt: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) } },
      ]);
      expect(JSON.stringify(await g.keyUsage())).not.toContain('secret'); // ids only, never a key
    } finally {
      await g.close();
    }
  });

  it('a budget of tokens per day: once used, 429 budget_exceeded with retry-after until it renews; other keys go on', async () => {
    const w = new MockWorker({ name: 'w', usage: { promptTokens: 100, completionTokens: 50 } });
    const { cortex } = await start([w]);
    const g = await serveGateway(cortex, { keys: [{ id: 'small', key: 'small-budget-key', budget: { tokens: 300, per: 'day' } }, { id: 'other', key: 'other-team-key', budget: { tokens: 300, per: 'month' } }] });
    try {
      expect((await ask(g.url, 'small-budget-key')).status).toBe(200); // 150 used
      expect((await ask(g.url, 'small-budget-key')).status).toBe(200); // 300 used
      await new Promise((r) => setTimeout(r, 20)); // the spending is counted after the answer
      const over = await ask(g.url, 'small-budget-key');
      expect(over.status).toBe(429);
      const { error } = (await over.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('budget_exceeded');
      expect(error.message).toMatch(/^key small has used its budget of 300 tokens this day \(300 tokens used\); it renews at \d{4}-\d\d-\d\dT00:00:00\.000Z$/);
      const renews = Number(over.headers.get('retry-after'));
      expect(renews).toBeGreaterThan(0);
      expect(renews).toBeLessThanOrEqual(86_400);
      expect(w.calls).toHaveLength(2); // the refused one reached no worker
      expect((await ask(g.url, 'other-team-key')).status).toBe(200);
      expect(() => createGateway(cortex, { keys: [{ id: 'x', key: 'long-enough-key', budget: { tokens: 0, per: 'day' } }] })).toThrow(/options.keys\[0\] \(x\).budget/);
    } finally {
      await g.close(0);
    }
  });

  it('a budget in money: each answer counted at its worker\'s price until the dollars are used; an answer of unknown cost is not counted', async () => {
    const priced = new MockWorker({ name: 'priced', tags: ['priced'], usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 1, outputPerMTok: 2 } }); // $0.0002 an answer
    const free = new MockWorker({ name: 'free', tags: ['free'], usage: { promptTokens: 100, completionTokens: 50 } }); // no price: cost unknown
    const { cortex } = await start([priced, free]);
    const g = await serveGateway(cortex, { keys: [{ id: 'm', key: 'money-budget-key', budget: { usd: 0.0005, per: 'day' } }] });
    try {
      expect((await ask(g.url, 'money-budget-key', 'free')).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        expect((await ask(g.url, 'money-budget-key', 'priced')).status).toBe(200); // $0.0002, 0.0004, 0.0006
        await new Promise((r) => setTimeout(r, 20)); // the spending is counted after the answer
      }
      const [usage] = await g.keyUsage();
      expect(usage!.budget).toMatchObject({ usd: 0.0005, per: 'day', used: 0.0006 }); // the free answer counted nothing
      const over = await ask(g.url, 'money-budget-key', 'priced');
      expect(over.status).toBe(429);
      const { error } = (await over.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('budget_exceeded');
      expect(error.message).toMatch(/^key m has used its budget of \$0\.0005 this day \(\$0\.0006 used\); it renews at /);
      expect(priced.calls).toHaveLength(3);
      for (const budget of [{ usd: 0, per: 'day' }, { usd: 1, tokens: 5, per: 'day' }, { usd: 1, per: 'week' }, { usd: Infinity, per: 'day' }]) {
        expect(() => createGateway(cortex, { keys: [{ id: 'x', key: 'long-enough-key', budget: budget as never }] })).toThrow(/options.keys\[0\] \(x\).budget/);
      }
    } finally {
      await g.close(0);
    }
  });

  it("two gateway instances over one shared store hold a key's limit together", async () => {
    const store = new MemoryStore();
    const a = await start([new MockWorker({ name: 'w', chunks: ['x'], delayMs: 80 })], { store });
    const b = await start([new MockWorker({ name: 'w', chunks: ['x'], delayMs: 80 })], { store: store.peer() });
    const keys = [{ id: 'shared-key', key: 'one-key-two-gateways', maxConcurrent: 1 }];
    const ga = await serveGateway(a.cortex, { keys });
    const gb = await serveGateway(b.cortex, { keys });
    try {
      const [x, y] = await Promise.all([ask(ga.url, 'one-key-two-gateways'), ask(gb.url, 'one-key-two-gateways')]);
      expect([x.status, y.status].sort()).toEqual([200, 429]);
    } finally {
      await ga.close(0);
      await gb.close(0);
      await store.close();
    }
  });

  it('refuses bad keys by id or position, never showing a key', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const refusal = (keys: unknown): unknown => {
      try {
        createGateway(cortex, { keys: keys as never });
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const short = refusal([{ id: 'x', key: 'short' }]);
    expect(isInvalidArgumentError(short) && short.field).toBe('options.keys[0] (x).key');
    expect(String((short as Error).message)).not.toContain('short"');
    expect((refusal([{ id: 'x', key: 'long-enough-1' }, { id: 'x', key: 'long-enough-2' }]) as { field: string }).field).toBe('options.keys[1] (x).id');
    expect((refusal([{ id: 'h', sha256: 'abc' }]) as { field: string }).field).toBe('options.keys[0] (h).sha256');
    expect((refusal(['long-enough-plain', 'tiny']) as { field: string }).field).toBe('options.keys[1].key');
  });

  it('cortex-otp serve takes keys from the config file: keyEnv read from the environment, or a sha256; an unset variable is refused by its name', async () => {
    const config = { workers: [{ kind: 'demo', name: 'general' }, { kind: 'demo', name: 'other' }], gateway: { keys: [{ id: 'app', keyEnv: 'APP_GATEWAY_KEY', routes: ['general'] }, { id: 'ops', sha256: sha256('ops-team-secret') }] } };
    const unset = serveCli(config);
    let stderr = '';
    unset.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await new Promise((r) => unset.child.once('exit', r))).toBe(2);
    unset.dispose();
    expect(stderr).toContain('APP_GATEWAY_KEY');
    const served = serveCli(config, { APP_GATEWAY_KEY: 'app-key-from-env' });
    try {
      const url = await served.url;
      expect((await ask(url, 'app-key-from-env', 'general')).status).toBe(200);
      expect((await ask(url, 'app-key-from-env', 'other')).status).toBe(403);
      expect((await ask(url, 'ops-team-secret', 'anything')).status).toBe(200);
      expect((await ask(url, 'wrong-key-here')).status).toBe(401);
    } finally {
      served.dispose();
    }
  }, 20_000);

  it('SIGHUP reloads the keys from the config file; a stream in flight goes on', async () => {
    const backend = await ollama({ script: { chunks: Array.from({ length: 8 }, (_, i) => `${i}`), delayMs: 50 } });
    const config = (id: string, sha: string) => ({ workers: [{ kind: 'ollama', name: 'local', baseUrl: backend.url }], gateway: { keys: [{ id, sha256: sha }] } });
    const served = serveCli(config('old', sha256('old-key-for-reload')));
    try {
      const url = await served.url;
      const streaming = fetch(`${url}/api/chat`, { method: 'POST', headers: { authorization: 'Bearer old-key-for-reload' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
      const res = await streaming;
      writeFileSync(served.config, JSON.stringify(config('new', sha256('new-key-for-reload'))));
      served.child.kill('SIGHUP');
      await expect.poll(async () => (await ask(url, 'new-key-for-reload', 'local', 'ollama')).status, { timeout: 10_000 }).toBe(200);
      expect((await ask(url, 'old-key-for-reload', 'local', 'ollama')).status).toBe(401);
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { message?: { content: string }; done: boolean });
      expect(lines.map((l) => l.message?.content ?? '').join('')).toBe('01234567'); // not dropped by the reload
      expect(lines.at(-1)!.done).toBe(true);
    } finally {
      served.dispose();
    }
  }, 30_000);
});


describe("a key's limits in the shared store", () => {
  it('a request refused for its key (a 429 at once, nobody waits) does not make freed slots news for every instance', async () => {
    const { KeyLimits, keyEntries } = await import('../../src/gateway/keys.js');
    const store = new MemoryStore();
    const heard: string[] = [];
    store.peer().subscribe((e) => e.type === 'freed' && heard.push(e.worker));
    const limits = new KeyLimits(store);
    const [key] = keyEntries([{ id: 'team', key: 'team-secret-key', maxConcurrent: 1 }]);
    const give = await limits.admit(key!, 1);
    await expect(limits.admit(key!, 1)).rejects.toMatchObject({ status: 429 });
    give(undefined);
    // A pool's queued request refused as full, then a slot freed: that is news.
    const w = [{ name: 'w', limits: { maxConcurrent: 1, rpm: Infinity, tpm: Infinity } }];
    const held = await store.admit({ candidates: w, tokens: 1 });
    expect((await store.admit({ candidates: w, tokens: 1 })).kind).toBe('full');
    if (held.kind === 'admitted') await store.release(held.lease, { kind: 'success' }, { failureThreshold: 5, resetMs: 1000 });
    expect(heard).toEqual(['w']); // and not the key's slot before it
  });
});
