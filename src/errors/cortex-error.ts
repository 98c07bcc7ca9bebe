const BRAND: unique symbol = Symbol.for('cortex-otp.error') as never;

/**
 * Base class of every error cortex throws. `code` is a stable, machine-readable brand:
 * guards such as {@link isCortexError} check it instead of `instanceof`, so they work
 * across two copies of the package.
 */
export class CortexError extends Error {
  /** Stable identifier of the failure kind, e.g. `'call_timeout'`. */
  readonly code: string;
  /** Brand checked by the `isXxxError` guards. */
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}


/** True when `e` is any error thrown by cortex (checks the brand, not `instanceof`). */
export function isCortexError(e: unknown): e is CortexError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Builds a guard that recognises a cortex error by its `code`. @internal */
export function guardFor<T extends CortexError>(code: string): (e: unknown) => e is T {
  return (e: unknown): e is T => isCortexError(e) && e.code === code;
}
