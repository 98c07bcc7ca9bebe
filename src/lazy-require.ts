import { createRequire } from 'node:module';
import { MissingPeerError } from './errors/runtime.js';

const load = createRequire(import.meta.url);

/**
 * A module loaded with `require` the first time it is used, then kept: importing cortex does not
 * pay for what only some paths need (zod, opossum, eventsource-parser, lru-cache, node:http).
 * Synchronous, so the first use needs no `await`; an ES module is loaded by `require` too
 * (Node >= 22.12). @internal
 */
export function onFirstUse<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(id) as T);
}

/**
 * An optional peer dependency (ioredis, prom-client, `@opentelemetry/api`, `@ai-sdk/provider`),
 * loaded on first use, then kept. `feature` names what needs it.
 * @throws MissingPeerError (the load's own error as its `cause`) when it cannot be loaded.
 * @internal
 */
export function peer<T>(id: string, feature: string): () => T {
  const get = onFirstUse<T>(id);
  return () => {
    try {
      return get();
    } catch (e) {
      throw new MissingPeerError(id, feature, e);
    }
  };
}

/*
 * node:http and node:https through `require`: an ESM `import` of node:http builds its whole module
 * namespace, which costs about 25 ms at start in Node 24 (measured: `import` 30 ms, `require`
 * 3.7 ms in a fresh process); every entry point that serves or sends HTTP paid it at import.
 */

/** node:http, on first use. @internal */
export const nodeHttp = onFirstUse<typeof import('node:http')>('node:http');

/** node:https, on first use. @internal */
export const nodeHttps = onFirstUse<typeof import('node:https')>('node:https');

/** node:url (its `urlToHttpOptions`), on first use. @internal */
export const nodeUrl = onFirstUse<typeof import('node:url')>('node:url');
