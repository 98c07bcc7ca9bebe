import { createRequire } from 'node:module';

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
