/*
 * The actor: mailbox, lifecycle, links and monitors in one class, on purpose (this file is over
 * 400 lines for that reason). Every message of every actor goes through `deliver` -> `run` ->
 * `step`; keeping the mailbox, the state machine and the exit signals on one object keeps that
 * path free of indirection, and links and monitors need the same private state as `exit`. What
 * has a life of its own lives beside it: a pending call (pending-call.ts), deadlines
 * (deadlines.ts), the system (system.ts), the public functions (api.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ActorExitedError, CallAbortedError, CallingSelfError, MailboxFullError, InitError, NoProcError, describe } from '../errors/runtime.js';
import { keepAlive } from './clock.js';
import type { ExitReason } from './exit-reason.js';
import type { ActorHost } from './host.js';
import { CALL, PendingCall } from './pending-call.js';
import {
  directiveOf,
  type ActorContext,
  type ActorRef,
  type Behaviour,
  type CallResult,
  type MonitorRef,
  type Protocol,
  type SendAfterOptions,
  type StopDirective,
  type TimerRef,
} from './types.js';

const STARTING = 0;
const RUNNING = 1;
const STOPPING = 2;
const EXITED = 3;

const CAST = 1;
const INFO = 2;

/** Messages an actor takes per turn before letting other actors run. */
const TURN_BUDGET = 64;

/** A queued cast or info message. @internal */
class Notice {
  constructor(
    readonly kind: typeof CAST | typeof INFO,
    readonly msg: unknown,
  ) {}
}

type Envelope = PendingCall | Notice;

interface Monitor extends MonitorRef {
  readonly watcher: Actor;
  readonly target: Actor;
}

let nextMonitorId = 1;
let nextTimerId = 1;

/** The actor whose handler runs synchronously right now (handlers of idle actors can nest). */
let running: Actor | null = null;
/** The message an async handler is working on, carried across its awaits. */
const asyncTurn = new AsyncLocalStorage<Envelope>();
/** Behaviours whose `handleCall` is an `async function` (their calls are traced across awaits). */
const asyncCallers = new WeakMap<object, boolean>();

function isAsyncHandler(behaviour: object, fn: unknown): boolean {
  let known = asyncCallers.get(behaviour);
  if (known === undefined) {
    known = typeof fn === 'function' && fn.constructor?.name === 'AsyncFunction';
    asyncCallers.set(behaviour, known);
  }
  return known;
}

/**
 * A running actor: owns the mailbox, the lifecycle, links and monitors. Users see it as an
 * `ActorRef` and, inside callbacks, as an `ActorContext`.
 * @internal
 */
export class Actor implements ActorRef, ActorContext {
  status: number = STARTING;
  state: unknown = undefined;
  mailbox: Envelope[] | null = null;
  busy = false;
  queued = false;
  trapping = false;
  current: Envelope | null = null;
  links: Set<Actor> | null = null;
  /** The actor that started this one under supervision (OTP's parent): its exit ends this one. */
  parent: Actor | null = null;
  /** Monitors set on this actor by others. */
  monitors: Map<number, Monitor> | null = null;
  /** Monitors this actor set on others: removed from their targets when it exits. */
  watching: Set<Monitor> | null = null;
  timers: Map<TimerRef, unknown> | null = null;
  controller: AbortController | null = null;
  reason: ExitReason | undefined = undefined;
  waiters: Array<(r: ExitReason) => void> | null = null;
  /** Callers answered `noreply`, still waiting for `from.reply`. */
  deferred: Set<PendingCall> | null = null;

  constructor(
    readonly system: ActorHost<Actor>,
    readonly id: number,
    readonly name: string | undefined,
    readonly behaviour: Behaviour<unknown, Protocol, unknown>,
    readonly limit: number,
  ) {}

  get label(): string {
    return this.name ?? `#${this.id}`;
  }

  get exited(): boolean {
    return this.status === EXITED;
  }

  get self(): ActorRef {
    return this;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.status >= STOPPING) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  trapExit(on: boolean): void {
    this.trapping = on;
  }

  sendAfter(msg: unknown, ms: number, options?: SendAfterOptions): TimerRef {
    const ref: TimerRef = { id: nextTimerId++ };
    if (this.status >= STOPPING) return ref;
    const timers = (this.timers ??= new Map());
    const handle = this.system.clock.setTimeout(() => {
      timers.delete(ref);
      this.deliver(new Notice(INFO, msg));
    }, ms);
    if (options?.keepAlive === false) keepAlive(handle, false);
    timers.set(ref, handle);
    return ref;
  }

  cancelTimer(timer: TimerRef): boolean {
    const handle = this.timers?.get(timer);
    if (handle === undefined) return false;
    this.timers!.delete(timer);
    this.system.clock.clearTimeout(handle);
    return true;
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Runs `init`; resolves when the actor is running, rejects with `InitError`. */
  async start(args: unknown): Promise<void> {
    let state: unknown;
    try {
      state = await this.behaviour.init(args, this);
    } catch (e) {
      const reason: ExitReason = { error: e };
      if (this.status !== EXITED) this.exit(reason);
      throw new InitError(this.label, e);
    }
    if (this.status === EXITED) throw new InitError(this.label, new ActorExitedError(this.label, this.reason!));
    this.state = state;
    if (this.status === STOPPING) {
      void this.finishStop();
      return;
    }
    this.status = RUNNING;
    if (this.mailbox !== null && this.mailbox.length > 0) this.system.schedule(this);
  }

  /** Queues a call; the returned promise settles with the reply or a typed error. */
  call(msg: unknown, timeout: number, signal: AbortSignal | undefined): Promise<unknown> {
    const p = this.#enter(msg, timeout, signal);
    if (p instanceof Promise) return p;
    if (p.early === 1) return Promise.resolve(p.outcome);
    if (p.early === 2) return Promise.reject(p.outcome);
    return this.#wait(p, timeout, signal);
  }

  /**
   * Like `call`, but a reply given at once is returned as is (no promise turn), and a failure at
   * once is thrown; otherwise the returned value is the promise `call` would give. For callers
   * on hot paths that know the reply is never itself a promise.
   */
  callNow(msg: unknown, timeout: number, signal?: AbortSignal): unknown {
    const p = this.#enter(msg, timeout, signal);
    if (p instanceof Promise) return p;
    if (p.early === 1) return p.outcome;
    if (p.early === 2) throw p.outcome;
    return this.#wait(p, timeout, signal);
  }

  /**
   * Checks a call can be taken and delivers it. An idle actor takes the message at once (see
   * `deliver`): a handler that replies at once needs no deadline, no abort listener and no
   * deferred promise. Refusals come back as rejected promises.
   */
  #enter(msg: unknown, timeout: number, signal: AbortSignal | undefined): PendingCall | Promise<never> {
    if (this.status >= STOPPING) return Promise.reject(new ActorExitedError(this.label, this.reason ?? 'normal'));
    if (this.busy && this.isCallingSelf()) return Promise.reject(new CallingSelfError(this.label));
    if (signal?.aborted) return Promise.reject(new CallAbortedError(this.label, signal.reason));
    if (this.mailbox !== null && this.mailbox.length >= this.limit) {
      return Promise.reject(new MailboxFullError(this.label, this.limit));
    }
    const p = new PendingCall(this, msg, timeout);
    this.deliver(p);
    return p;
  }

  /** True when the code calling this (busy) actor runs inside this actor's own current handler. */
  private isCallingSelf(): boolean {
    if (running === this) return true;
    const cur = this.current;
    return cur !== null && asyncTurn.getStore() === cur;
  }

  /** A call still waiting: its promise, its deadline (from now: a synchronous handler cannot be interrupted anyway), its caller's signal. */
  #wait(p: PendingCall, timeout: number, signal: AbortSignal | undefined): Promise<unknown> {
    const promise = new Promise<unknown>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    if (timeout !== Infinity) this.system.deadlines.add(p, timeout);
    if (signal !== undefined) p.listen(signal);
    return promise;
  }

  /** Queues a cast; throws `MailboxFullError` when bounded and full. Dropped once exited. */
  cast(msg: unknown): void {
    if (this.status >= STOPPING) return;
    if (this.mailbox !== null && this.mailbox.length >= this.limit) throw new MailboxFullError(this.label, this.limit);
    this.deliver(new Notice(CAST, msg));
  }

  /** Queues a plain message for `handleInfo` (never refused by the bound: system notices must arrive). */
  info(msg: unknown): void {
    if (this.status >= STOPPING) return;
    this.deliver(new Notice(INFO, msg));
  }

  deliver(env: Envelope): void {
    if (this.status === RUNNING && !this.busy && !this.queued && (this.mailbox === null || this.mailbox.length === 0)) {
      // Fast path: an idle actor with an empty mailbox takes the message at once, in the
      // sender's turn. Order is kept (nothing is queued before it) and `busy` guards re-entry.
      // Messages the handler sent to itself were queued meanwhile: take them in a later turn.
      if (this.step(env) && this.mailbox !== null && this.mailbox.length > 0) this.system.schedule(this);
      return;
    }
    (this.mailbox ??= []).push(env);
    if (this.status === RUNNING && !this.busy) this.system.schedule(this);
  }

  /** Processes queued messages, one at a time, until empty, busy with an async handler, or out of budget. */
  run(): void {
    let budget = TURN_BUDGET;
    while (this.status === RUNNING && !this.busy) {
      const box = this.mailbox;
      if (box === null || box.length === 0) return;
      if (budget-- === 0) {
        this.system.schedule(this);
        return;
      }
      if (!this.step(box.shift()!)) return;
    }
  }

  /** Handles one message. Returns false when the actor cannot take the next one now (async handler, or stopping). */
  private step(env: Envelope): boolean {
    if (env.kind === CALL && env.settled) return true;
    this.busy = true; // also while a sync handler runs: a message it sends to itself is queued, not re-entered
    try {
      const result = this.dispatch(env);
      if (result instanceof Promise) {
        this.current = env;
        result.then(
          (v) => this.afterAsync(env, v),
          (e) => this.afterAsyncError(e),
        );
        return false;
      }
      this.apply(env, result);
    } catch (e) {
      this.busy = false;
      this.current = env;
      this.crash(e);
      return false;
    }
    this.busy = false;
    if (this.status === STOPPING) {
      void this.finishStop();
      return false;
    }
    return true;
  }

  private dispatch(env: Envelope): unknown {
    const outer = running;
    running = this;
    try {
      return this.invoke(env);
    } finally {
      running = outer;
    }
  }

  private invoke(env: Envelope): unknown {
    const b = this.behaviour;
    switch (env.kind) {
      case CALL:
        if (b.handleCall === undefined) throw new TypeError(`actor ${this.label} has no handleCall for ${describeMsg(env.msg)}`);
        if (isAsyncHandler(b, b.handleCall)) {
          // An async handler that calls its own actor after an await is found by its turn.
          this.current = env;
          return asyncTurn.run(env, () => b.handleCall!(env.msg as never, this.state, env, this));
        }
        return b.handleCall(env.msg as never, this.state, env, this);
      case CAST:
        if (b.handleCast === undefined) throw new TypeError(`actor ${this.label} has no handleCast for ${describeMsg(env.msg)}`);
        return b.handleCast(env.msg as never, this.state, this);
      case INFO:
        // Like GenServer's default handle_info: unexpected messages are dropped.
        return b.handleInfo === undefined ? this.state : b.handleInfo(env.msg as never, this.state, this);
    }
  }

  private afterAsync(env: Envelope, result: unknown): void {
    this.busy = false;
    this.current = null;
    if (this.status === EXITED) return; // killed or abandoned meanwhile: the result is dropped
    try {
      this.apply(env, result);
    } catch (e) {
      this.current = env;
      if (this.status !== STOPPING) return this.crash(e);
      this.rejectQueued(this.reason!);
    }
    if (this.status === STOPPING) void this.finishStop();
    else this.run();
  }

  private afterAsyncError(error: unknown): void {
    this.busy = false;
    if (this.status === EXITED) return;
    if (this.status === STOPPING) {
      // Already stopping (e.g. its signal aborted the work): keep the requested reason, and
      // tell the caller whose handler failed.
      this.rejectQueued(this.reason!);
      this.current = null;
      void this.finishStop();
      return;
    }
    this.crash(error);
  }

  private apply(env: Envelope, result: unknown): void {
    const kind = directiveOf(result);
    if (env.kind === CALL) {
      const r = result as CallResult<unknown, unknown>;
      switch (kind) {
        case 'reply':
          this.state = r.state;
          env.reply((r as { value: unknown }).value);
          return;
        case 'noreply':
          this.state = r.state;
          if (!env.settled) (this.deferred ??= new Set()).add(env);
          return;
        case 'stop':
          this.state = r.state;
          if ((r as StopDirective<unknown, unknown>).reply) env.reply((r as StopDirective<unknown, unknown>).reply!.value);
          this.beginStop((r as StopDirective<unknown>).reason);
          return;
        default:
          throw new TypeError(
            `handleCall of actor ${this.label} must return reply(...), noreply(...) or stopping(...), got ${typeof result}`,
          );
      }
    }
    if (kind === 'stop') {
      this.state = (result as StopDirective<unknown>).state;
      this.beginStop((result as StopDirective<unknown>).reason);
      return;
    }
    this.state = result;
  }

  /** A callback threw: reject every caller at once, run `terminate`, exit with `{ error }`. */
  crash(error: unknown): void {
    if (this.status >= STOPPING) return;
    this.beginStop({ error });
  }

  /**
   * Starts stopping with `reason`: queued callers are rejected now, the actor's signal is
   * aborted, and `terminate` runs as soon as the current handler (if any) returns.
   */
  beginStop(reason: ExitReason): void {
    if (this.status === EXITED) return;
    if (this.status === STOPPING) return;
    const wasStarting = this.status === STARTING;
    this.status = STOPPING;
    this.reason = reason;
    this.rejectQueued(reason);
    this.clearTimers();
    this.controller?.abort(reason);
    if (!this.busy && !wasStarting) void this.finishStop();
  }

  private async finishStop(): Promise<void> {
    const reason = this.reason!;
    const t = this.behaviour.terminate;
    if (t !== undefined) {
      this.busy = true;
      try {
        await t(reason, this.state, this);
      } catch (e) {
        this.system.events.emit(() => ({ type: 'actor.terminate_failed', actor: this, error: e }));
      }
      this.busy = false;
    }
    if (this.status !== EXITED) this.exit(reason);
  }

  /** Exits now, without `terminate`: notifies links, monitors and waiters. */
  exit(reason: ExitReason): void {
    if (this.status === EXITED) return;
    this.status = EXITED;
    this.reason = reason;
    this.busy = false;
    this.rejectQueued(reason);
    this.clearTimers();
    this.controller?.abort(reason);
    this.system.forget(this);
    const links = this.links;
    this.links = null;
    if (links !== null) {
      for (const other of links) {
        other.links?.delete(this);
        other.exitSignal(this, reason);
      }
    }
    const monitors = this.monitors;
    this.monitors = null;
    if (monitors !== null) {
      for (const m of monitors.values()) {
        m.watcher.watching?.delete(m);
        m.watcher.info({ type: 'DOWN', monitor: m, actor: this, reason });
      }
    }
    const watching = this.watching;
    this.watching = null;
    if (watching !== null) for (const m of watching) m.target.monitors?.delete(m.id);
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters !== null) for (const w of waiters) w(reason);
    this.system.events.emit(() => ({ type: 'actor.exited', actor: this, reason }));
  }

  /**
   * An exit signal from a linked actor, as in OTP. A trapping actor receives it as an `EXIT`
   * message, except from its parent: like a gen_server, it then terminates with the parent's
   * reason (whatever it is), so no child outlives its supervisor.
   */
  exitSignal(from: Actor, reason: ExitReason): void {
    if (this.status >= STOPPING) return;
    if (this.trapping && from === this.parent) this.beginStop(reason);
    else if (this.trapping) this.info({ type: 'EXIT', from, reason });
    else if (reason === 'killed') this.exit('killed');
    else if (reason !== 'normal') this.beginStop(reason);
  }

  /** Resolves with the exit reason once exited. */
  whenExited(): Promise<ExitReason> {
    if (this.status === EXITED) return Promise.resolve(this.reason!);
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  /**
   * Links this actor (the caller) to `other`. As OTP's `link/1`: if `other` has exited, a
   * trapping caller receives `EXIT` with reason `'noproc'`, and a non-trapping one fails with
   * `NoProcError`.
   */
  link(other: Actor): void {
    if (other === this) return;
    if (this.status === EXITED) throw new NoProcError(this.label, 'link');
    if (other.status === EXITED) {
      if (!this.trapping) throw new NoProcError(other.label, 'link');
      this.info({ type: 'EXIT', from: other, reason: 'noproc' });
      return;
    }
    (this.links ??= new Set()).add(other);
    (other.links ??= new Set()).add(this);
  }

  unlink(other: Actor): void {
    this.links?.delete(other);
    other.links?.delete(this);
  }

  /** Monitors `target`; a target that has already exited is reported at once as `DOWN` with `'noproc'` (OTP). */
  monitor(target: Actor): MonitorRef {
    const m: Monitor = { id: nextMonitorId++, watcher: this, target };
    if (target.status === EXITED) {
      this.info({ type: 'DOWN', monitor: m, actor: target, reason: 'noproc' });
      return m;
    }
    (target.monitors ??= new Map()).set(m.id, m);
    (this.watching ??= new Set()).add(m);
    return m;
  }

  private rejectQueued(reason: ExitReason): void {
    // A call whose handler is still running keeps its caller: the handler may finish and reply
    // (OTP delivers that reply). It is failed if the actor is killed first.
    const cur = this.current;
    if (cur !== null && cur.kind === CALL && !cur.settled && !this.busy) cur.fail(new ActorExitedError(this.label, reason));
    const deferred = this.deferred;
    if (deferred !== null) {
      this.deferred = null;
      for (const p of deferred) p.fail(new ActorExitedError(this.label, reason));
    }
    const box = this.mailbox;
    if (box === null) return;
    this.mailbox = null;
    let err: ActorExitedError | undefined;
    for (const env of box) {
      if (env.kind === CALL && !env.settled) env.fail((err ??= new ActorExitedError(this.label, reason)));
    }
  }

  private clearTimers(): void {
    const timers = this.timers;
    if (timers === null) return;
    this.timers = null;
    for (const h of timers.values()) this.system.clock.clearTimeout(h);
  }
}

/** @internal */
export function demonitorRef(ref: MonitorRef): boolean {
  const m = ref as Monitor;
  m.watcher?.watching?.delete(m);
  return m.target?.monitors?.delete(m.id) ?? false;
}

function describeMsg(msg: unknown): string {
  if (typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string') {
    return `message of type "${(msg as { type: string }).type}"`;
  }
  return `message ${describe(msg)}`;
}
