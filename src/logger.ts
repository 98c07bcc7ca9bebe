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
    case 'pool.dispatch':
      return `request ${e.requestId}: attempt ${e.attempt} on ${e.worker}${e.segment > 0 ? ` (continuation ${e.segment})` : ''}`;
    case 'pool.attempt_failed':
      return `request ${e.requestId}: ${e.worker} failed (${e.phase}): ${e.reason}`;
    case 'pool.failover':
      return `request ${e.requestId}: failing over from ${e.from}${e.deliveredChars > 0 ? `, continuing after ${e.deliveredChars} chars` : ''}`;
    case 'pool.stream_finished':
      return `request ${e.requestId}: ${e.outcome} from ${e.worker ?? 'no worker'}, ${e.chars} chars in ${Math.round(e.ms)} ms`;
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

/** Options of {@link logEvents}. */
export interface LogEventsOptions {
  /** Where lines go. Default `console.log`. */
  write?: (line: string) => void;
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
  const write = options.write ?? ((l: string) => console.log(l));
  const filter = options.filter ?? ((e: InspectionEvent) => !e.type.startsWith('actor.'));
  return system.inspect((e) => {
    if (filter(e)) write(formatEvent(e));
  });
}

function assertNever(x: never): never {
  throw new TypeError(`unknown event ${JSON.stringify(x)}`);
}
