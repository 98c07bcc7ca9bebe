import {
  isInvalidRequestError,
  isNoWorkersAvailableError,
  isQueueFullError,
  isQueueTimeoutError,
  isShutdownError,
  isStreamInterruptedError,
  isValidationError,
  isDeadlineExceededError,
} from '../errors/pool.js';
import type { ServerResponse } from 'node:http';

/** Which API a path speaks, for the shape of its errors. @internal */
export type Api = 'openai' | 'ollama' | 'anthropic';

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

/** A cortex error as the status a client of either API understands. @internal */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (isValidationError(e)) return new GatewayError(400, e.message, e.issues[0]?.path ?? null);
  if (isInvalidRequestError(e)) {
    const status = e.status === 422 ? 422 : 400;
    return new GatewayError(status, e.backendMessage, e.param ?? null, 'invalid_request_error', undefined, e.backendCode ?? 'invalid_request');
  }
  if (isQueueFullError(e)) return new GatewayError(429, 'every worker is busy and the queue is full; retry later', null, 'rate_limit_error', 1);
  if (isQueueTimeoutError(e)) return new GatewayError(429, 'waited too long for a worker; retry later', null, 'rate_limit_error', 1);
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

/** An error in the API's own shape (see {@link errorBody}), with its status and `retry-after`. @internal */
export function sendError(res: ServerResponse, api: Api, e: GatewayError, headers: Record<string, string> = {}): void {
  const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
  if (e.retryAfterS !== undefined) all['retry-after'] = String(e.retryAfterS);
  res.writeHead(e.status, all);
  res.end(JSON.stringify(errorBody(api, e)));
}

/** OpenAI's `{ error: { message, type, param, code } }`, Anthropic's `{ type: 'error', error: { type, message } }`, Ollama's `{ error }`. */
function errorBody(api: Api, e: GatewayError): object {
  switch (api) {
    case 'openai':
      return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
    case 'anthropic':
      return { type: 'error', error: { type: e.type === 'service_unavailable_error' ? 'overloaded_error' : e.type, message: e.message } };
    case 'ollama':
      return { error: e.message };
  }
}
