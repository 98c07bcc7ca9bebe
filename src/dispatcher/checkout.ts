import { isActorExitedError, isCallAbortedError, isCallTimeoutError } from '../errors/runtime.js';
import { checkoutNow, reportOutcome, type PoolRef } from '../pool/pool.js';
import type { AttemptOutcome, Checkout, CheckoutRequest } from '../pool/types.js';

/* Reaching the pool from a request: a checkout that rides out the pool's restarts, and the report of how an attempt ended. */

/** How a dispatcher tells the pool now running (the one that lent a slot may have been rebuilt since) how an attempt ended. @internal */
export function reporterFor(findPool: () => PoolRef | undefined): (name: string, outcome: AttemptOutcome) => void {
  return (name, outcome) => {
    const pool = findPool();
    if (pool !== undefined) reportOutcome(pool, name, outcome);
  };
}

class PoolNotRunning extends Error {}

/**
 * Finds the pool and checks a worker out (@internal). While the pool restarts under its supervisor it is
 * briefly missing or exits under the call: that is retried a few times (about 0.25 s in all).
 */
export function checkoutWithRetry(
  findPool: () => PoolRef | undefined,
  req: CheckoutRequest,
  waitMs: number,
  signal: AbortSignal | undefined,
): { pool: PoolRef; checkout: Checkout } | Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
  // The usual case, without a promise turn: the pool is there and idle, and answers at once.
  const pool = findPool();
  if (pool !== undefined && !pool.exited) {
    try {
      const c = checkoutNow(pool, req, waitMs, signal);
      if (!(c instanceof Promise)) return { pool, checkout: c };
      return c.then(
        (checkout) => ({ pool, checkout }),
        (e: unknown) => retryCheckout(e, findPool, req, waitMs, signal),
      );
    } catch (e) {
      return retryCheckout(e, findPool, req, waitMs, signal);
    }
  }
  return retryCheckout(new PoolNotRunning(), findPool, req, waitMs, signal);
}

async function retryCheckout(
  error: unknown,
  findPool: () => PoolRef | undefined,
  req: CheckoutRequest,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<{ pool: PoolRef; checkout: Checkout } | undefined> {
  if (!(error instanceof PoolNotRunning || isActorExitedError(error))) throw error;
  const attempt = async (): Promise<{ pool: PoolRef; checkout: Checkout }> => {
    const pool = findPool();
    if (pool === undefined || pool.exited) throw new PoolNotRunning();
    return { pool, checkout: await checkoutNow(pool, req, waitMs, signal) };
  };
  // p-retry is loaded the first time a pool is found restarting, not when cortex is imported.
  const { default: pRetry } = await import('p-retry');
  try {
    return await pRetry(attempt, {
      retries: 8,
      minTimeout: 1,
      factor: 2,
      ...(signal ? { signal } : {}),
      shouldRetry: ({ error }) => error instanceof PoolNotRunning || isActorExitedError(error),
    });
  } catch (e) {
    if (isCallTimeoutError(e) || isCallAbortedError(e)) throw e;
    return undefined;
  }
}
