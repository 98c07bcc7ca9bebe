/**
 * OpenTelemetry spans for every request (with `@opentelemetry/api`; a no-op without it):
 * `import { traceRequests } from 'cortex-otp/tracing'`.
 * @packageDocumentation
 */
export { traceRequests, type TraceRequestsOptions, type RequestTracing, type TraceSource, type OtelTracer } from './tracing/tracing.js';
