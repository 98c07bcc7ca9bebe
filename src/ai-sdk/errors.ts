import {
  isInvalidRequestError,
  isNoWorkersAvailableError,
  isQueueFullError,
  isQueueTimeoutError,
  isValidationError,
} from '../errors/pool.js';
import type { AiSdkProvider } from './peer.js';

/**
 * A cortex error as the AI SDK's own `APICallError`, so that its retry logic does the right
 * thing: a caller's mistake (`InvalidRequestError`, `ValidationError`) is not retryable; a full
 * queue, a wait that ran out, or no worker able to answer now is, with the wait in `retry-after`
 * when cortex knows it. Anything else (an abort, a deadline, a shutdown, a broken stream) is
 * passed on as it is: the AI SDK does not retry what is not an `APICallError`, and cortex has
 * already failed over. @internal
 */
export function toAiSdkError(p: AiSdkProvider, e: unknown, modelId: string | undefined, body: unknown): unknown {
  const url = `cortex://${modelId ?? 'pool'}`;
  const call = (statusCode: number, message: string, isRetryable: boolean, retryAfterS?: number, data?: unknown): Error =>
    new p.APICallError({
      message,
      url,
      requestBodyValues: body,
      statusCode,
      isRetryable,
      cause: e,
      ...(retryAfterS !== undefined ? { responseHeaders: { 'retry-after': String(retryAfterS) } } : {}),
      ...(data !== undefined ? { data } : {}),
    });
  if (isInvalidRequestError(e)) return call(e.status, e.backendMessage, false, undefined, { code: e.backendCode, param: e.param, worker: e.worker });
  if (isValidationError(e)) return call(400, e.message, false, undefined, { issues: e.issues });
  if (isQueueFullError(e) || isQueueTimeoutError(e)) return call(429, e.message, true, 1);
  if (isNoWorkersAvailableError(e)) {
    const s = e.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(e.retryAfterMs / 1000));
    return call(s === undefined ? 503 : 429, e.message, true, s);
  }
  return e;
}
