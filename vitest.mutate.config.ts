import { defineConfig } from 'vitest/config';

/** The tests mutation testing runs: behaviour tests of the core, the request layer's (dispatcher, store, gateway), without the slow end-to-end, CLI and docs suites. */
export default defineConfig({
  test: {
    include: ['test/runtime/**/*.test.ts', 'test/supervisor/**/*.test.ts', 'test/pool/**/*.test.ts', 'test/properties/**/*.test.ts', 'test/adapters/**/*.test.ts', 'test/faults/scenarios.test.ts', 'test/faults/chaos.test.ts', 'test/dispatcher/**/*.test.ts', 'test/store/contract.test.ts', 'test/store/common-unit.test.ts', 'test/store/memory-unit.test.ts', 'test/store/shared-pool.test.ts', 'test/store/stuck-redis.test.ts', 'test/gateway/**/*.test.ts', 'test/faults/bad-input.test.ts', 'test/faults/secrets.test.ts', 'test/metrics/**/*.test.ts', 'test/tracing/**/*.test.ts', 'test/config/**/*.test.ts', 'test/examples/llm-router.test.ts'],
    exclude: ['test/gateway/cli-and-readme.test.ts'],
    testTimeout: 10_000,
    pool: 'threads',
  },
});
