import { defineConfig } from 'vitest/config';

/** The tests mutation testing runs: behaviour tests of the core, without the slow end-to-end and docs suites. */
export default defineConfig({
  test: {
    include: ['test/runtime/**/*.test.ts', 'test/supervisor/**/*.test.ts', 'test/pool/**/*.test.ts', 'test/properties/**/*.test.ts', 'test/adapters/**/*.test.ts', 'test/faults/scenarios.test.ts', 'test/faults/chaos.test.ts', 'test/dispatcher/**/*.test.ts'],
    testTimeout: 10_000,
    pool: 'threads',
  },
});
