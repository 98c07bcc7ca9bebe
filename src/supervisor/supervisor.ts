import { ChildOperationError, ChildStartError, RestartIntensityError } from '../errors/supervisor.js';
import { NoProcError } from '../errors/runtime.js';
import { Actor } from '../runtime/actor.js';
import { call } from '../runtime/api.js';
import { isNormalExit, type ExitReason } from '../runtime/exit-reason.js';
import type { ActorSystem } from '../runtime/system.js';
import { reply, stopping, type ActorContext, type ActorRef, type Behaviour, type ExitMessage, type TimerRef } from '../runtime/types.js';
import { delayOf } from './backoff.js';
import { attach, type Child, type ChildHandle } from './child.js';
import { recordRestart } from './intensity.js';
import { normalizeSpec, resolveConfig, type ChildCounts, type ChildInfo, type ChildSpec, type Config, type NormalSpec, type SupervisorOptions } from './spec.js';

export type { ChildCounts, ChildInfo, ChildSpec, RestartType, Strategy, SupervisorOptions } from './spec.js';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** The messages a supervisor takes (use {@link startChild} and the other functions rather than calling it). */
export type SupervisorProtocol = {
  call:
    | { type: 'startChild'; spec: ChildSpec }
    | { type: 'terminateChild'; id: string }
    | { type: 'restartChild'; id: string }
    | { type: 'deleteChild'; id: string }
    | { type: 'whichChildren' }
    | { type: 'countChildren' };
  replies: {
    startChild: Outcome<Child>;
    terminateChild: Outcome<void>;
    restartChild: Outcome<Child>;
    deleteChild: Outcome<void>;
    whichChildren: ChildInfo[];
    countChildren: ChildCounts;
  };
  info: { type: '$child_exit'; child: Child; reason: ExitReason } | { type: '$restart'; id: string; gen: number };
};

/** A running supervisor. */
export type SupervisorRef = ActorRef<SupervisorProtocol>;

interface Record_ {
  spec: NormalSpec;
  handle: ChildHandle | null;
  startedAt: number;
  attempts: number;
  timer: TimerRef | null;
  gen: number;
}

interface State {
  children: Record_[];
  history: readonly number[];
}


/**
 * Starts a supervisor: its children start in the given order (a child that fails to start
 * stops those already started, in reverse, and fails the start). Crashed children are
 * restarted by `strategy`; more than `maxRestarts` restarts in `maxSeconds` make the
 * supervisor stop its children and exit, which its own supervisor sees as a crash.
 *
 * @throws InitError (cause: ChildStartError) if a child fails to start.
 * @throws InvalidArgumentError for a bad option or child spec.
 * @example
 * const sup = await startSupervisor(system, {
 *   strategy: 'one_for_one',
 *   children: [{ id: 'counter', start: () => system.spawn(counter, 0) }],
 * });
 */
export function startSupervisor(system: ActorSystem, options: SupervisorOptions = {}): Promise<SupervisorRef> {
  let config: Config;
  try {
    config = resolveConfig(system, options);
  } catch (e) {
    return Promise.reject(e);
  }
  return system.spawn(supervisorBehaviour(config), undefined, { name: options.name, trapExit: true });
}

function supervisorBehaviour(cfg: Config): Behaviour<State, SupervisorProtocol> {
  const { system } = cfg;
  const label = (ctx: ActorContext): string => (ctx.self as Actor).label;
  const emit = system.events;

  async function startRecord(ctx: ActorContext<SupervisorProtocol>, rec: Record_): Promise<Child> {
    let child: Child;
    try {
      child = await rec.spec.start();
    } catch (e) {
      const err = new ChildStartError(label(ctx), rec.spec.id, e);
      emit.emit(() => ({ type: 'supervisor.child_start_failed', supervisor: ctx.self, id: rec.spec.id, error: err }));
      throw err;
    }
    rec.handle = attach(ctx.self as Actor, child, (c, reason) => (ctx.self as Actor).info({ type: '$child_exit', child: c, reason }));
    rec.startedAt = system.clock.now();
    emit.emit(() => ({ type: 'supervisor.child_started', supervisor: ctx.self, id: rec.spec.id, child }));
    return child;
  }

  async function stopRecord(ctx: ActorContext, rec: Record_): Promise<void> {
    if (rec.timer !== null) {
      ctx.cancelTimer(rec.timer);
      rec.timer = null;
    }
    // A new generation even when not running: a restart already queued for the old one
    // (backoff timer fired, message not yet handled) must not start the child again.
    rec.gen++;
    const h = rec.handle;
    if (h === null) return;
    rec.handle = null;
    const outcome = await h.stop(rec.spec.shutdown);
    if (outcome === 'killed') {
      emit.emit(() => ({
        type: 'supervisor.child_shutdown_timeout',
        supervisor: ctx.self,
        id: rec.spec.id,
        timeoutMs: rec.spec.shutdown as number,
      }));
    }
  }

  async function stopAll(ctx: ActorContext, recs: Record_[]): Promise<void> {
    for (let i = recs.length - 1; i >= 0; i--) await stopRecord(ctx, recs[i]!);
  }

  /** The records a crash of `rec` restarts, in start order, per the strategy. */
  function group(state: State, rec: Record_): Record_[] {
    switch (cfg.strategy) {
      case 'one_for_one':
        return [rec];
      case 'one_for_all':
        return [...state.children];
      case 'rest_for_one':
        return state.children.slice(state.children.indexOf(rec));
      default:
        return assertNever(cfg.strategy);
    }
  }

  /** Handles an exit of `rec`'s child. Returns a stop directive when the intensity is exceeded. */
  async function onChildExit(
    ctx: ActorContext<SupervisorProtocol>,
    state: State,
    rec: Record_,
    reason: ExitReason,
  ): Promise<State | ReturnType<typeof stopping<State>>> {
    rec.handle = null;
    rec.gen++;
    emit.emit(() => ({ type: 'supervisor.child_exited', supervisor: ctx.self, id: rec.spec.id, reason }));
    // The system is shutting down: its actors are being stopped, none is restarted.
    if (system.closed) return state;
    if (rec.spec.restart === 'temporary' || (rec.spec.restart === 'transient' && isNormalExit(reason))) {
      if (rec.spec.restart === 'temporary') state.children = state.children.filter((r) => r !== rec);
      return state;
    }
    return restart(ctx, state, rec);
  }

  async function restart(
    ctx: ActorContext<SupervisorProtocol>,
    state: State,
    rec: Record_,
  ): Promise<State | ReturnType<typeof stopping<State>>> {
    const check = recordRestart(state.history, system.clock.now(), cfg.maxRestarts, cfg.maxSeconds);
    state.history = check.history;
    if (check.exceeded) {
      const err = new RestartIntensityError(label(ctx), cfg.maxRestarts, cfg.maxSeconds, rec.spec.id);
      emit.emit(() => ({
        type: 'supervisor.intensity_exceeded',
        supervisor: ctx.self,
        id: rec.spec.id,
        maxRestarts: cfg.maxRestarts,
        maxSeconds: cfg.maxSeconds,
      }));
      // OTP: the supervisor terminates with reason `shutdown`, so a transient parent does not
      // restart it; the error travels as the detail.
      return stopping({ shutdown: err }, state);
    }
    const members = group(state, rec);
    await stopAll(ctx, members.filter((r) => r !== rec));
    const toStart = restartable(members, rec);
    state.children = state.children.filter((r) => !members.includes(r) || toStart.includes(r));

    if (cfg.backoff !== undefined) {
      const b = cfg.backoff;
      if (system.clock.now() - rec.startedAt >= b.resetAfterMs) rec.attempts = 0;
      const delay = delayOf(b, rec.attempts);
      rec.attempts++;
      if (delay > 0) {
        for (const r of toStart) r.gen++;
        rec.timer = ctx.sendAfter({ type: '$restart', id: rec.spec.id, gen: rec.gen }, delay);
        emit.emit(() => ({ type: 'supervisor.child_restarting', supervisor: ctx.self, id: rec.spec.id, delayMs: delay }));
        return state;
      }
    }
    emit.emit(() => ({ type: 'supervisor.child_restarting', supervisor: ctx.self, id: rec.spec.id, delayMs: 0 }));
    return startGroup(ctx, state, toStart);
  }

  /** Starts the members of a restart that are not running, in order (the restart was announced by `restart`). */
  async function startGroup(
    ctx: ActorContext<SupervisorProtocol>,
    state: State,
    toStart: Record_[],
  ): Promise<State | ReturnType<typeof stopping<State>>> {
    for (const r of toStart) {
      if (r.handle !== null) continue;
      try {
        await startRecord(ctx, r);
      } catch {
        // A failed restart counts as another crash of that child (as in OTP).
        return restart(ctx, state, r);
      }
    }
    return state;
  }

  /** The members of a group restart that start again: temporary siblings do not (as in OTP). */
  function restartable(members: Record_[], rec: Record_): Record_[] {
    return members.filter((r) => r === rec || r.spec.restart !== 'temporary');
  }

  function find(state: State, id: string): Record_ | undefined {
    return state.children.find((r) => r.spec.id === id);
  }

  function newRecord(spec: NormalSpec): Record_ {
    return { spec, handle: null, startedAt: 0, attempts: 0, timer: null, gen: 0 };
  }

  return {
    async init(_args, ctx) {
      const state: State = { children: [], history: [] };
      for (const spec of cfg.specs) {
        const rec = newRecord(spec);
        try {
          await startRecord(ctx, rec);
        } catch (e) {
          await stopAll(ctx, state.children);
          throw e;
        }
        state.children.push(rec);
      }
      return state;
    },

    async handleCall(msg, state, _from, ctx) {
      switch (msg.type) {
        case 'startChild': {
          let spec: NormalSpec;
          try {
            spec = normalizeSpec(msg.spec, 'spec');
          } catch (e) {
            return reply({ ok: false, error: e as Error }, state);
          }
          const present = find(state, spec.id);
          if (present?.handle) return reply({ ok: false, error: new ChildOperationError('startChild', spec.id, 'already_started', present.handle.child) }, state);
          if (present) return reply({ ok: false, error: new ChildOperationError('startChild', spec.id, 'already_present') }, state);
          const rec = newRecord(spec);
          try {
            const child = await startRecord(ctx, rec);
            state.children.push(rec);
            return reply({ ok: true, value: child }, state);
          } catch (e) {
            return reply({ ok: false, error: e as Error }, state);
          }
        }
        case 'terminateChild': {
          const rec = find(state, msg.id);
          if (!rec) return reply({ ok: false, error: new ChildOperationError('terminateChild', msg.id, 'not_found') }, state);
          await stopRecord(ctx, rec);
          if (rec.spec.restart === 'temporary') state.children = state.children.filter((r) => r !== rec);
          return reply({ ok: true, value: undefined }, state);
        }
        case 'restartChild': {
          const rec = find(state, msg.id);
          if (!rec) return reply({ ok: false, error: new ChildOperationError('restartChild', msg.id, 'not_found') }, state);
          if (rec.handle !== null) return reply({ ok: false, error: new ChildOperationError('restartChild', msg.id, 'running') }, state);
          if (rec.timer !== null) ctx.cancelTimer(rec.timer);
          rec.timer = null;
          try {
            return reply({ ok: true, value: await startRecord(ctx, rec) }, state);
          } catch (e) {
            return reply({ ok: false, error: e as Error }, state);
          }
        }
        case 'deleteChild': {
          const rec = find(state, msg.id);
          if (!rec) return reply({ ok: false, error: new ChildOperationError('deleteChild', msg.id, 'not_found') }, state);
          if (rec.handle !== null) return reply({ ok: false, error: new ChildOperationError('deleteChild', msg.id, 'running') }, state);
          if (rec.timer !== null) ctx.cancelTimer(rec.timer);
          state.children = state.children.filter((r) => r !== rec);
          return reply({ ok: true, value: undefined }, state);
        }
        case 'whichChildren':
          return reply(
            state.children.map((r) => ({
              id: r.spec.id,
              child: r.handle?.child,
              type: r.spec.type,
              restart: r.spec.restart,
              status: r.handle !== null ? 'running' : r.timer !== null ? 'restarting' : 'stopped',
            })),
            state,
          );
        case 'countChildren':
          return reply(
            {
              specs: state.children.length,
              active: state.children.filter((r) => r.handle !== null).length,
              workers: state.children.filter((r) => r.spec.type === 'worker').length,
              supervisors: state.children.filter((r) => r.spec.type === 'supervisor').length,
            },
            state,
          );
        default:
          return assertNever(msg);
      }
    },

    async handleInfo(msg, state, ctx) {
      switch (msg.type) {
        case 'EXIT':
        case '$child_exit': {
          const child = msg.type === 'EXIT' ? (msg as ExitMessage).from : msg.child;
          const rec = state.children.find((r) => r.handle?.child === child);
          if (rec === undefined) return state; // a stopped child, or a linked non-child: ignored, as in OTP (the parent's exit never gets here)
          // `noproc` cannot come from a child (attach reports one already dead with its own
          // reason), but the type allows it: an error reason, so it restarts as a crash.
          const reason = msg.reason === 'noproc' ? { error: new NoProcError(String(child), 'link') } : msg.reason;
          return onChildExit(ctx, state, rec, reason);
        }
        case '$restart': {
          const rec = find(state, msg.id);
          if (rec === undefined || rec.gen !== msg.gen) return state;
          rec.timer = null;
          return startGroup(ctx, state, restartable(group(state, rec), rec));
        }
        case 'DOWN':
          return state;
        default:
          return assertNever(msg);
      }
    },

    async terminate(reason, state, ctx) {
      await stopAll(ctx, state.children);
      emit.emit(() => ({ type: 'supervisor.shutdown', supervisor: ctx.self, reason }));
    },
  };
}

function unwrap<T>(o: Outcome<T>): T {
  if (o.ok) return o.value;
  throw o.error;
}

/**
 * Adds and starts a child at run time.
 * @throws ChildOperationError: `already_started` (a running child has this id; `child` is it, as
 * OTP's `{error, {already_started, Child}}`) or `already_present` (a stopped child's spec has it);
 * ChildStartError, InvalidArgumentError.
 */
export async function startChild(sup: SupervisorRef, spec: ChildSpec): Promise<Child> {
  return unwrap(await call(sup, { type: 'startChild', spec }, { timeout: Infinity }));
}

/** Stops a child (keeping its spec, unless temporary). @throws ChildOperationError (`not_found`). */
export async function terminateChild(sup: SupervisorRef, id: string): Promise<void> {
  unwrap(await call(sup, { type: 'terminateChild', id }, { timeout: Infinity }));
}

/** Starts a stopped child again from its spec. @throws ChildOperationError (`not_found`, `running`), ChildStartError. */
export async function restartChild(sup: SupervisorRef, id: string): Promise<Child> {
  return unwrap(await call(sup, { type: 'restartChild', id }, { timeout: Infinity }));
}

/** Removes a stopped child's spec. @throws ChildOperationError (`not_found`, `running`). */
export async function deleteChild(sup: SupervisorRef, id: string): Promise<void> {
  unwrap(await call(sup, { type: 'deleteChild', id }, { timeout: Infinity }));
}

/** Lists the children in start order. */
export function whichChildren(sup: SupervisorRef): Promise<ChildInfo[]> {
  return call(sup, { type: 'whichChildren' });
}

/** Counts the children, as OTP's `count_children`. */
export function countChildren(sup: SupervisorRef): Promise<ChildCounts> {
  return call(sup, { type: 'countChildren' });
}

function assertNever(x: never): never {
  throw new TypeError(`unexpected value: ${JSON.stringify(x)}`);
}
