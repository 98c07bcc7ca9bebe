import { checkInteger, checkObject } from '../runtime/checks.js';
import { InvalidArgumentError } from '../errors/runtime.js';

/**
 * Restart backoff (OTP has none; Akka's `BackoffSupervisor` does): the n-th consecutive
 * restart of a child waits `min(maxMs, initialMs * factor^n)`, less up to `jitter` of it at
 * random. The count resets once the child has stayed up for `resetAfterMs`.
 */
export interface BackoffOptions {
  /** Delay before the first restart, in ms. Default 100. */
  initialMs?: number;
  /** Upper bound of the delay, in ms. Default 30 000. */
  maxMs?: number;
  /** Growth per consecutive restart. Default 2. */
  factor?: number;
  /** Fraction (0..1) of the delay removed at random. Default 0.2. */
  jitter?: number;
  /** A child up for this long (ms) has its restart count reset. Default 30 000. */
  resetAfterMs?: number;
  /** Random source in [0, 1) for the jitter; inject for determinism. Default `Math.random`. */
  random?: () => number;
}

/** Backoff options with every default filled in. @internal */
export type ResolvedBackoff = Required<BackoffOptions>;

/** Validates and fills in defaults. @internal */
export function resolveBackoff(o: BackoffOptions): ResolvedBackoff {
  checkObject(o, 'backoff');
  const r: ResolvedBackoff = {
    initialMs: o.initialMs ?? 100,
    maxMs: o.maxMs ?? 30_000,
    factor: o.factor ?? 2,
    jitter: o.jitter ?? 0.2,
    resetAfterMs: o.resetAfterMs ?? 30_000,
    random: o.random ?? Math.random,
  };
  for (const k of ['initialMs', 'maxMs', 'resetAfterMs'] as const) {
    if (!(r[k] >= 0) || !Number.isFinite(r[k])) throw new InvalidArgumentError(`backoff.${k}`, 'a finite number >= 0 (ms)', r[k]);
  }
  if (!(r.factor >= 1)) throw new InvalidArgumentError('backoff.factor', 'a number >= 1', r.factor);
  if (!(r.jitter >= 0 && r.jitter <= 1)) throw new InvalidArgumentError('backoff.jitter', 'a number between 0 and 1', r.jitter);
  return r;
}

/**
 * Delay before restart number `attempt` (0-based) under `options` (defaults filled in). Pure
 * apart from `options.random`.
 * @throws InvalidArgumentError for a bad option.
 */
export function backoffDelay(options: BackoffOptions, attempt: number): number {
  checkInteger(attempt, 'attempt');
  return delayOf(resolveBackoff(options), attempt);
}

/** {@link backoffDelay} with the options already resolved (the supervisor's hot path). @internal */
export function delayOf(b: ResolvedBackoff, attempt: number): number {
  const base = Math.min(b.maxMs, b.initialMs * b.factor ** attempt);
  return Math.round(base * (1 - b.jitter * b.random()));
}
