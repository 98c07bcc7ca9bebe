import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHttp } from '../lazy-require.js';
import { InvalidArgumentError, isMissingPeerError } from '../errors/runtime.js';
import { collectMetrics, type CortexMetrics } from '../metrics/metrics.js';
import type { PoolStatus } from '../pool/pool.js';
import { checkFunction, checkObject } from '../runtime/checks.js';
import { checkSystem, type ActorSystem } from '../runtime/system.js';
import type { SharedStore } from '../store/store.js';
import { clusterView, DashboardModel, type DashboardSnapshot } from './model.js';
import { PAGE, pagePolicy } from './page.js';
import type { TraceIds } from './request-log.js';
import type { KeyUsage } from '../gateway/usage.js';
import { readyWorkers } from '../pool/readiness.js';

/** What the dashboard shows: a `startWorkers` handle (its `store` gives the cluster view). */
export interface DashboardSource {
  readonly system: ActorSystem;
  /** Where the page's figures are read from. */
  readonly dispatcher: {
    /** The pool's status (see `Dispatcher.status`). */
    status(): Promise<PoolStatus>;
  };
  readonly store?: SharedStore | undefined;
}

/** Options of {@link dashboardHandler} and {@link serveDashboard}. */
export interface DashboardOptions {
  /** Required as `Authorization: Bearer <token>` (or `?token=`, for the page and its feed). `/healthz` and `/readyz` stay open for probes. */
  token?: string;
  /** How often the feed sends a snapshot, ms (whatever the request rate). Default 500, at least 100. */
  intervalMs?: number;
  /** `traceRequests(cortex)`'s handle: the request log then shows each request's trace id. */
  tracing?: TraceIds;
  /** The gateway (`serveGateway(...)`'s server, or `createGateway`'s handler): the page then shows each key's usage against its budget. */
  keys?: KeyUsageSource;
}

/** Where the dashboard reads each gateway key's usage and budget: the gateway. */
export interface KeyUsageSource {
  /** Each configured key's usage and budget. */
  keyUsage(): Promise<readonly KeyUsage[]>;
}

/** Options of {@link serveDashboard}. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default `127.0.0.1`: only this machine. Say `0.0.0.0` to expose it (and set a token). */
  host?: string;
}

/**
 * The dashboard as a request handler, to mount in a node:http server or any framework that
 * hands over Node's request and response (express `app.use('/cortex', handler)`, fastify's
 * `reply.raw`, hono's node adapter). Serves the page (`/`), its live feed (`/feed`, server-sent
 * events), `/healthz` (the process is up), `/readyz` (a worker can take a request; 503 if none)
 * and `/metrics` (with prom-client installed). A path it does not know goes to `next` (404
 * without one). `close()` ends the feeds and stops following events.
 */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  /** Ends the live feeds and stops following events. */
  close(): void;
}

/** A running dashboard, from {@link serveDashboard}. */
export interface DashboardServer {
  /** `http://host:port/` (add `?token=...` when a token is set). */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Ends the feeds and stops the server. */
  close(): Promise<void>;
}

/**
 * The dashboard's handler over `source`. @throws InvalidArgumentError for a bad source or options.
 * @example
 * http.createServer(dashboardHandler(cortex, { token: process.env.DASHBOARD_TOKEN })).listen(9090, '127.0.0.1');
 */
export function dashboardHandler(source: DashboardSource, options: DashboardOptions = {}): DashboardHandler {
  checkObject(source, 'source');
  checkSystem(source.system, 'source.system');
  checkFunction(source.dispatcher?.status, 'source.dispatcher.status');
  checkObject(options, 'options');
  const { token, intervalMs = 500 } = options;
  if (token !== undefined && (typeof token !== 'string' || token.length < 8)) throw new InvalidArgumentError('options.token', 'a string of at least 8 characters', '(not shown)');
  if (!(typeof intervalMs === 'number' && Number.isFinite(intervalMs) && intervalMs >= 100)) throw new InvalidArgumentError('options.intervalMs', 'a number of ms >= 100', intervalMs);
  if (options.tracing !== undefined) checkFunction(options.tracing?.traceIdOf, 'options.tracing.traceIdOf');
  if (options.keys !== undefined) checkFunction(options.keys?.keyUsage, 'options.keys.keyUsage');
  const model = new DashboardModel(source.system, Date.now, options.tracing);
  const feed = new Feed(model, source, intervalMs, options.keys);
  // Counted from now, not from the first scrape: requests before it are not lost.
  const metrics: CortexMetrics | null = openMetrics(source);
  const allowed = token === undefined ? () => true : tokenCheck(token);
  const handler = ((req: IncomingMessage, res: ServerResponse, next?: () => void) => {
    const url = URL.parse(req.url ?? '/', 'http://dashboard');
    if (url === null) return send(res, 400, 'text/plain', 'the request target is not a valid path'); // `//\`: no URL
    // Routed by the last path segment, so it works mounted under any prefix ('/ops/' is the page).
    const route = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    if (route === 'healthz') return send(res, 200, 'application/json', '{"status":"up"}');
    if (route === 'readyz') return void readiness(source, res);
    if (!['', 'index.html', 'feed', 'metrics'].includes(route)) return next ? next() : send(res, 404, 'text/plain', 'not found');
    if (!allowed(req, url)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, 'text/plain', 'a bearer token is required');
    }
    if (route === 'feed') return feed.add(res);
    if (route === 'metrics') {
      if (metrics === null) return send(res, 404, 'text/plain', 'metrics need the package prom-client: npm install prom-client');
      const m = metrics;
      return void m.metrics().then((text) => send(res, 200, m.registry.contentType, text));
    }
    res.setHeader('content-security-policy', pagePolicy());
    return send(res, 200, 'text/html; charset=utf-8', PAGE);
  }) as DashboardHandler;
  handler.close = () => {
    feed.close();
    model.dispose();
    metrics?.dispose();
  };
  return handler;
}

/**
 * Serves the dashboard on its own HTTP server (127.0.0.1 and a free port unless told).
 * @throws InvalidArgumentError for bad options; the listen error (a port in use) as it is.
 * @example
 * const dash = await serveDashboard(cortex, { port: 9090 });
 * console.log(`dashboard: ${dash.url}`);
 */
export async function serveDashboard(source: DashboardSource, options: ServeDashboardOptions = {}): Promise<DashboardServer> {
  checkObject(options, 'options');
  const { port = 0, host = '127.0.0.1', ...rest } = options;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new InvalidArgumentError('options.port', 'a port number (0 for a free one)', port);
  if (typeof host !== 'string' || host === '') throw new InvalidArgumentError('options.host', 'a host name or address', host);
  const handler = dashboardHandler(source, rest);
  const server = nodeHttp().createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${actual}/`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a feed client may leave unread before it is let go. */
const MAX_UNREAD_BYTES = 1 << 20;

/** The server-sent feed: one snapshot per tick for every client, computed once; no tick without clients. */
class Feed {
  readonly #clients = new Set<ServerResponse>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The newest request-log entry every client was sent (a client joining gets the whole log). */
  #sent = 0;

  constructor(
    private readonly model: DashboardModel,
    private readonly source: DashboardSource,
    private readonly intervalMs: number,
    private readonly keys?: KeyUsageSource,
  ) {}

  add(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': cortex\n\n');
    this.#clients.add(res);
    res.on('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stop();
    });
    if (this.#timer === undefined) this.#timer = setInterval(() => void this.#tick(), this.intervalMs);
    void this.#tick([res]);
  }

  /** Sends a snapshot to `to` (every client: with the requests logged since the last such tick; one new client: with the whole log). */
  async #tick(to?: Iterable<ServerResponse>): Promise<void> {
    const snap = await snapshot(this.model, this.source, to === undefined ? this.#sent : 0, this.keys);
    if (snap === undefined) return;
    // Every client has what this snapshot holds when it went to all, or to the only one.
    if (to === undefined || this.#clients.size === 1) this.#sent = Math.max(this.#sent, snap.requests[0]?.seq ?? 0);
    to ??= this.#clients;
    const data = `data: ${JSON.stringify(snap)}\n\n`;
    for (const res of to) {
      if (res.writableEnded || res.destroyed) continue;
      // A client that does not read (a stalled connection) would hold every snapshot in memory:
      // it is let go (a browser's EventSource reconnects, and a client joining gets the whole log).
      if (res.writableLength > MAX_UNREAD_BYTES) res.destroy();
      else res.write(data);
    }
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#stop();
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}

async function snapshot(model: DashboardModel, source: DashboardSource, since: number, keys?: KeyUsageSource): Promise<DashboardSnapshot | undefined> {
  let status: PoolStatus;
  try {
    status = await source.dispatcher.status();
  } catch {
    return undefined; // stopping
  }
  const [cluster, usage] = await Promise.all([clusterView(source.store, status.workers.map((w) => w.name)), keys?.keyUsage().catch(() => undefined)]);
  const snap = model.snapshot(status, cluster.counters, cluster.instances, since);
  return usage === undefined ? snap : { ...snap, keys: usage };
}

async function readiness(source: DashboardSource, res: ServerResponse): Promise<void> {
  try {
    const status = await source.dispatcher.status();
    const ready = readyWorkers(status);
    send(res, ready.length > 0 ? 200 : 503, 'application/json', JSON.stringify({ ready: ready.length > 0, workers: ready.length }));
  } catch {
    send(res, 503, 'application/json', '{"ready":false}');
  }
}

function openMetrics(source: DashboardSource): CortexMetrics | null {
  try {
    return collectMetrics(source);
  } catch (e) {
    if (isMissingPeerError(e)) return null;
    throw e;
  }
}

/** Compares the bearer token (or `?token=`) in constant time. */
function tokenCheck(token: string): (req: IncomingMessage, url: URL) => boolean {
  const want = createHash('sha256').update(token).digest();
  return (req, url) => {
    const auth = req.headers.authorization;
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token');
    if (given === null || given === undefined) return false;
    return timingSafeEqual(createHash('sha256').update(given).digest(), want);
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  res.end(body);
}
