import { InvalidArgumentError } from '../errors/runtime.js';

/**
 * Argument checks at the public boundary: each throws `InvalidArgumentError` naming the field,
 * what was expected and what was received.
 * @internal
 */

/** A plain options object (or undefined, when `optional`). */
export function checkObject(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(field, 'an object', value);
}

/** A function. */
export function checkFunction(value: unknown, field: string): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(field, 'a function', value);
}

/** A duration in ms: finite and >= 0 (or `Infinity` when allowed). */
export function checkMs(value: unknown, field: string, infinityAllowed = false): void {
  const ok = typeof value === 'number' && value >= 0 && (Number.isFinite(value) || (infinityAllowed && value === Infinity));
  if (!ok) throw new InvalidArgumentError(field, infinityAllowed ? 'a number >= 0 (ms) or Infinity' : 'a finite number >= 0 (ms)', value);
}

/** An integer >= `min`. */
export function checkInteger(value: unknown, field: string, min = 0): void {
  if (!(Number.isInteger(value) && (value as number) >= min)) throw new InvalidArgumentError(field, `an integer >= ${min}`, value);
}
