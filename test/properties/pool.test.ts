import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startWorkers, type StrategyName } from '../../src/index.js';
import { MockWorker } from '../../src/testing.js';

describe('pool properties', () => {
  it('never picks an unhealthy or open-circuit worker while a healthy one exists', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<StrategyName>('local_first', 'round_robin', 'least_loaded'),
        fc.array(fc.record({ healthy: fc.boolean(), broken: fc.boolean(), priority: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 6 }),
        async (strategy, specs) => {
          const workers = specs.map(
            (s, i) =>
              new MockWorker({
                name: `w${i}`,
                priority: s.priority,
                health: s.healthy ? { status: 'available' } : { status: 'unavailable', reason: 'down' },
                failOnStart: s.broken ? 1 : false,
              }),
          );
          const cortex = await startWorkers({ workers, strategy, healthIntervalMs: 0, failureThreshold: 1, circuitResetMs: 1e9 });
          try {
            await cortex.dispatcher.checkHealth();
            // One round to trip the circuits of the broken ones (each fails once, then works: the circuit stays open).
            for (let i = 0; i < specs.length; i++) await cortex.dispatcher.complete([{ role: 'user', content: 'x' }]).catch(() => undefined);
            const status = await cortex.dispatcher.status();
            const good = new Set(status.workers.filter((w) => w.health !== 'unavailable' && w.circuit === 'closed').map((w) => w.name));
            for (let i = 0; i < 8; i++) {
              const r = await cortex.dispatcher.complete([{ role: 'user', content: 'x' }]).catch((e: Error) => e);
              if (good.size > 0) {
                expect(r).not.toBeInstanceOf(Error);
                expect(good.has((r as { workers: readonly string[] }).workers[0]!)).toBe(true);
              }
            }
          } finally {
            await cortex.stop();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
