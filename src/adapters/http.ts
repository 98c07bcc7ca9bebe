/*
 * The adapters' HTTP: a streamed POST with node:http(s) and keep-alive agents, its body read
 * directly from node:http's response, its end read so the connection is reused, and bounded reads
 * of a body. What a failure means is in backend-errors.ts.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { nodeHttp, nodeHttps, nodeUrl } from '../lazy-require.js';
import { WorkerError } from '../errors/pool.js';
import { abortedError, connectionError, headerBag, httpError, type HeaderBag } from './backend-errors.js';

/** Reads at most `limit` characters of a fetch response's body, then lets the rest go. @internal */
export function readSome(res: Response, limit = 4096): Promise<string> {
  return res.body === null ? Promise.resolve('') : readAtMost(res.body, limit);
}

/**
 * Reads at most `limit` characters of a body (a fetch body or node:http's response), then lets
 * the rest go (leaving the loop cancels or destroys it): a backend that sends without end costs
 * `limit`, not memory until a timeout. A read that fails keeps what came before.
 */
async function readAtMost(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const bytes of body) {
      text += decoder.decode(bytes, { stream: true });
      if (text.length >= limit) return text.slice(0, limit);
    }
    text += decoder.decode();
  } catch {
    // what came before the failure is what there is
  }
  return text.length > limit ? text.slice(0, limit) : text;
}

/**
 * After the final line or event: read the end of the body (servers send it right after) so the
 * connection is free for the next request; a server that keeps the socket open after done,
 * or sends more, is cut off after a short grace period instead of being waited for.
 * @internal
 */
export async function finishBody(reader: BodyReader): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), FINISH_GRACE_MS);
    timer.unref();
  });
  try {
    const r = await Promise.race([reader.read(), grace]);
    if (r === 'late' || !r.done) await reader.cancel();
  } catch {
    // reset after done: nothing more to release
  } finally {
    clearTimeout(timer);
  }
}

/** How long to wait for the end of the body after the done line, ms. */
const FINISH_GRACE_MS = 50;

/**
 * Reads a response body: a web stream's reader is one; so is {@link openStream}'s, which reads
 * node:http's response directly (no web stream between them). @internal
 */
export interface BodyReader {
  /** The next bytes, or `done` at the end; rejects if the connection breaks or is aborted. */
  read(): Promise<IteratorResult<Uint8Array, undefined>>;
  /** Stops reading and lets the connection go. */
  cancel(): Promise<void>;
}

/** A response body being streamed, with the signal that cancels it and what to release at the end. @internal */
export interface OpenStream {
  readonly body: BodyReader;
  /** Aborted by the caller's signal or by the worker's hard cap. */
  readonly signal: AbortSignal;
  /** Clears the cap and the listener on the caller's signal. */
  readonly cleanup: () => void;
  /** The response's headers (for the backend's rate-limit headers). */
  readonly headers: HeaderBag;
}

/**
 * POSTs a streaming request and returns its body once the headers are in. One signal combines
 * the caller's cancel and the worker's hard cap (built by hand: `AbortSignal.any` keeps weak
 * references and finalizers per call, a measurable cost). Every failure becomes a typed error:
 * refused or reset (`connection`), a non-2xx status (`httpError`, secrets redacted), no body.
 * Sent with node:http(s) and its keep-alive agents, not `fetch`: a streamed answer costs about
 * 0.1 ms less each (ADR 0002's addendum); the body is read from node:http's response directly.
 * @internal
 */
export async function openStream(
  worker: string,
  url: string,
  init: { readonly headers: Record<string, string>; readonly body: string },
  caller: AbortSignal,
  timeoutMs: number,
  secrets: readonly string[] = [],
): Promise<OpenStream> {
  const ctl = new AbortController();
  const signal = ctl.signal;
  if (caller.aborted) throw abortedError(worker, caller, caller);
  let req: ClientRequest | undefined;
  // The caller's cancel and the cap abort the signal and destroy the request themselves: one
  // listener (on the caller's signal), not a second that node:http would add on this one.
  const abort = (reason: unknown): void => {
    if (signal.aborted) return;
    ctl.abort(reason);
    req?.destroy(new Error('aborted', { cause: reason }));
  };
  const onAbort = (): void => abort(caller.reason);
  caller.addEventListener('abort', onAbort, { once: true });
  const cap = setTimeout(() => abort(new Error(`request exceeded ${timeoutMs} ms`)), timeoutMs);
  cap.unref();
  const cleanup = (): void => {
    clearTimeout(cap);
    caller.removeEventListener('abort', onAbort);
  };
  let res: IncomingMessage;
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      req = post(url, init, resolve);
      req.on('error', reject); // after the response, a failure reaches its body's reader instead
    });
  } catch (e) {
    cleanup();
    throw signal.aborted ? abortedError(worker, caller, signal) : connectionError(worker, e, 'connect');
  }
  const status = res.statusCode ?? 0;
  const headers = headerBag(res.headers);
  if (status < 200 || status > 299) {
    const text = await readAtMost(res as AsyncIterable<Uint8Array>, 4096);
    cleanup();
    throw httpError(worker, { status, headers }, text, secrets);
  }
  if (status === 204 || status === 205) {
    res.resume();
    cleanup();
    throw new WorkerError(worker, 'truncated', `HTTP ${status} with no body`);
  }
  return { body: bodyReader(res), signal, cleanup, headers };
}

/** Reads node:http's response through its own async iterator: no web stream in between (each of those costs per read). */
function bodyReader(res: IncomingMessage): BodyReader {
  const it = res[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return {
    read: () => it.next() as Promise<IteratorResult<Uint8Array, undefined>>,
    cancel: async () => void res.destroy(),
  };
}

/** Where a URL sends its requests: node:http(s)'s options for it. */
interface Target {
  readonly secure: boolean;
  readonly options: RequestOptions;
}

/** Targets by URL, parsed once each (a worker has a few URLs; parsing one cost each request a URL and its options). */
const targets = new Map<string, Target>();

const MAX_TARGETS = 256;

function targetOf(url: string): Target {
  let t = targets.get(url);
  if (t === undefined) {
    const u = new URL(url);
    t = { secure: u.protocol === 'https:', options: nodeUrl().urlToHttpOptions(u) };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/** Sends the POST; `onResponse` gets its response once the headers are in. */
function post(url: string, init: { readonly headers: Record<string, string>; readonly body: string }, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const { secure, options } = targetOf(url);
  // node:http and node:https are loaded on the first request (importing cortex does not pay for them).
  const req = (secure ? nodeHttps() : nodeHttp()).request({ ...options, method: 'POST', headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) } }, onResponse);
  req.end(init.body);
  return req;
}

/** Whether a model list offers `model`: a name without a tag means `:latest`, as Ollama reads it. @internal */
export function offersModel(names: readonly string[], model: string): boolean {
  return names.includes(model) || (!model.includes(':') && names.includes(`${model}:latest`));
}
