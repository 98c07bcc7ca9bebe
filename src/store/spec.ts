import { InvalidArgumentError } from '../errors/runtime.js';
import { RedisStore, StoreUnavailableError, type RedisStoreOptions } from './redis.js';
import type { SharedStore } from './store.js';

/**
 * Where `startWorkers` keeps the state its instances share: `'memory'` (the default: this
 * instance alone, nothing to install), `{ kind: 'redis', url?, prefix? }` (every instance with
 * the same prefix; needs `ioredis`), or a store object you made (a `MemoryStore` shared by
 * several trees of one process, or a `RedisStore` you configure yourself and close yourself).
 */
export type StoreSpec = 'memory' | RedisStoreSpec | SharedStore;

/** The Redis store, as a spec (in code or in a config file's `store`). */
export interface RedisStoreSpec extends Omit<RedisStoreOptions, 'now'> {
  readonly kind: 'redis';
  /**
   * `true`: `startWorkers` rejects with a `StoreUnavailableError` (its `trouble` says why) when
   * Redis is not usable at start, instead of starting degraded with per-instance limits. For
   * deployments where a limit held per instance is not acceptable. Default false.
   */
  readonly required?: boolean;
}

/**
 * Opens the store a spec names: none for `'memory'`, a connected `RedisStore` (or a degraded
 * one, if Redis does not answer in time: requests are served all the same), or the object given.
 * `owned`: made here, so closed with the tree. @internal
 */
export async function openStore(spec: StoreSpec | undefined): Promise<{ store: SharedStore | undefined; owned: boolean }> {
  if (spec === undefined || spec === 'memory') return { store: undefined, owned: false };
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('store', "'memory', { kind: 'redis', url? } or a SharedStore", spec);
  if ('kind' in spec && spec.kind === 'redis' && !('admit' in spec)) {
    const { kind: _kind, required, ...options } = spec;
    const store = new RedisStore(options);
    const ok = await store.ready(Math.max(1000, options.timeoutMs ?? 0));
    if (!ok && required === true) {
      const t = store.trouble;
      await store.close();
      throw new StoreUnavailableError(`${t?.reason ?? `no connection to ${store.server}`} (the store is required: not starting with limits held per instance)`, t?.code);
    }
    return { store, owned: true };
  }
  if (typeof (spec as SharedStore).admit !== 'function') throw new InvalidArgumentError('store', "'memory', { kind: 'redis', url? } or a SharedStore", spec);
  await (spec as SharedStore).ready();
  return { store: spec as SharedStore, owned: false };
}
