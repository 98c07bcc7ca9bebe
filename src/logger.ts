import type { InspectionEvent } from './events.js';
import { formatReason } from './runtime/exit-reason.js';
import type { Disposable } from './runtime/inspection.js';
import type { ActorRef } from './runtime/types.js';
import { checkSystem, type ActorSystem } from './runtime/system.js';
import { checkFunction, checkObject } from './runtime/checks.js';

const who = (a: ActorRef): string => a.name ?? `#${a.id}`;

/** One line describing an event, as the default logger prints it. */
export function formatEvent(e: InspectionEvent): string {
  switch (e.type) {
    case 'actor.spawned':
      return `actor ${who(e.actor)} spawned`;
    case 'actor.exited':
      return `actor ${who(e.actor)} exited: ${formatReason(e.reason)}`;
    case 'actor.terminate_failed':
      return `actor ${who(e.actor)} terminate failed: ${String(e.error)}`;
    case 'supervisor.child_started':
      return `supervisor ${who(e.supervisor)} started ${e.id}`;
    case 'supervisor.child_start_failed':
      return `supervisor ${who(e.supervisor)} failed to start ${e.id}: ${e.error.message}`;
    case 'supervisor.child_exited':
      return `supervisor ${who(e.supervisor)}: child ${e.id} exited (${formatReason(e.reason)})`;
    case 'supervisor.child_restarting':
      return `supervisor ${who(e.supervisor)} restarting ${e.id}${e.delayMs > 0 ? ` in ${e.delayMs} ms` : ''}`;
    case 'supervisor.child_shutdown_timeout':
      return `supervisor ${who(e.supervisor)}: ${e.id} did not stop within ${e.timeoutMs} ms, abandoned`;
    case 'supervisor.intensity_exceeded':
      return `supervisor ${who(e.supervisor)}: more than ${e.maxRestarts} restarts in ${e.maxSeconds} s (last ${e.id}), giving up`;
    case 'supervisor.shutdown':
      return `supervisor ${who(e.supervisor)} shut down (${formatReason(e.reason)})`;
    case 'pool.request_started':
      return `request ${e.requestId}: started${e.model ? ` (model ${e.model})` : ''}, ${e.messages} messages`;
    case 'pool.cache_hit':
      return `answered from the cache (${e.messages} messages${e.model ? `, model ${e.model}` : ''})`;
    case 'pool.hedge_started':
      return `request ${e.requestId}: no first chunk from ${e.worker} after ${Math.round(e.afterMs)} ms, hedging on ${e.hedge}`;
    case 'pool.hedge_settled':
      return `request ${e.requestId}: hedge ${e.result.replace('_', ' ')}${e.winner ? ` (${e.winner})` : ''}`;
    case 'pool.dispatch':
      return `request ${e.requestId}: attempt ${e.attempt} on ${e.worker}${e.segment > 0 ? ` (continuation ${e.segment})` : ''}`;
    case 'pool.attempt_failed':
      return e.blame === 'caller'
        ? `request ${e.requestId}: ${e.worker}'s backend refused the request as invalid: ${e.reason}`
        : `request ${e.requestId}: ${e.worker} failed (${e.phase}): ${e.reason}`;
    case 'pool.failover':
      return `request ${e.requestId}: failing over from ${e.from}${e.deliveredChars > 0 ? `, continuing after ${e.deliveredChars} chars` : ''}${e.because === 'context_length_exceeded' ? ' to a worker with a larger context (context length exceeded)' : ''}`;
    case 'pool.stream_finished':
      return `request ${e.requestId}: ${e.outcome} from ${e.worker ?? 'no worker'}, ${e.chars} chars in ${Math.round(e.ms)} ms${e.reason !== undefined ? `: ${oneLine(e.reason)}` : ''}`;
    case 'pool.health_changed':
      return `worker ${e.worker}: ${e.from} -> ${e.to}${e.reason ? ` (${e.reason})` : ''}`;
    case 'pool.circuit_changed':
      return `worker ${e.worker}: circuit ${e.state}`;
    case 'pool.cooldown':
      return `worker ${e.worker}: cooling down for ${e.ms} ms (${e.reason})`;
    case 'store.degraded':
      return `${e.store} store unreachable (${e.reason}): limits hold per instance until it is back`;
    case 'store.restored':
      return `${e.store} store back: limits, circuits and cool-downs shared again`;
    case 'store.config_mismatch':
      return `worker ${e.worker}: another instance configures it differently (${e.fields.join(', ')})`;
    default:
      return assertNever(e);
  }
}

/** A structured logger: pino's (or any with these methods), called as `logger.warn(fields, message)`. */
export interface StructuredLogger {
  /** Logs detail for debugging: `fields` as structured data, `message` as the line. */
  debug(fields: object, message: string): void;
  /** Logs a normal event: `fields` as structured data, `message` as the line. */
  info(fields: object, message: string): void;
  /** Logs something an operator should look at: `fields` as structured data, `message` as the line. */
  warn(fields: object, message: string): void;
  /** Logs a failure: `fields` as structured data, `message` as the line. */
  error(fields: object, message: string): void;
}

/** The level an event is logged at by a {@link StructuredLogger}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Options of {@link logEvents}. */
export interface LogEventsOptions {
  /** Where lines go. Default `console.log`. Ignored when `logger` is given. */
  write?: (line: string) => void;
  /** A pino-compatible logger: one structured object per event (`event`, its fields), at the event's {@link eventLevel}, with {@link formatEvent}'s line as the message. */
  logger?: StructuredLogger;
  /** Which events to print. Default: supervisor and pool events (not the `actor.*` ones). */
  filter?: (e: InspectionEvent) => boolean;
}

/**
 * The default logger: one line per event of the system's inspection stream.
 * @throws InvalidArgumentError for a bad system or option.
 * @example
 * const sub = logEvents(system, { write: (l) => console.error(`[cortex] ${l}`) });
 * sub.dispose();
 */
export function logEvents(system: ActorSystem, options: LogEventsOptions = {}): Disposable {
  checkSystem(system);
  checkObject(options, 'options');
  if (options.write !== undefined) checkFunction(options.write, 'options.write');
  if (options.filter !== undefined) checkFunction(options.filter, 'options.filter');
  if (options.logger !== undefined) {
    checkObject(options.logger, 'options.logger');
    for (const l of ['debug', 'info', 'warn', 'error'] as const) checkFunction(options.logger[l], `options.logger.${l}`);
  }
  const filter = options.filter ?? ((e: InspectionEvent) => !e.type.startsWith('actor.'));
  const logger = options.logger;
  if (logger !== undefined) {
    return system.inspect((e) => {
      if (filter(e)) logger[eventLevel(e)](eventFields(e), formatEvent(e));
    });
  }
  const write = options.write ?? ((l: string) => console.log(l));
  return system.inspect((e) => {
    if (filter(e)) write(formatEvent(e));
  });
}

/**
 * The level of an event for a structured logger: `error` for a crash, a failed start, a restart
 * or given-up supervisor; `warn` for what degrades service (a failed attempt, a failover, a
 * circuit opening, a cool-down, a worker going down, an unreachable store, an interrupted
 * request); `info` for recoveries and requests that ended; `debug` for the steps of each request
 * and actors coming and going.
 */
export function eventLevel(e: InspectionEvent): LogLevel {
  switch (e.type) {
    case 'actor.terminate_failed':
    case 'supervisor.child_start_failed':
    case 'supervisor.child_restarting':
    case 'supervisor.intensity_exceeded':
    case 'supervisor.child_shutdown_timeout':
      return 'error';
    case 'supervisor.child_exited':
      return isNormal(e.reason) ? 'info' : 'error';
    case 'pool.attempt_failed':
    case 'pool.failover':
    case 'pool.cooldown':
    case 'store.degraded':
    case 'store.config_mismatch':
      return 'warn';
    case 'pool.circuit_changed':
      return e.state === 'open' ? 'warn' : 'info';
    case 'pool.health_changed':
      return e.to === 'available' ? 'info' : 'warn';
    case 'pool.stream_finished':
      return e.outcome === 'complete' || e.outcome === 'aborted' || e.outcome === 'abandoned' ? 'info' : 'warn';
    case 'pool.dispatch':
    case 'pool.request_started':
    case 'pool.cache_hit':
    case 'pool.hedge_started':
    case 'pool.hedge_settled':
    case 'actor.spawned':
    case 'actor.exited':
      return 'debug';
    default:
      return 'info';
  }
}

/** An event as plain JSON fields: actors by name, errors by code and message (adapters redact secrets from them), exit reasons formatted. */
export function eventFields(e: InspectionEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { event: e.type };
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type' || v === undefined) continue;
    if (k === 'reason' && typeof v !== 'string') out[k] = formatReason(v as never);
    else if (k === 'error') out[k] = errorFields(v);
    else if (isRef(v)) out[k] = who(v);
    else out[k] = v;
  }
  return out;
}

function errorFields(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as Error & { code?: unknown }).code;
    return { ...(code !== undefined ? { code } : {}), message: v.message };
  }
  return String(v);
}

function isRef(v: unknown): v is ActorRef {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'number' && 'exited' in v;
}

function isNormal(reason: unknown): boolean {
  return reason === 'normal' || reason === 'shutdown' || (typeof reason === 'object' && reason !== null && 'shutdown' in reason);
}

function assertNever(x: never): never {
  throw new TypeError(`unknown event ${JSON.stringify(x)}`);
}

/** A multi-line error message (a list of workers and reasons) on one line. */
function oneLine(text: string): string {
  return text.replace(/:\n\s+- /, ': ').replace(/\n\s+- /g, '; ').replace(/\n/g, ' ');
}
