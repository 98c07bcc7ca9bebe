/**
 * The dashboard's HTTP side, without a browser: probes, the token, the feed's content, metrics,
 * and mounting under a prefix in an app's own server.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { OpenAIWorker, RedisStore, WorkerError, type InspectionEvent } from '../../src/index.js';
import { useRedisServer } from '../support/redis.js';
import { dashboardHandler, serveDashboard, type DashboardSnapshot } from '../../src/dashboard.js';
import { DashboardModel } from '../../src/dashboard/model.js';
import { MockWorker } from '../../src/testing.js';
import { useServers } from '../support/servers.js';

const { openai, start } = useServers();
const redis = useRedisServer();

/** The first snapshot of the feed at `url`. */
async function firstSnapshot(url: string, headers: Record<string, string> = {}): Promise<DashboardSnapshot> {
  const res = await fetch(url, { headers });
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\ndata: ') || !text.trimEnd().endsWith('}')) text += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  return JSON.parse(text.slice(text.indexOf('data: ') + 6).split('\n')[0]!) as DashboardSnapshot;
}

describe("the dashboard's model", () => {
  it("shows each worker's whole-answer time p50 / p95 over its complete requests (not those that broke)", async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const model = new DashboardModel(cortex.system);
    const finished = (ms: number, outcome: 'complete' | 'interrupted'): InspectionEvent => ({ type: 'pool.stream_finished', requestId: ms, worker: 'w', outcome, chars: 1, ms, chunks: 1, firstChunkMs: 5, lastChunkMs: 5 });
    try {
      for (let i = 1; i <= 10; i++) cortex.system.events.emit(() => finished(i * 100, 'complete'));
      cortex.system.events.emit(() => finished(99_999, 'interrupted'));
      const [w] = model.snapshot(await cortex.dispatcher.status(), undefined).workers;
      // Nearest rank, as the trends and the pool read percentiles: the median of ten is the fifth.
      expect(w).toMatchObject({ requests: 11, totalP50: 500, totalP95: 1000, firstChunkP50: 5 });
    } finally {
      model.dispose();
    }
  });

  it('counts failovers, continuations, hedges, cache hits and queue waits (with their p95) since it started', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const emit = (e: InspectionEvent): void => cortex.system.events.emit(() => e);
    emit({ type: 'pool.cache_hit', model: undefined, messages: 1 }); // before the dashboard: not counted
    const model = new DashboardModel(cortex.system);
    try {
      emit({ type: 'pool.failover', requestId: 1, from: 'a', deliveredChars: 0 });
      emit({ type: 'pool.failover', requestId: 2, from: 'a', deliveredChars: 0 });
      emit({ type: 'pool.failover', requestId: 3, from: 'a', deliveredChars: 12 });
      emit({ type: 'pool.hedge_started', requestId: 4, worker: 'a', hedge: 'w', afterMs: 300 });
      emit({ type: 'pool.cache_hit', model: undefined, messages: 1 });
      const dispatch = (queuedMs: number): void => emit({ type: 'pool.dispatch', requestId: 5, worker: 'w', attempt: 1, segment: 0, kind: 'mock', model: undefined, queuedMs });
      expect(model.snapshot(await cortex.dispatcher.status(), undefined).totals).toEqual({ failovers: 2, continuations: 1, hedges: 1, cacheHits: 1, queueWaits: 0 });
      dispatch(0); // a free slot: no wait
      for (let ms = 10; ms <= 200; ms += 10) dispatch(ms);
      const snap = model.snapshot(await cortex.dispatcher.status(), undefined);
      expect(snap.totals).toEqual({ failovers: 2, continuations: 1, hedges: 1, cacheHits: 1, queueWaits: 20, queueWaitP95: 190 }); // the 19th of 20, nearest rank
      expect(snap.recent.map((r) => r.text).filter((t) => t.includes('fail'))).toHaveLength(3);
    } finally {
      model.dispose();
    }
  });

  it('logs each request once it ends: key, route, workers in order, outcome, tokens, cost, first chunk, total and trace id; a cache hit as what it saved', async () => {
    const broken = new MockWorker({ name: 'broken', priority: 1, tags: ['code'], failOnStart: true });
    const priced = new MockWorker({ name: 'priced', priority: 2, tags: ['code'], chunks: ['ok'], usage: { promptTokens: 100, completionTokens: 50 }, price: { inputPerMTok: 2, outputPerMTok: 10 } });
    const { cortex } = await start([broken, priced], { cache: {} });
    let t = 1_000_000;
    const model = new DashboardModel(cortex.system, () => t, { traceIdOf: (id) => `trace-${id}` });
    try {
      t += 1;
      await cortex.dispatcher.complete([{ role: 'user', content: 'q' }], { tenant: 'team-a', route: 'code' });
      t += 1;
      await cortex.dispatcher.complete([{ role: 'user', content: 'q' }], { tenant: 'team-a', route: 'code' }); // the same: from the cache
      t += 1;
      for await (const _ of cortex.dispatcher.dispatchStream([{ role: 'user', content: 'other' }], { tenant: 'team-b', cache: false })) break; // stops reading
      const [abandoned, hit, first, ...rest] = model.snapshot(await cortex.dispatcher.status(), undefined).requests;
      expect(rest).toEqual([]);
      const cost = (100 * 2 + 50 * 10) / 1e6;
      expect(first).toMatchObject({ seq: 1, at: 1_000_001, tenant: 'team-a', route: 'code', workers: ['broken', 'priced'], outcome: 'complete', inputTokens: 100, outputTokens: 50, costUsd: cost, traceId: `trace-${first!.requestId}` });
      expect(first!.firstChunkMs).toBeGreaterThanOrEqual(0);
      expect(first!.ms).toBeGreaterThanOrEqual(first!.firstChunkMs!);
      expect(hit).toEqual({ seq: 2, at: 1_000_002, tenant: 'team-a', workers: ['priced'], outcome: 'cached', costUsd: cost, ms: 0 });
      expect(abandoned).toMatchObject({ seq: 3, tenant: 'team-b', workers: ['broken', 'priced'], outcome: 'abandoned' });
      expect(abandoned!.route).toBeUndefined();
      // Only what came after a seq: what the feed sends a client that has the rest.
      expect(model.snapshot(await cortex.dispatcher.status(), undefined, undefined, 2).requests.map((r) => r.seq)).toEqual([3]);
    } finally {
      model.dispose();
    }
  });

  it('keeps the last hour minute by minute (requests, errors, first-chunk p50 / p95), from its start, and errors by type', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    let t = Date.UTC(2026, 11, 6, 12, 0, 30); // 12:00:30
    const model = new DashboardModel(cortex.system, () => t);
    const emit = (e: InspectionEvent): void => cortex.system.events.emit(() => e);
    const finished = (outcome: 'complete' | 'no_workers' | 'abandoned' | 'aborted' | 'interrupted', firstChunkMs?: number): void =>
      emit({ type: 'pool.stream_finished', requestId: 1, worker: 'w', outcome, chars: 1, ms: 1, chunks: 1, ...(firstChunkMs !== undefined ? { firstChunkMs } : {}) });
    const snap = async (): Promise<DashboardSnapshot> => model.snapshot(await cortex.dispatcher.status(), undefined);
    try {
      for (let i = 1; i <= 20; i++) finished('complete', i * 10); // 10..200 ms
      finished('abandoned', 5); // the caller's choice: not an error
      finished('aborted');
      finished('no_workers');
      emit({ type: 'pool.attempt_failed', requestId: 1, worker: 'w', phase: 'start', reason: 'x', error: new WorkerError('w', 'http', 'HTTP 503', { status: 503 }), blame: 'worker' });
      emit({ type: 'pool.attempt_failed', requestId: 2, worker: 'w', phase: 'start', reason: 'x', error: new WorkerError('w', 'http', 'HTTP 503', { status: 503 }), blame: 'worker' });
      emit({ type: 'pool.attempt_failed', requestId: 3, worker: 'w', phase: 'first_chunk', reason: 'x', error: new WorkerError('w', 'first_chunk_timeout', 'slow'), blame: 'worker' });
      t += 120_000; // 12:02:30: one idle minute between
      finished('interrupted', 40);
      const s = await snap();
      expect(s.trend).toEqual([
        { at: Date.UTC(2026, 11, 6, 12, 0), requests: 23, errors: 1, firstChunkP50: 100, firstChunkP95: 190 },
        { at: Date.UTC(2026, 11, 6, 12, 1), requests: 0, errors: 0 },
        { at: Date.UTC(2026, 11, 6, 12, 2), requests: 1, errors: 1, firstChunkP50: 40, firstChunkP95: 40 },
      ]);
      expect(s.errorTypes).toEqual([
        { type: 'attempt: http 503', count: 2 },
        { type: 'attempt: first_chunk_timeout', count: 1 },
        { type: 'request: interrupted', count: 1 },
        { type: 'request: no_workers', count: 1 },
      ]);
      t += 59 * 60_000; // 13:01:30: 12:00 and 12:01 are past the hour
      const later = (await snap()).trend;
      expect(later).toHaveLength(60);
      expect(later[0]).toEqual({ at: Date.UTC(2026, 11, 6, 12, 2), requests: 1, errors: 1, firstChunkP50: 40, firstChunkP95: 40 });
      expect(later.slice(1).every((m) => m.requests === 0)).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('keeps the last 200 requests only', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const model = new DashboardModel(cortex.system);
    try {
      for (let i = 1; i <= 230; i++) {
        cortex.system.events.emit(() => ({ type: 'pool.request_started', requestId: i, model: undefined, messages: 1 }));
        cortex.system.events.emit(() => ({ type: 'pool.stream_finished', requestId: i, worker: 'w', outcome: 'complete', chars: 1, ms: 1, chunks: 1 }));
      }
      const log = model.snapshot(await cortex.dispatcher.status(), undefined).requests;
      expect(log).toHaveLength(200);
      expect([log[0]!.requestId, log.at(-1)!.requestId]).toEqual([230, 31]);
    } finally {
      model.dispose();
    }
  });

  it('counts requests per second in whole seconds since the dashboard started, not the idle minutes before it (an injected clock)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    let t = 1_000_000_000; // ms: the dashboard starts at second 1,000,000
    const model = new DashboardModel(cortex.system, () => t);
    try {
      t += 2_500;
      for (let i = 0; i < 3; i++) await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }]);
      expect(model.snapshot(await cortex.dispatcher.status(), undefined).rps).toEqual([0, 0]); // the current second is not whole yet
      t += 1_000;
      expect(model.snapshot(await cortex.dispatcher.status(), undefined).rps).toEqual([0, 0, 3]);
      t += 400_000; // past the 5 minutes kept
      const late = model.snapshot(await cortex.dispatcher.status(), undefined).rps;
      expect(late).toHaveLength(299);
      expect(late.every((n) => n === 0)).toBe(true);
    } finally {
      model.dispose();
    }
  });
});

describe('dashboard over HTTP', () => {
  it('a request target that is not a path gets 400 and the dashboard goes on (it threw in the request handler, ending the process)', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dash = await serveDashboard(cortex);
    const { connect } = await import('node:net');
    const status = async (target: string): Promise<string> => {
      const socket = connect(Number(new URL(dash.url).port), '127.0.0.1');
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      let answer = '';
      socket.on('data', (b: Buffer) => (answer += b.toString()));
      await new Promise((resolve) => socket.on('close', resolve));
      return answer.split('\r\n')[0]!;
    };
    try {
      expect(await status('//\\')).toBe('HTTP/1.1 400 Bad Request');
      expect(await status('/healthz')).toBe('HTTP/1.1 200 OK');
    } finally {
      await dash.close();
    }
  });

  it("the feed sends a client joining the whole request log, then each tick only the requests it has not been sent", async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dash = await serveDashboard(cortex, { intervalMs: 100 });
    try {
      for (let i = 0; i < 3; i++) await cortex.dispatcher.complete([{ role: 'user', content: `q${i}` }]);
      const res = await fetch(`${dash.url}feed`);
      const reader = res.body!.getReader();
      const snapshots: DashboardSnapshot[] = [];
      let buffer = '';
      const next = async (): Promise<DashboardSnapshot> => {
        while (!buffer.includes('\n\n', buffer.indexOf('data: '))) buffer += new TextDecoder().decode((await reader.read()).value);
        const at = buffer.indexOf('data: ');
        const end = buffer.indexOf('\n\n', at);
        const snap = JSON.parse(buffer.slice(at + 6, end)) as DashboardSnapshot;
        buffer = buffer.slice(end + 2);
        snapshots.push(snap);
        return snap;
      };
      expect((await next()).requests.map((r) => r.seq)).toEqual([3, 2, 1]);
      await cortex.dispatcher.complete([{ role: 'user', content: 'q3' }]);
      let later = await next();
      while (later.requests.length === 0) later = await next();
      expect(later.requests.map((r) => r.seq)).toEqual([4]);
      expect((await next()).requests).toEqual([]); // nothing new since
      await reader.cancel();
    } finally {
      await dash.close();
    }
  });


  it('binds 127.0.0.1; with a token, the page and feed need it and the probes do not', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dash = await serveDashboard(cortex, { token: 'correct-horse-battery' });
    try {
      expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(dash.url)).status).toBe(401);
      expect((await fetch(`${dash.url}?token=wrong-token-here`)).status).toBe(401);
      expect((await fetch(dash.url, { headers: { authorization: 'Bearer correct-horse-battery' } })).status).toBe(200);
      expect((await fetch(`${dash.url}feed`)).status).toBe(401);
      expect(await (await fetch(`${dash.url}healthz`)).json()).toEqual({ status: 'up' });
      expect((await fetch(`${dash.url}readyz`)).status).toBe(200);
      const snap = await firstSnapshot(`${dash.url}feed?token=correct-horse-battery`);
      expect(snap.workers.map((w) => [w.name, w.color])).toEqual([['w', 'green']]);
    } finally {
      await dash.close();
    }
  });

  it('/metrics counts from the handler\'s creation, not from the first scrape', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dash = await serveDashboard(cortex);
    try {
      for (let i = 0; i < 3; i++) await cortex.dispatcher.complete([{ role: 'user', content: 'x' }]);
      const text = await (await fetch(`${dash.url}metrics`)).text();
      expect(text).toMatch(/cortex_requests_total\{worker="w",outcome="complete"\} 3/);
    } finally {
      await dash.close();
    }
  });

  it('/readyz answers 503 when no worker can take a request', async () => {
    const { cortex } = await start([new MockWorker({ name: 'down', health: { status: 'unavailable', reason: 'off' } })]);
    await cortex.dispatcher.checkHealth();
    const dash = await serveDashboard(cortex);
    try {
      const res = await fetch(`${dash.url}readyz`);
      expect([res.status, await res.json()]).toEqual([503, { ready: false, workers: 0 }]);
    } finally {
      await dash.close();
    }
  });

  it('never shows an API key or a prompt, in the page, the feed or /metrics', async () => {
    process.env.CORTEX_DASH_KEY = 'sk-dashboard-secret-4242';
    const server = await openai({ apiKey: 'sk-dashboard-secret-4242', script: { chunks: ['ok'] } });
    const { cortex } = await start([new OpenAIWorker({ name: 'cloud', baseUrl: server.url, model: 'gpt-test', apiKeyEnv: 'CORTEX_DASH_KEY' })]);
    const dash = await serveDashboard(cortex);
    await cortex.dispatcher.complete([{ role: 'user', content: 'a very private prompt' }]);
    try {
      const snap = await firstSnapshot(`${dash.url}feed`);
      expect(snap.workers[0]).toMatchObject({ name: 'cloud', model: 'gpt-test', requests: 1 });
      const all = JSON.stringify(snap) + (await (await fetch(dash.url)).text()) + (await (await fetch(`${dash.url}metrics`)).text());
      expect(all).not.toContain('sk-dashboard-secret-4242');
      expect(all).not.toContain('a very private prompt');
      expect(all).toContain('cortex_worker_inflight{worker="cloud"} 0');
    } finally {
      await dash.close();
      delete process.env.CORTEX_DASH_KEY;
    }
  });

  it('with a Redis store, shows the cluster: every instance with its counts, and each worker\'s cluster-wide requests', async () => {
    const stores = [0, 1].map(() => new RedisStore({ url: redis().url, prefix: 'dash', leaseMs: 600, timeoutMs: 3000 })); // a beat every 200 ms
    const trees = await Promise.all(stores.map((store) => start([new MockWorker({ name: 'w' })], { store })));
    await trees[0]!.cortex.dispatcher.complete([{ role: 'user', content: 'a' }]);
    for (let i = 0; i < 2; i++) await trees[1]!.cortex.dispatcher.complete([{ role: 'user', content: 'b' }]);
    const dash = await serveDashboard(trees[0]!.cortex);
    try {
      const snap = await firstSnapshot(`${dash.url}feed`);
      expect(snap.store).toEqual({ kind: 'redis', shared: true, degraded: false });
      expect(snap.workers[0]!.cluster).toMatchObject({ requests: 3, successes: 3 });
      const seen = new Map(snap.instances?.map((i) => [i.instance, i.requests]));
      expect(seen.get(stores[0]!.instance)).toBe(1);
      await expect.poll(async () => new Map((await stores[0]!.instances()).map((i) => [i.instance, i.requests])).get(stores[1]!.instance), { timeout: 10_000 }).toBe(2);
    } finally {
      await dash.close();
      for (const s of stores) await s.close();
    }
  });

  it('lets go of a feed client that does not read (its unread snapshots past 1 MiB), so it cannot hold memory without bound; the others go on', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dashboard = dashboardHandler(cortex, { intervalMs: 100 });
    /** A response whose client reads nothing once `stalled`: what it was sent stays in its buffer. */
    class Client extends EventEmitter {
      stalled = false;
      destroyed = false;
      writableEnded = false;
      writableLength = 0;
      writes = 0;
      writeHead(): this {
        return this;
      }
      setHeader(): void {}
      write(data: string): boolean {
        this.writes++;
        if (this.stalled) this.writableLength += Buffer.byteLength(data);
        return !this.stalled;
      }
      end(): void {
        this.writableEnded = true;
      }
      destroy(): void {
        this.destroyed = true;
        this.emit('close');
      }
    }
    const client = (): Client => new Client();
    const stuck = client();
    const reading = client();
    const req = { url: '/feed', method: 'GET', headers: {} } as unknown as IncomingMessage;
    try {
      dashboard(req, stuck as unknown as ServerResponse);
      dashboard(req, reading as unknown as ServerResponse);
      await expect.poll(() => reading.writes, { timeout: 5_000 }).toBeGreaterThan(2);
      stuck.stalled = true;
      stuck.writableLength = 1_048_000; // just under 1 MiB left unread: the next snapshots take it past
      // Each tick adds a snapshot to its unread bytes until they pass 1 MiB: then it is destroyed.
      await expect.poll(() => stuck.destroyed, { timeout: 20_000 }).toBe(true);
      const before = reading.writes;
      await expect.poll(() => reading.writes, { timeout: 5_000 }).toBeGreaterThan(before);
      expect(reading.destroyed).toBe(false);
    } finally {
      dashboard.close();
    }
  }, 30_000);

  it('mounts in an app\'s own server under a prefix; other paths go to the app', async () => {
    const { cortex } = await start([new MockWorker({ name: 'w' })]);
    const dashboard = dashboardHandler(cortex, { intervalMs: 100 });
    const app = createServer((req, res) => {
      if (req.url?.startsWith('/ops/')) return dashboard(req, res, () => res.writeHead(404).end('app 404'));
      res.end('app');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
    try {
      expect(await (await fetch(`${base}/ops/`)).text()).toContain('<title>cortex dashboard</title>');
      expect((await firstSnapshot(`${base}/ops/feed`)).workers).toHaveLength(1);
      expect(await (await fetch(`${base}/ops/nothing`)).text()).toBe('app 404');
      expect(await (await fetch(`${base}/`)).text()).toBe('app');
    } finally {
      dashboard.close();
      app.closeAllConnections();
      await new Promise((r) => app.close(r));
    }
  });
});
