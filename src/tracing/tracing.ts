import { peer } from '../lazy-require.js';
import type { InspectionEvent } from '../events.js';
import { checkObject } from '../runtime/checks.js';
import type { Disposable } from '../runtime/inspection.js';
import { checkSystem, type ActorSystem } from '../runtime/system.js';

type Api = typeof import('@opentelemetry/api');
type Span = import('@opentelemetry/api').Span;
type Attributes = Record<string, string | number>;

/** What {@link traceRequests} follows: a `startWorkers` handle, or anything with its `system`. */
export interface TraceSource {
  readonly system: ActorSystem;
}

/** An OpenTelemetry `Tracer`, as far as cortex uses it (typed here so cortex's types never need `@opentelemetry/api`'s). */
export interface OtelTracer {
  /** Starts a span (OpenTelemetry's `Tracer.startSpan`). */
  startSpan(name: string, options?: object, context?: unknown): unknown;
}

/** Options of {@link traceRequests}. */
export interface TraceRequestsOptions {
  /** The tracer to use. Default: `trace.getTracer('cortex-otp')` from the global tracer provider. */
  tracer?: OtelTracer;
}

/** What {@link traceRequests} returns: `enabled` is false when `@opentelemetry/api` is not installed (then it does nothing). */
export interface RequestTracing extends Disposable {
  /** False when `@opentelemetry/api` is not installed: then nothing is traced. */
  readonly enabled: boolean;
  /** The trace id of a request in flight (by its `requestId`, as in the pool's events), until it ends; `undefined` otherwise. The dashboard's request log shows it. */
  traceIdOf(requestId: number): string | undefined;
}

const otelApi = peer<Api>('@opentelemetry/api', 'tracing');
let api: Api | null | undefined;
/** `@opentelemetry/api`, or null when it is not installed (then nothing is traced). */
function loadApi(): Api | null {
  if (api !== undefined) return api;
  try {
    return (api = otelApi());
  } catch {
    return (api = null);
  }
}

/** One request's spans. */
interface Trace {
  readonly request: Span;
  /** Attempts in flight, by worker (two while a hedge races its primary). */
  readonly attempts: Map<string, Span>;
  named: boolean;
}

/**
 * OpenTelemetry spans for every request, through `@opentelemetry/api` (an optional peer; without
 * it this does nothing and says so with `enabled: false`). One span per request, `chat {model}`
 * (kind CLIENT, the GenAI attributes: operation, provider, request and response model, token
 * usage, time to first chunk, `error.type`), a child span per attempt on a worker, failovers and
 * continuations as span events; the caller's active context is the parent. Message contents are
 * never recorded. Built on the system's events: `dispose()` stops it.
 * @throws InvalidArgumentError for a bad source or options.
 */
export function traceRequests(source: TraceSource, options: TraceRequestsOptions = {}): RequestTracing {
  checkObject(source, 'source');
  checkSystem(source.system, 'source.system');
  checkObject(options, 'options');
  const otel = loadApi();
  if (otel === null) return { enabled: false, traceIdOf: () => undefined, dispose: () => undefined };
  const tracer = (options.tracer ?? otel.trace.getTracer('cortex-otp')) as import('@opentelemetry/api').Tracer;
  const traces = new Map<number, Trace>();
  const sub = source.system.inspect((e) => follow(otel, tracer, traces, e));
  return {
    enabled: true,
    traceIdOf: (requestId) => traces.get(requestId)?.request.spanContext().traceId,
    dispose() {
      sub.dispose();
      for (const t of traces.values()) {
        for (const s of t.attempts.values()) s.end();
        t.request.end();
      }
      traces.clear();
    },
  };
}

/** Moves a request's spans along with its events. */
function follow(otel: Api, tracer: import('@opentelemetry/api').Tracer, traces: Map<number, Trace>, e: InspectionEvent): void {
  switch (e.type) {
    case 'pool.request_started': {
      // Attributes are written into one object, not spread from small ones: this runs for every request.
      const attributes: Attributes = { 'gen_ai.operation.name': 'chat' };
      if (e.model !== undefined) attributes['gen_ai.request.model'] = e.model;
      const request = tracer.startSpan(e.model !== undefined ? `chat ${e.model}` : 'chat', { kind: otel.SpanKind.CLIENT, attributes }, otel.context.active());
      traces.set(e.requestId, { request, attempts: new Map(), named: e.model !== undefined });
      return;
    }
    case 'pool.dispatch':
      return attemptStarted(otel, tracer, traces.get(e.requestId), e);
    case 'pool.attempt_failed': {
      const t = traces.get(e.requestId);
      const span = t?.attempts.get(e.worker);
      if (span === undefined) return;
      span.setAttribute('error.type', e.phase);
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: e.reason });
      span.end();
      t!.attempts.delete(e.worker);
      return;
    }
    case 'pool.hedge_started':
      traces.get(e.requestId)?.request.addEvent('cortex.hedge', { 'cortex.worker': e.worker, 'cortex.hedge': e.hedge, 'cortex.after_ms': e.afterMs });
      return;
    case 'pool.hedge_settled': {
      const t = traces.get(e.requestId);
      for (const [worker, span] of t?.attempts ?? []) {
        if (worker === e.winner) continue;
        span.setAttribute('cortex.hedge.lost', true); // aborted: the other worker answered first
        span.end();
        t!.attempts.delete(worker);
      }
      return;
    }
    case 'pool.failover':
      traces.get(e.requestId)?.request.addEvent(e.deliveredChars > 0 ? 'cortex.continuation' : 'cortex.failover', { 'cortex.worker': e.from, 'cortex.delivered_chars': e.deliveredChars });
      return;
    case 'pool.stream_finished':
      return finished(otel, traces, e);
    default:
      return;
  }
}

function attemptStarted(otel: Api, tracer: import('@opentelemetry/api').Tracer, t: Trace | undefined, e: Extract<InspectionEvent, { type: 'pool.dispatch' }>): void {
  if (t === undefined) return;
  if (!t.named && e.model !== undefined) {
    t.request.updateName(`chat ${e.model}`);
    t.named = true;
  }
  t.request.setAttribute('gen_ai.provider.name', e.kind);
  if (e.model !== undefined) t.request.setAttribute('gen_ai.request.model', e.model);
  t.attempts.get(e.worker)?.end();
  const attributes: Attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': e.kind };
  if (e.model !== undefined) attributes['gen_ai.request.model'] = e.model;
  attributes['cortex.worker'] = e.worker;
  attributes['cortex.attempt'] = e.attempt;
  attributes['cortex.segment'] = e.segment;
  attributes['cortex.queued_ms'] = e.queuedMs;
  t.attempts.set(e.worker, tracer.startSpan(`attempt ${e.worker}`, { kind: otel.SpanKind.CLIENT, attributes }, otel.trace.setSpan(otel.context.active(), t.request)));
}

function finished(otel: Api, traces: Map<number, Trace>, e: Extract<InspectionEvent, { type: 'pool.stream_finished' }>): void {
  const t = traces.get(e.requestId);
  if (t === undefined) return;
  traces.delete(e.requestId);
  const ok = e.outcome === 'complete';
  for (const span of t.attempts.values()) {
    if (!ok) span.setStatus({ code: otel.SpanStatusCode.ERROR, message: e.outcome });
    span.end();
  }
  const span = t.request;
  const u = e.usage;
  const attributes: Attributes = { 'cortex.chunks': e.chunks };
  if (e.model !== undefined) attributes['gen_ai.response.model'] = e.model;
  if (e.worker !== undefined) attributes['cortex.worker'] = e.worker;
  if (e.firstChunkMs !== undefined) attributes['gen_ai.response.time_to_first_chunk'] = e.firstChunkMs / 1000;
  if (u?.promptTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = u.promptTokens;
  if (u?.completionTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = u.completionTokens;
  if (!ok) attributes['error.type'] = e.outcome;
  span.setAttributes(attributes);
  if (!ok) span.setStatus({ code: otel.SpanStatusCode.ERROR, message: e.outcome });
  span.end();
}
