import { createRequire } from 'node:module';

/*
 * node:http and friends, loaded on first use with `require`. An ESM `import` of node:http builds
 * its whole module namespace, which costs about 25 ms at start in Node 24 (measured: `import`
 * 30 ms, `require` 3.7 ms in a fresh process); every entry point that serves or sends HTTP paid
 * it at import. Loaded with `require`, they pay a few ms, and only when they first use it.
 */

const load = createRequire(import.meta.url);

/** node:http. @internal */
export function nodeHttp(): typeof import('node:http') {
  return load('node:http') as typeof import('node:http');
}

/** node:https. @internal */
export function nodeHttps(): typeof import('node:https') {
  return load('node:https') as typeof import('node:https');
}

/** node:stream. @internal */
export function nodeStream(): typeof import('node:stream') {
  return load('node:stream') as typeof import('node:stream');
}
