import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import { checkSystem, type ActorSystem } from '../runtime/system.js';
import { resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
import type { Child } from './child.js';

/*
 * A supervisor's options and child specs, checked and filled in before it starts (OTP's
 * supervisor.erl keeps them apart too: check_childspecs/1 and the sup_flags). The supervisor's
 * behaviour (src/supervisor/supervisor.ts) only ever sees them resolved.
 */

/** Which children restart when one exits. */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
/** When a child is restarted: always, only after an abnormal exit, or never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** How to start and supervise one child. */
export interface ChildSpec {
  /** Unique among the supervisor's children. */
  id: string;
  /** Starts the child: return an `ActorRef` (from `spawn` / `startSupervisor`) or an xstate actor. */
  start: () => Child | Promise<Child>;
  /** Default `'permanent'`. */
  restart?: RestartType;
  /** Ms the child gets to stop before it is abandoned, or `'immediate'` (kill), or `'infinity'`. Default 5000 for workers, `'infinity'` for supervisors. */
  shutdown?: number | 'immediate' | 'infinity';
  /** Default `'worker'`. */
  type?: 'worker' | 'supervisor';
}

/** Options for {@link startSupervisor}. */
export interface SupervisorOptions {
  /** Default `'one_for_one'`. */
  strategy?: Strategy;
  /** More restarts than this within `maxSeconds` make the supervisor give up. Default 3 (Elixir's default; Erlang's `supervisor` defaults to 1). */
  maxRestarts?: number;
  /** The intensity window, in seconds. Default 5 (as Erlang and Elixir). */
  maxSeconds?: number;
  /** Delay restarts with exponential backoff and jitter. Default: restart at once (as OTP). */
  backoff?: BackoffOptions;
  /** Started in order at start-up; stopped in reverse order. */
  children?: ChildSpec[];
  /** Register the supervisor under this name. */
  name?: string;
}

/** One row of {@link whichChildren}. */
export interface ChildInfo {
  readonly id: string;
  /** The running child, or undefined when it is not running (stopped, or waiting for a restart). */
  readonly child: Child | undefined;
  readonly type: 'worker' | 'supervisor';
  readonly restart: RestartType;
  /** `'running'`, `'restarting'` (backoff pending) or `'stopped'`. */
  readonly status: 'running' | 'restarting' | 'stopped';
}

/** Counts, as OTP's `count_children`. */
export interface ChildCounts {
  readonly specs: number;
  readonly active: number;
  readonly workers: number;
  readonly supervisors: number;
}

/** A child spec with every default filled in. @internal */
export interface NormalSpec {
  readonly id: string;
  readonly start: () => Child | Promise<Child>;
  readonly restart: RestartType;
  readonly shutdown: number | 'immediate' | 'infinity';
  readonly type: 'worker' | 'supervisor';
}

/** A supervisor's options, checked and resolved. @internal */
export interface Config {
  readonly system: ActorSystem;
  readonly strategy: Strategy;
  readonly maxRestarts: number;
  readonly maxSeconds: number;
  readonly backoff: ResolvedBackoff | undefined;
  readonly specs: NormalSpec[];
}

/** Checks a supervisor's options and child specs (unique ids) and fills in the defaults. @throws InvalidArgumentError naming the field. @internal */
export function resolveConfig(system: ActorSystem, o: SupervisorOptions): Config {
  checkSystem(system);
  checkObject(o, 'options');
  if (o.children !== undefined && !Array.isArray(o.children)) throw new InvalidArgumentError('children', 'an array of child specs', o.children);
  const strategy = o.strategy ?? 'one_for_one';
  if (!['one_for_one', 'one_for_all', 'rest_for_one'].includes(strategy)) {
    throw new InvalidArgumentError('strategy', "'one_for_one', 'one_for_all' or 'rest_for_one'", strategy);
  }
  const maxRestarts = o.maxRestarts ?? 3;
  if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0)) throw new InvalidArgumentError('maxRestarts', 'an integer >= 0', maxRestarts);
  const maxSeconds = o.maxSeconds ?? 5;
  if (!(maxSeconds > 0 && Number.isFinite(maxSeconds))) throw new InvalidArgumentError('maxSeconds', 'a finite number > 0', maxSeconds);
  const specs = (o.children ?? []).map((s, i) => normalizeSpec(s, `children[${i}]`));
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.id)) throw new InvalidArgumentError('children', 'unique child ids', `duplicate id "${s.id}"`);
    seen.add(s.id);
  }
  return { system, strategy, maxRestarts, maxSeconds, backoff: o.backoff ? resolveBackoff(o.backoff) : undefined, specs };
}

/** Checks one child spec (`at` names it in errors) and fills in its defaults. @throws InvalidArgumentError naming the field. @internal */
export function normalizeSpec(s: ChildSpec, at: string): NormalSpec {
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError(at, 'a child spec object', s);
  if (typeof s.id !== 'string' || s.id === '') throw new InvalidArgumentError(`${at}.id`, 'a non-empty string', s.id);
  if (typeof s.start !== 'function') throw new InvalidArgumentError(`${at}.start`, 'a function returning a child', s.start);
  const restart = s.restart ?? 'permanent';
  if (!['permanent', 'transient', 'temporary'].includes(restart)) {
    throw new InvalidArgumentError(`${at}.restart`, "'permanent', 'transient' or 'temporary'", restart);
  }
  const type = s.type ?? 'worker';
  if (type !== 'worker' && type !== 'supervisor') throw new InvalidArgumentError(`${at}.type`, "'worker' or 'supervisor'", type);
  const shutdown = s.shutdown ?? (type === 'supervisor' ? 'infinity' : 5_000);
  if (!(shutdown === 'immediate' || shutdown === 'infinity' || (typeof shutdown === 'number' && shutdown >= 0))) {
    throw new InvalidArgumentError(`${at}.shutdown`, "a number of ms >= 0, 'immediate' or 'infinity'", shutdown);
  }
  return { id: s.id, start: s.start, restart, shutdown, type };
}
