/**
 * The built package (what users run: `npm run bench` builds it first), typed by the sources so
 * that the benchmarks typecheck on a fresh clone before any build.
 */
export const lib = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof import('../src/index.js');
export const testing = (await import(new URL('../dist/testing.js', import.meta.url).href)) as typeof import('../src/testing.js');
