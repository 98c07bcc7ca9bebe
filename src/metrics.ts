/**
 * Prometheus metrics of a running cortex (needs `prom-client`): `import { collectMetrics } from 'cortex-otp/metrics'`.
 * @packageDocumentation
 */
export { collectMetrics, type CollectMetricsOptions, type CortexMetrics, type MetricsSource, type PromRegistry } from './metrics/metrics.js';
