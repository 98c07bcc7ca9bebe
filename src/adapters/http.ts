import { WorkerError, type WorkerErrorKind } from '../errors/pool.js';
import { describe } from '../errors/runtime.js';

const MAX_BODY = 500;

/** Reads `retry-after-ms`, or `retry-after` in seconds or as an HTTP date, in ms. @internal */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim();
  }
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  const o = first as { error?: unknown; message?: unknown } | null;
  if (o && typeof o === 'object') {
    if (typeof o.error === 'string') return o.error;
    if (o.error && typeof o.error === 'object' && typeof (o.error as { message?: unknown }).message === 'string') {
      return (o.error as { message: string }).message;
    }
    if (typeof o.message === 'string') return o.message;
  }
  return body.trim();
}

/** Replaces every occurrence of each secret with `[redacted]`. @internal */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** Reads at most `limit` characters of a body, then releases it. @internal */
export async function readSome(res: Response, limit = 4096): Promise<string> {
  try {
    const text = await res.text();
    return text.length > limit ? text.slice(0, limit) : text;
  } catch {
    return '';
  }
}

/** Maps a non-2xx response to a typed WorkerError (status, body, retry-after). @internal */
export function httpError(worker: string, res: Response, body: string, secrets: readonly string[] = []): WorkerError {
  const message = redact(errorMessage(body), secrets).slice(0, MAX_BODY);
  const status = res.status;
  const lower = body.toLowerCase();
  let kind: WorkerErrorKind;
  if (status === 401 || status === 403) kind = 'auth';
  else if (status === 429) kind = /insufficient_quota|quota|credit_balance|billing/.test(lower) ? 'quota' : 'rate_limited';
  else if (status === 404) kind = 'model_not_found';
  else if (status === 400 || status === 422) kind = 'bad_request';
  else kind = 'http';
  const retry = retryAfterMs(res.headers);
  return new WorkerError(worker, kind, `HTTP ${status}${message ? `: ${message}` : ''}`, {
    status,
    body: message,
    ...(retry !== undefined ? { retryAfterMs: retry } : {}),
  });
}

/** Maps a fetch or read failure (refused, reset, DNS, undici timeouts) to a WorkerError. @internal */
export function connectionError(worker: string, e: unknown, phase: 'connect' | 'read'): WorkerError {
  const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
  const code = cause?.code;
  const what = phase === 'connect' ? 'could not connect' : 'connection lost mid-stream';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new WorkerError(worker, phase === 'connect' ? 'first_chunk_timeout' : 'idle_timeout', `${what} (${code})`, { cause: e });
  }
  return new WorkerError(worker, 'connection', `${what}${code ? ` (${code})` : `: ${describe(cause ?? e)}`}`, { cause: e });
}

/** The URL without credentials, for `info()` and messages. @internal */
export function publicEndpoint(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString().replace(/\/$/, '');
}

/**
 * After the final line or event: read the end of the body (servers send it right after) so the
 * connection is free for the next request; a server that keeps the socket open after done,
 * or sends more, is cut off after a short grace period instead of being waited for.
 * @internal
 */
export async function finishBody(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
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
