import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import { isDeadlineExceededError, isInvalidRequestError, isNoWorkersAvailableError, isQueueFullError, isQueueTimeoutError, isShutdownError, isStreamInterruptedError, isValidationError } from '../errors/pool.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import { ollamaChat, ollamaTags, ollamaVersion } from './ollama.js';
import { openaiChat, openaiModels } from './openai.js';

/** What the gateway serves: a `startWorkers` handle (its dispatcher). */
export interface GatewaySource {
  readonly dispatcher: Dispatcher;
}

/** Options of {@link createGateway} and {@link serveGateway}. */
export interface GatewayOptions {
  /**
   * API keys a client must send (`Authorization: Bearer <key>`), compared in constant time; absent:
   * no key asked. Take them from the environment; they are never logged or echoed.
   */
  keys?: readonly string[];
  /** Largest request body accepted, bytes. Default 20 MiB (room for images in base64; 413 beyond). */
  maxBodyBytes?: number;
}

/** Options of {@link serveGateway}. */
export interface ServeGatewayOptions extends GatewayOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
}

/**
 * The gateway as a node:http request handler: OpenAI's `POST /v1/chat/completions` and
 * `GET /v1/models`, Ollama's `POST /api/chat`, `GET /api/tags` and `GET /api/version`, over the
 * pool. Paths it does not serve go to `next` (404 without one).
 */
export type GatewayHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

/** A running gateway, from {@link serveGateway}. */
export interface GatewayServer {
  /** `http://host:port` (point a client's base URL at `${url}/v1`, or Ollama's host at `url`). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A request the gateway refuses, with the status and the field at fault. @internal */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status >= 500 ? 'api_error' : 'invalid_request_error',
    readonly retryAfterS?: number,
    /** A machine-readable code (OpenAI's `error.code`): the backend's own, when it refused the request. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** What a protocol handler gets. @internal */
export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly dispatcher: Dispatcher;
  /** The request body, parsed (only for POST). */
  readonly body: unknown;
  /** Aborted when the client goes away: the upstream request is cancelled with it. */
  readonly signal: AbortSignal;
}

const DEFAULT_MAX_BODY = 20 << 20;

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
  if (keys !== undefined && (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k.length < 8))) {
    throw new InvalidArgumentError('options.keys', 'a non-empty list of keys of at least 8 characters', '(not shown)');
  }
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) throw new InvalidArgumentError('options.maxBodyBytes', 'a whole number of bytes > 0', maxBodyBytes);
  const authorized = keys === undefined ? () => true : keyCheck(keys);
  return (req, res, next) => {
    const path = new URL(req.url ?? '/', 'http://gateway').pathname.replace(/\/+$/, '');
    const route = ROUTES[`${req.method} ${path}`];
    if (route === undefined) return next ? next() : sendError(res, path.startsWith('/api/') ? 'ollama' : 'openai', new GatewayError(404, `no route ${req.method} ${path}`));
    const api = path.startsWith('/api/') ? 'ollama' : 'openai';
    if (!authorized(req)) return sendError(res, api, new GatewayError(401, 'invalid or missing API key', null, 'authentication_error'));
    void serve(route, req, res, source.dispatcher, api, maxBodyBytes);
  };
}

type Route = (call: Call) => Promise<void>;
const ROUTES: Record<string, Route> = {
  'POST /v1/chat/completions': openaiChat,
  'GET /v1/models': openaiModels,
  'POST /api/chat': ollamaChat,
  'GET /api/tags': ollamaTags,
  'GET /api/version': ollamaVersion,
};

async function serve(route: Route, req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher, api: 'openai' | 'ollama', max: number): Promise<void> {
  const ctl = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) ctl.abort(new Error('the client went away'));
  });
  try {
    const body = req.method === 'POST' ? await readJson(req, max) : undefined;
    await route({ req, res, dispatcher, body, signal: ctl.signal });
  } catch (e) {
    if (!res.headersSent) sendError(res, api, toGatewayError(e));
    else res.end();
  }
}

/** A cortex error as the status a client of either API understands. @internal */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (isValidationError(e)) return new GatewayError(400, e.message, e.issues[0]?.path ?? null);
  if (isQueueFullError(e)) return new GatewayError(429, 'every worker is busy and the queue is full; retry later', null, 'rate_limit_error', 1);
  if (isQueueTimeoutError(e)) return new GatewayError(429, 'waited too long for a worker; retry later', null, 'rate_limit_error', 1);
  if (isInvalidRequestError(e)) {
    const status = e.status === 422 ? 422 : 400;
    return new GatewayError(status, e.backendMessage, e.param ?? null, 'invalid_request_error', undefined, e.backendCode ?? 'invalid_request');
  }
  if (isNoWorkersAvailableError(e)) {
    // Every worker only rests (rate limited upstream, cooling down): a client may retry when the first is back.
    if (e.retryAfterMs !== undefined) return new GatewayError(429, `every worker is rate limited; retry later. ${e.message}`, null, 'rate_limit_error', Math.max(1, Math.ceil(e.retryAfterMs / 1000)), 'rate_limited');
    return new GatewayError(503, e.message, null, 'service_unavailable_error');
  }
  if (isShutdownError(e)) return new GatewayError(503, 'the gateway is shutting down', null, 'service_unavailable_error');
  if (isStreamInterruptedError(e)) return new GatewayError(502, 'the answer broke off and no worker could continue it', null, 'api_error');
  if (isDeadlineExceededError(e)) return new GatewayError(504, 'the request ran past its deadline', null, 'api_error');
  return new GatewayError(500, 'internal error');
}

/** An error in the API's own shape: OpenAI's `{ error: { message, type, param, code } }`, Ollama's `{ error }`. @internal */
export function sendError(res: ServerResponse, api: 'openai' | 'ollama', e: GatewayError): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (e.retryAfterS !== undefined) headers['retry-after'] = String(e.retryAfterS);
  res.writeHead(e.status, headers);
  res.end(JSON.stringify(api === 'openai' ? { error: { message: e.message, type: e.type, param: e.param, code: e.code } } : { error: e.message }));
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new GatewayError(413, `request body over ${max} bytes`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new GatewayError(413, `request body over ${max} bytes`);
    parts.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
  } catch {
    throw new GatewayError(400, 'the request body is not valid JSON');
  }
}

/** Compares a bearer key with each allowed one in constant time (hashes of equal length). */
function keyCheck(keys: readonly string[]): (req: IncomingMessage) => boolean {
  const digests = keys.map((k) => createHash('sha256').update(k).digest());
  return (req) => {
    // The scheme is case-insensitive (RFC 9110 11.1): `bearer KEY` is as good as `Bearer KEY`.
    const m = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (m === null) return false;
    const given = createHash('sha256').update(m[1]!).digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(given, d) || ok;
    return ok;
  };
}

/**
 * Serves the gateway on its own HTTP server (127.0.0.1 and a free port unless told).
 * @throws InvalidArgumentError for bad options; the listen error as it is.
 */
export async function serveGateway(source: GatewaySource, options: ServeGatewayOptions = {}): Promise<GatewayServer> {
  checkObject(options, 'options');
  const { port = 0, host = '127.0.0.1', ...rest } = options;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new InvalidArgumentError('options.port', 'a port number (0 for a free one)', port);
  const server = createServer(createGateway(source, rest));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
