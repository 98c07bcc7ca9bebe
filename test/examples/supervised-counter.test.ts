import { describe, expect, it } from 'vitest';
import { main } from '../../examples/supervised-counter.js';

describe('examples/supervised-counter.ts (the README example)', () => {
  it('crashes the counter and gets it back, restarted with its initial state', async () => {
    const lines: string[] = [];
    await main((l) => lines.push(l));
    expect(lines).toEqual(['counter is 15', 'restarted: true, counter is 10', 'children: counter running']);
  });
});
