import type { ExitReason } from './exit-reason.js';

/** A call message: any object with a string `type` tag. */
export interface Msg {
  readonly type: string;
}

/**
 * The message types an actor understands, checked at compile time at every call site.
 * - `call`: union of call messages (each with a `type` tag);
 * - `replies`: map from a call message's `type` to the type of its reply;
 * - `cast`: union of cast messages; `info`: union of plain messages sent with `send`.
 *
 * @example
 * type Counter = {
 *   call: { type: 'get' } | { type: 'add'; n: number };
 *   replies: { get: number; add: number };
 *   cast: { type: 'reset' };
 * };
 */
export interface Protocol {
  call?: Msg;
  replies?: object;
  cast?: unknown;
  info?: unknown;
}

/** The call messages of protocol `P`. */
export type CallOf<P> = P extends { call: infer C extends Msg } ? C : never;
/** The reply type for call message `M` of protocol `P`. */
export type ReplyOf<P, M extends Msg> = P extends { replies: infer R }
  ? M['type'] extends keyof R
    ? R[M['type']]
    : never
  : never;
/** Union of every reply type of protocol `P`. */
export type AnyReplyOf<P> = ReplyOf<P, CallOf<P>>;
/** The cast messages of protocol `P`. */
export type CastOf<P> = P extends { cast: infer K } ? K : never;
/** The plain messages of protocol `P` (delivered to `handleInfo`). */
export type InfoOf<P> = P extends { info: infer I } ? I : never;

declare const PROTOCOL: unique symbol;

/**
 * A handle to a running (or exited) actor. It is all you need to `call`, `cast`, `send`,
 * `link`, `monitor` or `stop` it. Refs are compared by identity.
 */
export interface ActorRef<P extends Protocol = Protocol> {
  /** Unique in its system, increasing. */
  readonly id: number;
  /** The registered name, if any. */
  readonly name: string | undefined;
  /** True once the actor has exited. */
  readonly exited: boolean;
  /** Phantom: carries the protocol for type inference only; never set. */
  readonly [PROTOCOL]?: P;
}

/** Delivered to `handleInfo` of an actor that traps exits when a linked actor exits. */
export interface ExitMessage {
  readonly type: 'EXIT';
  /** The actor that exited. */
  readonly from: ActorRef;
  /** Its exit reason, or `'noproc'` when `link` found it already gone (OTP's `{'EXIT', Pid, noproc}`). */
  readonly reason: ExitReason | 'noproc';
}

/** Delivered to `handleInfo` of the monitoring actor when the monitored actor exits. */
export interface DownMessage {
  readonly type: 'DOWN';
  /** The monitor, as returned by `monitor`. */
  readonly monitor: MonitorRef;
  /** The monitored actor. */
  readonly actor: ActorRef;
  /** Its exit reason, or `'noproc'` if it had already exited when the monitor was set. */
  readonly reason: ExitReason | 'noproc';
}

/** Identifies one monitor, for `demonitor`. */
export interface MonitorRef {
  readonly id: number;
}

/** Messages the runtime itself delivers to `handleInfo`. */
export type SystemMessage = ExitMessage | DownMessage;

/** The caller of a `call`, handed to `handleCall`: lets the actor reply later (after `noreply`). */
export interface From<R> {
  /** Aborted when the caller aborts, or its call times out: stop work nobody waits for. */
  readonly signal: AbortSignal;
  /** True once the caller has been answered, timed out or aborted. */
  readonly settled: boolean;
  /** Sends the reply; ignored if the caller already gave up. */
  reply(value: R): void;
}

/** A timer started with `ctx.sendAfter`. */
export interface TimerRef {
  readonly id: number;
}

/** Options of {@link ActorContext.sendAfter}. */
export interface SendAfterOptions {
  /** Whether the pending timer keeps the Node process alive. Default true. */
  readonly keepAlive?: boolean;
}

/** What a running actor's callbacks can do besides returning a new state. */
export interface ActorContext<P extends Protocol = Protocol> {
  /** This actor's own ref. */
  readonly self: ActorRef<P>;
  /** Aborted when the actor stops or crashes: pass it to the I/O the actor starts. */
  readonly signal: AbortSignal;
  /**
   * Sends `msg` to this actor's `handleInfo` after `ms`; cleared automatically on exit. With
   * `{ keepAlive: false }` the timer does not keep Node running on its own (for housekeeping
   * such as periodic checks); by default it does, like `setTimeout`.
   */
  sendAfter(msg: InfoOf<P>, ms: number, options?: SendAfterOptions): TimerRef;
  /** Cancels a timer from {@link ActorContext.sendAfter}; returns false if it already fired. */
  cancelTimer(timer: TimerRef): boolean;
  /** Turns exit trapping on or off: linked exits then arrive as {@link ExitMessage}s. */
  trapExit(on: boolean): void;
}

const DIRECTIVE = Symbol.for('cortex-otp.directive');

/** A handler's instruction to reply now. Made by {@link reply}. */
export interface ReplyDirective<S, R> {
  readonly [DIRECTIVE]: 'reply';
  readonly value: R;
  readonly state: S;
}
/** A handler's instruction to reply later with `from.reply`. Made by {@link noreply}. */
export interface NoReplyDirective<S> {
  readonly [DIRECTIVE]: 'noreply';
  readonly state: S;
}
/** A handler's instruction to stop the actor. Made by {@link stopping}. */
export interface StopDirective<S, R = never> {
  readonly [DIRECTIVE]: 'stop';
  readonly reason: ExitReason;
  readonly state: S;
  readonly reply?: { readonly value: R };
}

/** What `handleCall` returns. */
export type CallResult<S, R> = ReplyDirective<S, R> | NoReplyDirective<S> | StopDirective<S, R>;
/** What `handleCast` and `handleInfo` return: the new state, or a stop. */
export type NoticeResult<S> = S | StopDirective<S>;

/** Reply `value` to the caller and continue with `state`. */
export function reply<S, R>(value: R, state: S): ReplyDirective<S, R> {
  return { [DIRECTIVE]: 'reply', value, state };
}
/** Continue with `state` without replying yet; reply later with `from.reply(value)`. */
export function noreply<S>(state: S): NoReplyDirective<S> {
  return { [DIRECTIVE]: 'noreply', state };
}
/**
 * Stop the actor with `reason` after this message (running `terminate`). From `handleCall`,
 * pass `replyValue` to answer the caller first.
 */
export function stopping<S, R = never>(reason: ExitReason, state: S, ...replyValue: [] | [R]): StopDirective<S, R> {
  return replyValue.length === 0
    ? { [DIRECTIVE]: 'stop', reason, state }
    : { [DIRECTIVE]: 'stop', reason, state, reply: { value: replyValue[0] as R } };
}

/** @internal */
export function directiveOf(v: unknown): 'reply' | 'noreply' | 'stop' | undefined {
  return typeof v === 'object' && v !== null ? (v as { [DIRECTIVE]?: 'reply' })[DIRECTIVE] : undefined;
}

type Awaitable<T> = T | Promise<T>;

/**
 * An actor's logic: a plain object of callbacks. The runtime calls them one message at a
 * time, in arrival order, awaiting async ones before taking the next message. A callback
 * that throws crashes the actor.
 *
 * @typeParam S - the state
 * @typeParam P - the {@link Protocol}
 * @typeParam A - the argument `init` takes
 */
export interface Behaviour<S, P extends Protocol = Protocol, A = void> {
  /** Builds the initial state. Throwing here fails the start with an `InitError`. */
  init(args: A, ctx: ActorContext<P>): Awaitable<S>;
  /** Answers a `call`. Return `reply(value, state)`, `noreply(state)` or `stopping(...)`. */
  handleCall?(msg: CallOf<P>, state: S, from: From<AnyReplyOf<P>>, ctx: ActorContext<P>): Awaitable<CallResult<S, AnyReplyOf<P>>>;
  /** Handles a `cast`. Returns the new state or `stopping(...)`. */
  handleCast?(msg: CastOf<P>, state: S, ctx: ActorContext<P>): Awaitable<NoticeResult<S>>;
  /** Handles messages from `send`, timers, and `EXIT` / `DOWN` notices. */
  handleInfo?(msg: InfoOf<P> | SystemMessage, state: S, ctx: ActorContext<P>): Awaitable<NoticeResult<S>>;
  /** Runs when the actor stops or crashes (not when killed). Errors here are reported, not thrown. */
  terminate?(reason: ExitReason, state: S, ctx: ActorContext<P>): Awaitable<void>;
}

/** Options for `spawn`. */
export interface SpawnOptions {
  /** Register the actor under this name; a taken name is refused with `AlreadyRegisteredError`. */
  name?: string;
  /**
   * Start it linked to this actor, which becomes its *parent*: OTP's `start_link`, not a plain
   * `link`. The two are linked before `init` runs, and as in `gen_server`, a new actor that traps
   * exits still ends when its parent exits (with the parent's reason). For a link alone, without
   * the parent's hold, call `link(a, b)` after spawning.
   */
  link?: ActorRef;
  /** Start with exit trapping on. Default false. */
  trapExit?: boolean;
  /** Bound the mailbox: beyond this many queued messages, `call` and `cast` fail with `MailboxFullError`. Default unbounded. */
  mailboxLimit?: number;
}

/** Options for `call`. */
export interface CallOptions {
  /** Milliseconds to wait for the reply. Default 5000; `Infinity` waits forever. */
  timeout?: number;
  /** Cancels the call; the handler sees it through `from.signal`. */
  signal?: AbortSignal;
}
