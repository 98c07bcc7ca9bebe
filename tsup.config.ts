import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing.ts', metrics: 'src/metrics.ts', tracing: 'src/tracing.ts', dashboard: 'src/dashboard.ts', gateway: 'src/gateway.ts', 'ai-sdk': 'src/ai-sdk.ts', langchain: 'src/langchain.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  // The published types hold no internals (`@internal` is stripped) and no dev-only packages.
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  // Maps without the sources in them (ADR 0009): stack traces name src/ files and lines, for a
  // bug report, at a fraction of the size.
  sourcemap: true,
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  target: 'node22',
  splitting: true,
  // import.meta.url in the CJS build (zod is loaded lazily with createRequire).
  shims: true,
});
