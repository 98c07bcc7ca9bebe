import { AlreadyRegisteredError, InvalidArgumentError, NoProcError, SystemStoppedError } from '../errors/runtime.js';
import type { InspectionEvent } from '../events.js';
import { Actor } from './actor.js';
import { checkMs, checkObject } from './checks.js';
import { realClock, type Clock } from './clock.js';
import { Deadlines } from './deadlines.js';
import type { ExitReason } from './exit-reason.js';
import { EventStream, type Disposable } from './inspection.js';
import type { ActorRef, Behaviour, Protocol, SpawnOptions } from './types.js';

/** Options for {@link createSystem}. */
export interface SystemOptions {
  /** Source of time for timeouts and timers. Default: the real clock. */
  clock?: Clock;
}

/** Messages processed in one microtask turn before the scheduler yields to I/O. */
const DRAIN_BUDGET = 10_000;

/**
 * A set of actors sharing a clock, a name table, a scheduler and one inspection stream.
 * Create one with {@link createSystem}.
 */
export class ActorSystem {
  /** The clock every timeout and timer in this system uses. */
  readonly clock: Clock;
  /** @internal */
  readonly deadlines: Deadlines;
  /** @internal */
  readonly events = new EventStream<InspectionEvent>();
  readonly #names = new Map<string, Actor>();
  readonly #live = new Set<Actor>();
  #nextId = 1;
  #closed = false;
  #ready: Actor[] = [];
  #draining = false;
  readonly #drain = (): void => this.#runReady();

  constructor(options: SystemOptions = {}) {
    checkObject(options, 'options');
    if (options.clock !== undefined) checkClock(options.clock);
    this.clock = options.clock ?? realClock;
    this.deadlines = new Deadlines(this.clock);
  }

  /**
   * Starts an actor running `behaviour`, with `args` passed to its `init`. Resolves with its
   * ref once `init` has returned.
   * @throws AlreadyRegisteredError if `options.name` is taken (checked before `init`; `holder` is the actor holding it).
   * @throws InitError if `init` throws or rejects.
   * @throws SystemStoppedError after {@link ActorSystem.shutdown}.
   * @example
   * const counter = await system.spawn(counterBehaviour, 0, { name: 'counter' });
   */
  spawn<S, P extends Protocol, A>(
    behaviour: Behaviour<S, P, A>,
    args: A,
    options: SpawnOptions = {},
  ): Promise<ActorRef<P>> {
    try {
      const actor = this.#create(behaviour as Behaviour<unknown, Protocol, unknown>, options);
      return actor.start(args).then(() => actor as ActorRef<P>);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #create(behaviour: Behaviour<unknown, Protocol, unknown>, options: SpawnOptions): Actor {
    if (this.#closed) throw new SystemStoppedError('spawn');
    if (typeof behaviour?.init !== 'function') throw new InvalidArgumentError('behaviour.init', 'a function', behaviour?.init);
    const { name, mailboxLimit = Infinity } = options;
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      throw new InvalidArgumentError('options.name', 'a non-empty string', name);
    }
    if (!(mailboxLimit === Infinity || (Number.isInteger(mailboxLimit) && mailboxLimit > 0))) {
      throw new InvalidArgumentError('options.mailboxLimit', 'a positive integer or Infinity', mailboxLimit);
    }
    if (name !== undefined && this.#names.has(name)) throw new AlreadyRegisteredError(name, 'actor', this.#names.get(name));
    const linkTo = options.link === undefined ? undefined : toActor(options.link);
    const actor = new Actor(this, this.#nextId++, name, behaviour, mailboxLimit);
    if (options.trapExit === true) actor.trapping = true;
    if (linkTo !== undefined) {
      actor.link(linkTo); // throws NoProcError (nothing registered yet) when `linkTo` has exited and the actor does not trap
      actor.parent = linkTo;
    }
    if (name !== undefined) this.#names.set(name, actor);
    this.#live.add(actor);
    this.events.emit(() => ({ type: 'actor.spawned', actor }));
    return actor;
  }

  /** The live actor registered under `name`, if any. */
  whereis<P extends Protocol = Protocol>(name: string): ActorRef<P> | undefined {
    return this.#names.get(name) as ActorRef<P> | undefined;
  }

  /** Number of actors that have not exited. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Subscribes to every event of this system (actors, supervisors, pools) on one typed
   * stream. Costs nothing while nobody listens.
   */
  inspect(listener: (event: InspectionEvent) => void): Disposable {
    return this.events.subscribe(listener);
  }

  /** True once {@link ActorSystem.shutdown} has been called: no actor starts any more. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops every live actor and refuses new ones. Top-level actors (those without a live
   * parent) are stopped newest first, each given `timeout` ms; a supervisor stops its own
   * children, in reverse start order, and restarts none of them. Then all timers are cleared.
   * @throws InvalidArgumentError (as a rejection) for a negative or non-numeric timeout.
   */
  async shutdown(timeout = 5_000): Promise<void> {
    checkMs(timeout, 'timeout', true);
    this.#closed = true;
    const roots = [...this.#live].filter((a) => a.parent === null || a.parent.exited).reverse();
    for (const a of roots) await stopActor(a, 'shutdown', timeout);
    for (const a of [...this.#live].reverse()) await stopActor(a, 'shutdown', timeout);
    this.deadlines.clear();
  }

  /** @internal */
  schedule(actor: Actor): void {
    if (actor.queued) return;
    actor.queued = true;
    this.#ready.push(actor);
    if (!this.#draining) {
      this.#draining = true;
      queueMicrotask(this.#drain);
    }
  }

  #runReady(): void {
    const ready = this.#ready;
    let i = 0;
    for (; i < ready.length && i < DRAIN_BUDGET; i++) {
      const a = ready[i]!;
      a.queued = false;
      a.run();
    }
    if (i < ready.length) {
      this.#ready = ready.slice(i);
      setImmediate(this.#drain);
      return;
    }
    ready.length = 0;
    this.#draining = false;
  }

  /** @internal */
  forget(actor: Actor): void {
    this.#live.delete(actor);
    if (actor.name !== undefined && this.#names.get(actor.name) === actor) this.#names.delete(actor.name);
  }
}

function checkClock(clock: unknown): void {
  const c = clock as Partial<Clock> | null;
  if (typeof c !== 'object' || c === null || typeof c.now !== 'function' || typeof c.setTimeout !== 'function' || typeof c.clearTimeout !== 'function') {
    throw new InvalidArgumentError('options.clock', 'a Clock ({ now, setTimeout, clearTimeout })', clock);
  }
}

/** Throws `InvalidArgumentError` unless `system` is an `ActorSystem` from {@link createSystem}. @internal */
export function checkSystem(system: unknown, field = 'system'): asserts system is ActorSystem {
  if (!(system instanceof ActorSystem)) throw new InvalidArgumentError(field, 'an ActorSystem from createSystem()', system);
}

/** Creates an actor system. @throws InvalidArgumentError for a bad clock. */
export function createSystem(options: SystemOptions = {}): ActorSystem {
  return new ActorSystem(options);
}

/** @internal */
export function toActor(ref: ActorRef, operation = 'ref'): Actor {
  if (ref instanceof Actor) return ref;
  if (ref === undefined || ref === null) throw new NoProcError(String(ref), operation);
  throw new InvalidArgumentError('ref', 'an ActorRef returned by spawn', ref);
}

/**
 * Stops `actor` with `reason`, waiting up to `timeout` ms for its current handler and
 * `terminate`; past that it is killed. Resolves with the final exit reason.
 * @internal
 */
export function stopActor(actor: Actor, reason: ExitReason, timeout: number): Promise<ExitReason> {
  if (actor.exited) return Promise.resolve(actor.reason!);
  const exited = actor.whenExited();
  actor.beginStop(reason);
  if (actor.exited || timeout === Infinity) return exited;
  const clock = actor.system.clock;
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      actor.exit('killed');
    }, timeout);
    void exited.then((r) => {
      clock.clearTimeout(timer);
      resolve(r);
    });
  });
}
