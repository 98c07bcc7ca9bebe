import { onFirstUse } from './lazy-require.js';
import type * as Zod from 'zod';

/** zod's `z`. */
type Z = typeof Zod.z;

const zodModule = onFirstUse<typeof Zod>('zod');

/**
 * zod, loaded on first use: importing cortex does not pay for it (most of a cold start was
 * zod's), the first validation does, once. Loaded with `require` so it stays synchronous.
 * @internal
 */
export function zod(): Z {
  return zodModule().z;
}

/** A value (a schema) built on first use, then kept. @internal */
export function lazy<T>(make: (z: Z) => T): () => T {
  let value: T | undefined;
  return () => (value ??= make(zod()));
}

/**
 * A public schema object built on first use: reading any property builds it and reads the real
 * schema's (methods bound to it), so `schema.parse(x)` works as on the schema itself. @internal
 */
export function lazySchema<T extends object>(make: (z: Z) => T): T {
  const real = lazy(make);
  return new Proxy({} as T, {
    get(_t, key) {
      const target = real();
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
    has: (_t, key) => Reflect.has(real(), key),
    getPrototypeOf: () => Object.getPrototypeOf(real()) as object | null,
  });
}
