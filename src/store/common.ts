import { hostname } from 'node:os';
import { InvalidArgumentError } from '../errors/runtime.js';
import { checkFunction, checkObject } from '../runtime/checks.js';
import type { WorkerFingerprint } from './store.js';

/** Options every {@link SharedStore} takes. */
export interface StoreOptions {
  /**
   * How long a capacity lease lives without renewal, ms: the slots of an instance that dies
   * (kill -9) come back within it. Leases are renewed every third of it. Default 15000.
   */
  leaseMs?: number;
  /** Wall-clock time in ms, the same for every instance (default `Date.now`): rate windows and leases use it. */
  now?: () => number;
}

/** Default {@link StoreOptions.leaseMs}. */
export const DEFAULT_LEASE_MS = 15_000;

/** Checks {@link StoreOptions}. @internal */
export function checkLeaseOptions(o: StoreOptions): { leaseMs: number; now: () => number } {
  checkObject(o, 'store options');
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(Number.isInteger(leaseMs) && leaseMs >= 30)) throw new InvalidArgumentError('store.leaseMs', 'a whole number of ms >= 30', o.leaseMs);
  if (o.now !== undefined) checkFunction(o.now, 'store.now');
  return { leaseMs, now: o.now ?? Date.now };
}

/**
 * host-pid-random: unique per store instance, readable in Redis. Not a secret, so
 * `Math.random` (importing node:crypto would add ~14 ms to every cold start). @internal
 */
export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Names of the fields in which two fingerprints differ. @internal */
export function differingFields(a: WorkerFingerprint, b: WorkerFingerprint): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

/** A set of listeners that one throwing listener cannot break. @internal */
export class Listeners<E> {
  readonly #set = new Set<(e: E) => void>();

  add(listener: (e: E) => void): () => void {
    checkFunction(listener, 'listener');
    this.#set.add(listener);
    return () => void this.#set.delete(listener);
  }

  emit(e: E): void {
    for (const l of this.#set) {
      try {
        l(e);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

/**
 * Renews an instance's leases every third of the lease time while it holds any. Its timer
 * never keeps Node alive: the streams holding the leases do. @internal
 */
export class Heartbeat {
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly leaseMs: number,
    private readonly beat: () => Promise<unknown>,
  ) {}

  /** Starts beating, if not already. */
  ensure(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.beat().catch(() => undefined), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
