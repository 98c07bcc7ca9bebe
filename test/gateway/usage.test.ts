/**
 * Usage and cost: prices per worker (none: the cost is unknown, never guessed), each request's
 * cost on `pool.stream_finished` and per worker in `status()`, usage and cost per key and worker in the metrics, and
 * `GET /v1/usage` on the gateway (a key reads its own; an admin key every key's). A cache hit
 * costs nothing and counts as saved cost: what its answer cost when it was asked.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from '../../src/index.js';
import { serveGateway } from '../../src/gateway.js';
import { collectMetrics } from '../../src/metrics.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';
import { useRedisServer } from '../support/redis.js';

const { start } = useServers();
const redis = useRedisServer();
const chat = (url: string, key: string, model = 'any'): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });

describe('usage and cost', () => {
  it("two gateway instances over one Redis answer GET /v1/usage for both (scope cluster); when an instance's store cannot answer, it answers for itself (scope instance)", async () => {
    const priced = (): MockWorker => new MockWorker({ name: 'priced', usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 2, outputPerMTok: 10 } });
    const store = { kind: 'redis' as const, url: redis().url, prefix: `usage${Date.now()}`, timeoutMs: 100 };
    const a = await start([priced()], { store });
    const b = await start([priced()], { store });
    const keys = [{ id: 'team-a', key: 'team-a-secret' }, { id: 'ops', key: 'ops-admin-secret', admin: true }];
    const ga = await serveGateway(a.cortex, { keys });
    const gb = await serveGateway(b.cortex, { keys });
    const usage = async (url: string): Promise<{ scope: string; data: Array<{ key: string; requests: number; input_tokens: number; cost_usd: number }> }> =>
      (await fetch(`${url}/v1/usage`, { headers: { authorization: 'Bearer ops-admin-secret' } })).json() as never;
    try {
      expect((await chat(ga.url, 'team-a-secret')).status).toBe(200);
      expect((await chat(gb.url, 'team-a-secret')).status).toBe(200);
      expect((await chat(gb.url, 'team-a-secret')).status).toBe(200);
      await expect.poll(async () => (await usage(ga.url)).data[0]?.requests).toBe(3); // what b counted too
      const both = await usage(ga.url);
      expect(both).toMatchObject({ scope: 'cluster', data: [{ key: 'team-a', worker: 'priced', requests: 3, input_tokens: 300, cost_usd: 3 * ((100 * 2 + 50 * 10) / 1e6) }] });
      expect((await ga.keyUsage())[0]).toMatchObject({ id: 'team-a', requests: 3 });
      await a.cortex.store!.close(); // a's store no longer answers (as when Redis is away), without disturbing b's connection
      const alone = await usage(ga.url);
      expect(alone).toMatchObject({ scope: 'instance', data: [{ key: 'team-a', requests: 1 }] });
    } finally {
      await ga.close(0);
      await gb.close(0);
    }
  }, 20_000);

  it("a request's cost is its usage at its worker's price; none without a price", async () => {
    const priced = new MockWorker({ name: 'priced', priority: 1, usage: { promptTokens: 1_000, completionTokens: 500 }, price: { inputPerMTok: 3, outputPerMTok: 15 } });
    const { cortex, events } = await start([priced, new MockWorker({ name: 'free', tags: ['free'], usage: { promptTokens: 10, completionTokens: 5 } })]);
    await cortex.dispatcher.complete([{ role: 'user', content: 'x' }], { tenant: 'team-a' });
    await cortex.dispatcher.complete([{ role: 'user', content: 'x' }], { route: 'free' });
    const ends = events.filter((e): e is Extract<InspectionEvent, { type: 'pool.stream_finished' }> => e.type === 'pool.stream_finished');
    expect(ends[0]).toMatchObject({ worker: 'priced', tenant: 'team-a', costUsd: (1_000 * 3 + 500 * 15) / 1e6 });
    expect(ends[1]!.costUsd).toBeUndefined();
  });

  it("status() counts each worker's tokens, and their cost when it has a price", async () => {
    const priced = new MockWorker({ name: 'priced', priority: 1, usage: { promptTokens: 1_000, completionTokens: 500 }, price: { inputPerMTok: 3, outputPerMTok: 15 } });
    const silent = new MockWorker({ name: 'silent', tags: ['silent'] }); // reports no usage
    const { cortex } = await start([priced, new MockWorker({ name: 'free', tags: ['free'], usage: { promptTokens: 10, completionTokens: 5 } }), silent]);
    for (let i = 0; i < 2; i++) await cortex.dispatcher.complete([{ role: 'user', content: `x${i}` }]);
    await cortex.dispatcher.complete([{ role: 'user', content: 'x' }], { route: 'free' });
    await cortex.dispatcher.complete([{ role: 'user', content: 'x' }], { route: 'silent' });
    const byName = Object.fromEntries((await cortex.dispatcher.status()).workers.map((w) => [w.name, w.usage]));
    expect(byName).toEqual({
      priced: { inputTokens: 2_000, outputTokens: 1_000, costUsd: (2_000 * 3 + 1_000 * 15) / 1e6 },
      free: { inputTokens: 10, outputTokens: 5 },
      silent: undefined,
    });
  });

  it('GET /v1/usage: a key reads its own, an admin key every key; the metrics count usage and cost by key', async () => {
    const w = new MockWorker({ name: 'priced', usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 2, outputPerMTok: 10 } });
    const { cortex } = await start([w]);
    const registry = new Registry();
    const metrics = collectMetrics(cortex, { registry });
    const g = await serveGateway(cortex, { keys: [{ id: 'team-a', key: 'team-a-secret' }, { id: 'team-b', key: 'team-b-secret' }, { id: 'ops', key: 'ops-admin-secret', admin: true }] });
    try {
      for (const key of ['team-a-secret', 'team-a-secret', 'team-b-secret']) expect((await chat(g.url, key)).status).toBe(200);
      const own = await (await fetch(`${g.url}/v1/usage`, { headers: { authorization: 'Bearer team-a-secret' } })).json();
      expect(own).toMatchObject({ object: 'usage', data: [{ key: 'team-a', worker: 'priced', requests: 2, input_tokens: 200, output_tokens: 100, cost_usd: (200 * 2 + 100 * 10) / 1e6 }] });
      expect((await fetch(`${g.url}/v1/usage?key=team-b`, { headers: { authorization: 'Bearer team-a-secret' } })).status).toBe(403);
      const all = (await (await fetch(`${g.url}/v1/usage`, { headers: { authorization: 'Bearer ops-admin-secret' } })).json()) as { data: Array<{ key: string; requests: number }> };
      expect(all.data.map((d) => [d.key, d.requests]).sort()).toEqual([['team-a', 2], ['team-b', 1]]);
      const later = (await (await fetch(`${g.url}/v1/usage?since=${new Date(Date.now() + 7_200_000).toISOString()}`, { headers: { authorization: 'Bearer ops-admin-secret' } })).json()) as { data: unknown[] };
      expect(later.data).toEqual([]);
      expect((await fetch(`${g.url}/v1/usage?since=yesterday`, { headers: { authorization: 'Bearer ops-admin-secret' } })).status).toBe(400);
      const text = await metrics.metrics();
      expect(text).toContain('cortex_usage_tokens_total{tenant="team-a",worker="priced",type="input"} 200');
      expect(text).toContain('cortex_cost_usd_total{tenant="team-b",worker="priced"} 0.0007');
    } finally {
      metrics.dispose();
      await g.close(0);
    }
  });

  it('a cache hit costs nothing and counts as saved: the answer\'s cost when asked, per key, in events, metrics and /v1/usage', async () => {
    const w = new MockWorker({ name: 'priced', usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 2, outputPerMTok: 10 } });
    const { cortex, events } = await start([w], { cache: {} });
    const asked = (100 * 2 + 50 * 10) / 1e6; // 100 in at $2/M, 50 out at $10/M
    const first = await cortex.dispatcher.complete([{ role: 'user', content: 'same' }], { tenant: 'team-a' });
    const again = await cortex.dispatcher.complete([{ role: 'user', content: 'same' }], { tenant: 'team-a' });
    expect(first).toMatchObject({ costUsd: asked });
    expect(first.cached).toBeUndefined();
    expect(again).toMatchObject({ text: first.text, cached: true });
    expect(again.costUsd).toBeUndefined();
    expect(w.calls).toHaveLength(1);
    expect(events.find((e) => e.type === 'pool.cache_hit')).toMatchObject({ worker: 'priced', tenant: 'team-a', savedUsd: asked });

    const registry = new Registry();
    const metrics = collectMetrics(cortex, { registry });
    const g = await serveGateway(cortex, { keys: [{ id: 'team-b', key: 'team-b-secret' }] });
    try {
      for (let i = 0; i < 3; i++) expect((await chat(g.url, 'team-b-secret', 'm')).status).toBe(200);
      const own = (await (await fetch(`${g.url}/v1/usage`, { headers: { authorization: 'Bearer team-b-secret' } })).json()) as { data: unknown[] };
      expect(own.data).toEqual([{ key: 'team-b', worker: 'priced', model: 'mock-model', requests: 1, input_tokens: 100, output_tokens: 50, cost_usd: asked, cache_hits: 2, saved_usd: 2 * asked }]);
      const text = await metrics.metrics();
      expect(text).toContain(`cortex_cache_saved_usd_total{tenant="team-b",worker="priced"} ${2 * asked}`);
      expect(text).toContain(`cortex_cost_usd_total{tenant="team-b",worker="priced"} ${asked}`);
    } finally {
      metrics.dispose();
      await g.close(0);
    }
  });
});
