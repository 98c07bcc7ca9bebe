/**
 * The shape of the code: every folder reads top-down, with no import cycle (types and errors that
 * two modules share live below both). madge reads the imports as TypeScript resolves them.
 */
import madge from 'madge';
import { describe, expect, it } from 'vitest';

describe('the shape of the code', () => {
  it('has no import cycle in src/', async () => {
    const graph = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
    expect(graph.circular()).toEqual([]);
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(100); // it did read the tree
  }, 30_000);
});
