import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHttp } from '../lazy-require.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { SharedStore } from '../store/store.js';
import type { ActorSystem } from '../runtime/system.js';
import { keyUsage, UsageBook, type KeyUsage } from './usage.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import { readyWorkers } from '../pool/readiness.js';
import { type Call } from './call.js';
import { GatewayError, sendError, toGatewayError, type Api } from './errors.js';
import { KeyLimits, keyEntries, keyOf, type GatewayKey, type KeyEntry } from './keys.js';
import { Lifetime } from './lifetime.js';
import { anthropicMessages } from './anthropic.js';
import { openaiResponses } from './responses.js';
import { ollamaChat, ollamaTags, ollamaVersion } from './ollama.js';
import { openaiChat, openaiModels } from './openai.js';

/**
 * What the gateway serves: a `startWorkers` handle (its dispatcher; its shared store, where keys'
 * limits are then held; its system, whose events `GET /v1/usage` counts).
 */
export interface GatewaySource {
  readonly dispatcher: Dispatcher;
  readonly store?: SharedStore | undefined;
  readonly system?: ActorSystem | undefined;
}

/** Options of {@link createGateway} and {@link serveGateway}. */
export interface GatewayOptions {
  /**
   * API keys a client must send (`Authorization: Bearer <key>`, the scheme in any case, or
   * `x-api-key`), compared in constant time; absent: no key asked. Plain keys (at least 8
   * characters), or {@link GatewayKey}s with an id, the routes they may use and their own limits.
   * Take them from the environment; they are never logged or echoed (a key is named by its id).
   */
  keys?: readonly (string | GatewayKey)[];
  /** Largest request body accepted, bytes. Default 20 MiB (room for images in base64; 413 beyond). */
  maxBodyBytes?: number;
}

/** Options of {@link serveGateway}. */
export interface ServeGatewayOptions extends GatewayOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Time a client has to send its request line and headers, ms (then 408 and the socket closed). Default 10 000. */
  headersTimeoutMs?: number;
  /** Time a client has to send its whole request, body included, ms (then 408). Default 60 000. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, ms. Default 5 000. */
  keepAliveTimeoutMs?: number;
  /** Most connections open at once; more are refused (closed at once). Default 1 024. */
  maxConnections?: number;
  /** What `close()` gives requests in flight to finish before they are cut, ms. Default 5 000; 0: at once. */
  drainMs?: number;
}

/**
 * The gateway as a node:http request handler: OpenAI's `POST /v1/chat/completions` and
 * `GET /v1/models`, Ollama's `POST /api/chat`, `GET /api/tags` and `GET /api/version`, over the
 * pool, and the probes `/healthz` (up) and `/readyz` (taking requests, and a worker can answer;
 * 503 otherwise). Paths it does not serve go to `next` (404 without one). `close(drainMs)` stops
 * taking requests (503, `/readyz` 503 at once), lets those in flight finish for `drainMs`, then
 * ends the rest with their API's error (never as complete answers).
 */
export interface GatewayHandler {
  (req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  /** Stops taking requests and drains those in flight (see above). Default drain 5 000 ms. */
  close(drainMs?: number): Promise<void>;
  /**
   * Replaces the keys (as `options.keys`; `undefined`: no key asked) for the requests that come
   * next; requests in flight go on. All checked first: bad keys change nothing.
   * @throws InvalidArgumentError naming the bad key by id or position.
   */
  setKeys(keys: GatewayOptions['keys']): void;
  /** Each configured key's usage and budget (none without keys); give the gateway to the dashboard (`keys`) to show them. */
  keyUsage(): Promise<KeyUsage[]>;
}

/** A running gateway, from {@link serveGateway}. */
export interface GatewayServer {
  /** `http://host:port` (point a client's base URL at `${url}/v1`, or Ollama's host at `url`). */
  readonly url: string;
  readonly port: number;
  /**
   * Stops taking requests (`/readyz` answers 503 at once), lets streams in flight finish for
   * `drainMs` (default the `drainMs` option, 5 000), ends the rest with their API's error event,
   * then closes every connection. Resolves when the server is closed.
   */
  close(drainMs?: number): Promise<void>;
  /** Replaces the keys for the requests that come next (see {@link GatewayHandler.setKeys}). */
  setKeys(keys: GatewayOptions['keys']): void;
  /** Each configured key's usage and budget (see {@link GatewayHandler.keyUsage}). */
  keyUsage(): Promise<KeyUsage[]>;
}

const DEFAULT_MAX_BODY = 20 << 20;
const DEFAULT_DRAIN_MS = 5_000;

/**
 * The gateway's handler over `source`. @throws InvalidArgumentError for bad options.
 * @example
 * http.createServer(createGateway(cortex, { keys: [process.env.GATEWAY_KEY!] })).listen(8080, '127.0.0.1');
 */
export function createGateway(source: GatewaySource, options: GatewayOptions = {}): GatewayHandler {
  checkObject(source, 'source');
  if (typeof source.dispatcher?.dispatchStream !== 'function') throw new InvalidArgumentError('source.dispatcher', 'a Dispatcher (from startWorkers)', source.dispatcher);
  checkObject(options, 'options');
  const { keys, maxBodyBytes = DEFAULT_MAX_BODY } = options;
  let entries = keys === undefined ? undefined : keyEntries(keys);
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) throw new InvalidArgumentError('options.maxBodyBytes', 'a whole number of bytes > 0', maxBodyBytes);
  const limits = new KeyLimits(source.store);
  const lifetime = new Lifetime();
  const usage = new UsageBook(source.store);
  const following = source.system?.inspect((e) => (e.type === 'pool.stream_finished' ? usage.record(e) : e.type === 'pool.cache_hit' && usage.hit(e)));
  const handler = ((req, res, next) => {
    const path = pathOf(req.url ?? '/');
    if (path === undefined) return sendError(res, 'openai', new GatewayError(400, 'the request target is not a valid path'));
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return void probe(path, source.dispatcher, lifetime, res);
    if (req.method === 'GET' && path === '') return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('Ollama is running'); // Ollama clients probe it
    const route = ROUTES[`${req.method} ${path}`];
    const api: Api = path.startsWith('/api/') ? 'ollama' : path === '/v1/messages' ? 'anthropic' : 'openai';
    if (route === undefined) return next ? next() : sendError(res, api, new GatewayError(404, `no route ${req.method} ${path}`));
    const key = entries === undefined ? undefined : keyOf(entries, req);
    if (entries !== undefined && key === undefined) return sendError(res, api, new GatewayError(401, 'invalid or missing API key', null, 'authentication_error'));
    if (route === usageRoute) return void usageOf(req, res, usage, key, source.system !== undefined);
    if (lifetime.draining) return sendError(res, api, new GatewayError(503, 'the gateway is shutting down', null, 'service_unavailable_error', 1), { connection: 'close' });
    void serve(route, { req, res, dispatcher: source.dispatcher, key, limits }, api, maxBodyBytes, lifetime);
  }) as GatewayHandler;
  handler.setKeys = (next) => {
    entries = next === undefined ? undefined : keyEntries(next);
  };
  handler.keyUsage = () => keyUsage(entries ?? [], usage, limits);
  handler.close = (drainMs = DEFAULT_DRAIN_MS) => {
    following?.dispose();
    return lifetime.close(drainMs);
  };
  return handler;
}

/** A path as plain as the APIs' own (letters, digits, `/`, `_`, `-`; not `//`, which URL reads as a host), before any query. */
const PLAIN_PATH = /^\/(?!\/)[\w/-]*(?=[?#]|$)/;

/**
 * The request's path without its trailing slashes: a plain one read as it is, any other through
 * `URL` (dot segments, backslashes, percent escapes), which a request would otherwise pay for;
 * undefined for a target that is not a path at all (`//\`: `URL` refuses it).
 * @internal
 */
export function pathOf(url: string): string | undefined {
  const plain = PLAIN_PATH.exec(url);
  return (plain !== null ? plain[0] : URL.parse(url, 'http://gateway')?.pathname)?.replace(/\/+$/, '');
}

type Route = (call: Call) => Promise<void>;
const ROUTES: Record<string, Route> = {
  'POST /v1/chat/completions': openaiChat,
  'POST /v1/messages': anthropicMessages,
  'POST /v1/responses': openaiResponses,
  'GET /v1/models': openaiModels,
  'POST /api/chat': ollamaChat,
  'GET /api/tags': ollamaTags,
  'GET /api/version': ollamaVersion,
  'GET /v1/usage': usageRoute,
};

/** `GET /v1/usage` (answered by the handler itself: it reads the gateway's usage book). */
async function usageRoute(): Promise<void> {}

/**
 * `GET /v1/usage?key=ID&since=ISO`: requests, tokens and cost by key, worker and model since a
 * time (default: the last 24 hours). A key reads its own usage; an admin key any key's, or all.
 */
async function usageOf(req: IncomingMessage, res: ServerResponse, book: UsageBook, key: KeyEntry | undefined, counting: boolean): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const asked = url.searchParams.get('key') ?? undefined;
  const sinceText = url.searchParams.get('since');
  const since = sinceText === null ? Date.now() - 86_400_000 : Date.parse(sinceText);
  if (Number.isNaN(since)) return sendError(res, 'openai', new GatewayError(400, 'since: expected an ISO 8601 time', 'since'));
  if (key !== undefined && !key.admin && asked !== undefined && asked !== key.id) return sendError(res, 'openai', new GatewayError(403, `key ${key.id} may read only its own usage`, 'key', 'permission_error'));
  if (!counting) return sendError(res, 'openai', new GatewayError(404, 'usage is counted when the gateway is given the startWorkers handle (with its system)'));
  const of = key !== undefined && !key.admin ? key.id : asked;
  const { scope, data } = await book.query(since, of);
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ object: 'usage', scope, since: new Date(since).toISOString(), until: new Date().toISOString(), data }));
}

async function serve(route: Route, call: Pick<Call, 'req' | 'res' | 'dispatcher' | 'key' | 'limits'>, api: Api, max: number, lifetime: Lifetime): Promise<void> {
  const { req, res } = call;
  const ctl = new AbortController();
  const leave = lifetime.enter(ctl);
  res.on('close', () => {
    if (!res.writableFinished) ctl.abort(new Error('the client went away'));
  });
  try {
    const body = req.method === 'POST' ? await readJson(req, max) : undefined;
    await route({ ...call, body, signal: ctl.signal });
  } catch (e) {
    if (!res.headersSent) sendError(res, api, toGatewayError(e));
    else res.end();
  } finally {
    leave();
  }
}

/** `/healthz`: the process is up. `/readyz`: taking requests (not draining) and a worker can answer. */
async function probe(path: string, dispatcher: Dispatcher, lifetime: Lifetime, res: ServerResponse): Promise<void> {
  if (path === '/healthz') return json(res, 200, { status: 'up' });
  if (lifetime.draining) return json(res, 503, { ready: false, draining: true });
  try {
    const ready = readyWorkers(await dispatcher.status());
    json(res, ready.length > 0 ? 200 : 503, { ready: ready.length > 0, workers: ready.length });
  } catch {
    json(res, 503, { ready: false });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.reject(new GatewayError(413, `request body over ${max} bytes`));
  // Read with events, not `for await`: the stream's async iterator costs tens of microseconds
  // a request (it was a tenth of the gateway's own time on a short answer).
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= max) return void parts.push(chunk);
      req.off('data', onData).off('end', onEnd);
      req.resume(); // the rest is read and dropped: the answer (413) can still go out
      reject(new GatewayError(413, `request body over ${max} bytes`));
    };
    const onEnd = (): void => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown);
      } catch {
        reject(new GatewayError(400, 'the request body is not valid JSON'));
      }
    };
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/**
 * Serves the gateway on its own HTTP server (127.0.0.1 and a free port unless told), with safe
 * bounds on slow clients (headers, whole request, idle keep-alive, connections).
 * @throws InvalidArgumentError for bad options; the listen error as it is.
 */
export async function serveGateway(source: GatewaySource, options: ServeGatewayOptions = {}): Promise<GatewayServer> {
  checkObject(options, 'options');
  const { port = 0, host = '127.0.0.1', headersTimeoutMs = 10_000, requestTimeoutMs = 60_000, keepAliveTimeoutMs = 5_000, maxConnections = 1_024, drainMs = DEFAULT_DRAIN_MS, ...rest } = options;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new InvalidArgumentError('options.port', 'a port number (0 for a free one)', port);
  for (const [field, v] of Object.entries({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections })) {
    if (!(Number.isInteger(v) && v > 0)) throw new InvalidArgumentError(`options.${field}`, 'a whole number > 0', v);
  }
  if (!(Number.isInteger(drainMs) && drainMs >= 0)) throw new InvalidArgumentError('options.drainMs', 'a whole number of ms >= 0', drainMs);
  const handler = createGateway(source, rest);
  // Node checks the header and request timeouts on this interval (30 s by default): often enough to hold them.
  const server = nodeHttp().createServer({ headersTimeout: headersTimeoutMs, requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs), connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeoutMs / 2)) }, handler);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    port: actual,
    setKeys: (next) => handler.setKeys(next),
    keyUsage: () => handler.keyUsage(),
    close: (ms = drainMs) =>
      (closing ??= (async () => {
        server.closeIdleConnections();
        await handler.close(ms);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })()),
  };
}
