import type { Health, LlmWorker } from '../behaviour/types.js';
import { describe } from '../errors/runtime.js';
import type { Clock } from '../runtime/clock.js';

/** The result of one worker's health check. */
export interface HealthReport {
  readonly worker: string;
  readonly health: Health;
  /** How long the check took, ms. */
  readonly ms: number;
}

/**
 * Checks every worker in parallel, each bounded by `timeoutMs`: a check that hangs is
 * reported `unavailable` at the timeout and its signal aborted; `signal` aborts them all (the
 * pool stopping). Never rejects.
 * @internal
 */
export function runHealthChecks(
  workers: ReadonlyArray<{ readonly name: string; readonly worker: LlmWorker }>,
  timeoutMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<HealthReport[]> {
  return Promise.all(workers.map((w) => checkOne(w.name, w.worker, timeoutMs, clock, signal)));
}

async function checkOne(name: string, worker: LlmWorker, timeoutMs: number, clock: Clock, signal: AbortSignal | undefined): Promise<HealthReport> {
  const started = clock.now();
  const ac = new AbortController();
  const stop = (): void => ac.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  let timer: unknown;
  const timedOut = new Promise<Health>((resolve) => {
    timer = clock.setTimeout(() => {
      resolve({ status: 'unavailable', reason: `health check timed out after ${timeoutMs} ms` });
      ac.abort(new Error('health check timed out'));
    }, timeoutMs);
  });
  let health: Health;
  try {
    health = normalise(await Promise.race([Promise.resolve().then(() => worker.healthCheck(ac.signal)), timedOut]));
  } catch (e) {
    health = { status: 'unavailable', reason: `health check failed: ${describe(e)}` };
  } finally {
    clock.clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
  return { worker: name, health, ms: clock.now() - started };
}

function normalise(h: unknown): Health {
  const s = (h as { status?: unknown } | null)?.status;
  if (s === 'available') return { status: 'available' };
  if (s === 'busy' || s === 'unavailable') {
    const reason = (h as { reason?: unknown }).reason;
    return { status: s, reason: typeof reason === 'string' && reason !== '' ? reason : s };
  }
  return { status: 'unavailable', reason: 'health check returned an invalid result' };
}
