/*
 * What a backend's failure says, and what of it may be shown: the message, code and field of an
 * error body whatever its shape, a status as a WorkerError's kind, the rest a backend asks for in
 * its headers, a failed connection or read, and secrets redacted from all of it. The adapters and
 * the AI SDK bridge map their failures through these; http.ts sends the requests.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { WorkerError, type WorkerErrorKind } from '../errors/pool.js';
import { describe } from '../errors/runtime.js';
import { LineTooLongError } from './ndjson.js';

const MAX_BODY = 500;

/** A response's headers, read by name (a fetch `Headers` is one; so is {@link headerBag}'s view of node:http's). @internal */
export interface HeaderBag {
  get(name: string): string | null;
  has(name: string): boolean;
}

/** node:http's header object read as a {@link HeaderBag}, without copying it. @internal */
export function headerBag(h: IncomingHttpHeaders): HeaderBag {
  const get = (name: string): string | null => {
    const v = h[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  return { get, has: (name) => get(name) !== null };
}

/** Reads `retry-after-ms`, or `retry-after` in seconds or as an HTTP date, in ms. @internal */
export function retryAfterMs(headers: HeaderBag, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const v = headers.get('retry-after');
  if (v === null || v.trim() === '') return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The message inside an error body, whatever its shape: `{"error":"..."}` (Ollama),
 * `{"error":{"message":...}}` (OpenAI and most), `[{"error":{...}}]` (Gemini),
 * `{"object":"error","message":...}` (old vLLM), or plain text.
 * @internal
 */
export function errorMessage(body: string): string {
  return errorDetails(body).message;
}

/**
 * An error body's message, with the backend's own code and the field it names when it sent
 * them: OpenAI's `error.code` (else `error.type`) and `error.param`, Anthropic's `error.type`.
 * @internal
 */
export function errorDetails(body: string): { message: string; code?: string; param?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { message: body.trim() };
  }
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  const o = first as ({ error?: unknown; message?: unknown } & CodeFields) | null;
  if (o === null || typeof o !== 'object') return { message: body.trim() };
  if (typeof o.error === 'string') return { message: o.error };
  const e = o.error as ({ message?: unknown } & CodeFields) | null | undefined;
  if (e !== null && typeof e === 'object' && typeof e.message === 'string') return withCode(e.message, e);
  if (typeof o.message === 'string') return withCode(o.message, o);
  return { message: body.trim() };
}

interface CodeFields {
  code?: unknown;
  type?: unknown;
  param?: unknown;
}

function withCode(message: string, e: CodeFields): { message: string; code?: string; param?: string } {
  const code = nonEmpty(e.code) ?? (e.type === 'error' ? undefined : nonEmpty(e.type));
  const param = nonEmpty(e.param);
  return { message, ...(code !== undefined ? { code } : {}), ...(param !== undefined ? { param } : {}) };
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The shortest piece of a secret redacted where a text was cut through it (a shorter piece says nothing). */
const MIN_SECRET_PIECE = 4;

/**
 * Replaces every occurrence of each secret with `[redacted]`, and a piece of one where the text
 * was cut through it: a start that is a secret's end, an end that is a secret's start.
 * @internal
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < MIN_SECRET_PIECE) continue;
    out = redactEdges(out.split(s).join('[redacted]'), s);
  }
  return out;
}

function redactEdges(text: string, secret: string): string {
  let out = text;
  for (let n = Math.min(secret.length - 1, out.length); n >= MIN_SECRET_PIECE; n--) {
    if (out.endsWith(secret.slice(0, n))) {
      out = out.slice(0, out.length - n) + '[redacted]';
      break;
    }
  }
  for (let n = Math.min(secret.length - 1, out.length); n >= MIN_SECRET_PIECE; n--) {
    if (out.startsWith(secret.slice(secret.length - n))) {
      out = '[redacted]' + out.slice(n);
      break;
    }
  }
  return out;
}

/** A backend's text fit for an error: redacted first, then cut to `limit` characters. @internal */
export function clip(text: string, secrets: readonly string[], limit: number): string {
  const safe = redact(text, secrets);
  return safe.length > limit ? safe.slice(0, limit) : safe;
}

/** Maps a non-2xx response to a typed WorkerError (status, body, retry-after). @internal */
export function httpError(worker: string, res: { readonly status: number; readonly headers: HeaderBag }, body: string, secrets: readonly string[] = []): WorkerError {
  const details = errorDetails(body);
  const message = clip(details.message, secrets, MAX_BODY);
  const status = res.status;
  const lower = body.toLowerCase();
  let kind: WorkerErrorKind;
  if (status === 401 || status === 403) kind = 'auth';
  else if (status === 429) kind = /insufficient_quota|quota|credit_balance|billing/.test(lower) ? 'quota' : 'rate_limited';
  else if (status === 529) kind = 'rate_limited'; // Anthropic's "overloaded": rest the worker briefly; it is not down
  else if (status === 404) kind = 'model_not_found';
  else if (status === 400 || status === 422) kind = 'bad_request';
  else kind = 'http';
  // No retry-after on a 429: the rate-limit headers say when the budget comes back.
  const retry = retryAfterMs(res.headers) ?? (status === 429 ? rateLimitRest(res.headers)?.restMs : undefined);
  return new WorkerError(worker, kind, `HTTP ${status}${message ? `: ${message}` : ''}`, {
    status,
    body: message,
    ...(details.code !== undefined ? { backendCode: clip(details.code, secrets, 100) } : {}),
    ...(details.param !== undefined ? { param: clip(details.param, secrets, 200) } : {}),
    ...(retry !== undefined ? { retryAfterMs: retry } : {}),
  });
}

/** Maps a request or read failure (refused, reset, DNS, undici timeouts) to a WorkerError. @internal */
export function connectionError(worker: string, e: unknown, phase: 'connect' | 'read'): WorkerError {
  // fetch wraps the socket's error in `cause`; node:http gives it as is.
  const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
  const code = cause?.code ?? (e as { code?: unknown } | null)?.code;
  const what = phase === 'connect' ? 'could not connect' : 'connection lost mid-stream';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new WorkerError(worker, phase === 'connect' ? 'first_chunk_timeout' : 'idle_timeout', `${what} (${code})`, { cause: e });
  }
  return new WorkerError(worker, 'connection', `${what}${typeof code === 'string' && code !== '' ? ` (${code})` : `: ${describe(cause ?? e)}`}`, { cause: e });
}

/** The URL without credentials, for `info()` and messages. @internal */
export function publicEndpoint(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString().replace(/\/$/, '');
}

/** Why a request whose signal aborted ended: the caller's own reason, or the worker's hard cap. @internal */
export function abortedError(worker: string, caller: AbortSignal, signal: AbortSignal): unknown {
  if (caller.aborted) return caller.reason;
  return new WorkerError(worker, 'idle_timeout', "request exceeded the worker's timeout", { cause: signal.reason });
}

/**
 * Maps a failure while reading a stream to the error the pool gets: a WorkerError as is, an
 * oversized line or event as `protocol`, an abort as the caller's reason or the cap, anything
 * else as a lost connection. @internal
 */
export function readError(worker: string, unit: 'line' | 'event', caller: AbortSignal, signal: AbortSignal): (e: unknown) => unknown {
  return (e) => {
    if (e instanceof WorkerError) return e;
    if (e instanceof LineTooLongError) return new WorkerError(worker, 'protocol', `oversized ${unit}: ${e.message}`);
    if (signal.aborted) return abortedError(worker, caller, signal);
    return connectionError(worker, e, 'read');
  };
}

/** A connection failure as a health reason (without the `worker x:` prefix). @internal */
export function connectionReason(worker: string, e: unknown, signal: AbortSignal): string {
  return signal.aborted ? 'health check aborted' : connectionError(worker, e, 'connect').message.replace(`worker ${worker}: `, '');
}

/**
 * What OpenAI-compatible rate-limit headers say when a budget is spent: `x-ratelimit-remaining-
 * requests: 0` (or `-tokens: 0`) with its `x-ratelimit-reset-*` (`1s`, `6m0s`, `20ms`). Undefined
 * while there is room. @internal
 */
export function rateLimitRest(headers: HeaderBag): { restMs: number; reason: string } | undefined {
  let best: { restMs: number; reason: string } | undefined;
  for (const kind of ['requests', 'tokens'] as const) {
    if (headers.get(`x-ratelimit-remaining-${kind}`)?.trim() !== '0') continue;
    const restMs = parseDuration(headers.get(`x-ratelimit-reset-${kind}`)) ?? 1_000;
    if (best === undefined || restMs > best.restMs) best = { restMs, reason: `rate limit reached (x-ratelimit-remaining-${kind}: 0)` };
  }
  return best;
}

/** `6m0s`, `1.5s`, `20ms`, `1h2m` (Go-style, as OpenAI and Groq send) or plain seconds, in ms. @internal */
export function parseDuration(text: string | null): number | undefined {
  if (text === null) return undefined;
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.ceil(Number(t) * 1000);
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
  let total = 0;
  let rest = t;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|h|m|s)/.exec(rest);
    if (m === null) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return t === '' ? undefined : Math.ceil(total);
}
