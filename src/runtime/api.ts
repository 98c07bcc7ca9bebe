import { InvalidArgumentError, NoProcError } from '../errors/runtime.js';
import type { Actor } from './actor.js';
import { checkMs } from './checks.js';
import { demonitorRef } from './actor.js';
import type { ExitReason } from './exit-reason.js';
import { stopActor, toActor } from './system.js';
import type { ActorRef, CallOf, CallOptions, CastOf, InfoOf, MonitorRef, Protocol, ReplyOf } from './types.js';

/** Default `call` timeout, as in OTP's `gen_server:call/2`. */
export const DEFAULT_CALL_TIMEOUT = 5_000;

/**
 * Sends `msg` to the actor and waits for its reply. The reply type follows from the
 * message's `type` in the actor's protocol.
 * @throws CallTimeoutError after `timeout` ms (default 5000).
 * @throws ActorExitedError if the actor crashes or stops before replying (at once, not at the timeout).
 * @throws CallAbortedError if `signal` aborts; MailboxFullError if the bounded mailbox is full.
 * @throws CallingSelfError if an actor calls itself from its own handler (it would deadlock).
 * @throws NoProcError if `ref` is undefined or null (e.g. `whereis` of a name nobody holds).
 * Every failure is a rejected promise, never a synchronous throw.
 * @example
 * const n = await call(counter, { type: 'add', n: 2 }); // n: number
 */
export function call<P extends Protocol, const M extends CallOf<P>>(
  ref: ActorRef<P>,
  msg: M,
  options?: CallOptions,
): Promise<ReplyOf<P, M>> {
  const timeout = options?.timeout ?? DEFAULT_CALL_TIMEOUT;
  if (!(timeout >= 0)) return Promise.reject(new InvalidArgumentError('timeout', 'a number >= 0 (ms) or Infinity', timeout));
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) return Promise.reject(new InvalidArgumentError('signal', 'an AbortSignal', signal));
  let actor: Actor;
  try {
    actor = toActor(ref, 'call');
  } catch (e) {
    return Promise.reject(e);
  }
  return actor.call(msg, timeout, signal) as Promise<ReplyOf<P, M>>;
}

/**
 * Sends `msg` to the actor's `handleCast` without waiting. Dropped if the actor has exited.
 * @throws MailboxFullError if the actor's bounded mailbox is full.
 */
export function cast<P extends Protocol>(ref: ActorRef<P>, msg: CastOf<P>): void {
  toActor(ref).cast(msg);
}

/** Sends a plain message to the actor's `handleInfo`. Dropped if the actor has exited. */
export function send<P extends Protocol>(ref: ActorRef<P>, msg: InfoOf<P>): void {
  toActor(ref).info(msg);
}

/** Options for {@link stop}. */
export interface StopOptions {
  /** Milliseconds to wait for the current handler and `terminate`; then the actor is killed. Default `Infinity`. */
  timeout?: number;
}

/**
 * Stops the actor with `reason` (default `'normal'`): queued callers are rejected, its signal
 * aborts, `terminate` runs after the current handler. Resolves with the final exit reason
 * (`'killed'` if it outlived `timeout`).
 * @throws NoProcError (as a rejection) if the actor has already exited, as OTP's `gen_server:stop`.
 * @throws InvalidArgumentError (as a rejection) for a negative or non-numeric timeout.
 */
export function stop(ref: ActorRef, reason: ExitReason = 'normal', options: StopOptions = {}): Promise<ExitReason> {
  const timeout = options.timeout ?? Infinity;
  let actor: Actor;
  try {
    checkMs(timeout, 'timeout', true);
    actor = toActor(ref, 'stop');
  } catch (e) {
    return Promise.reject(e);
  }
  if (actor.exited) return Promise.reject(new NoProcError(actor.label, 'stop'));
  return stopActor(actor, reason, timeout);
}

/** Kills the actor at once, without `terminate`; linked actors receive `'killed'`. */
export function kill(ref: ActorRef): void {
  toActor(ref).exit('killed');
}

/** Resolves with the actor's exit reason once it has exited. */
export function whenExited(ref: ActorRef): Promise<ExitReason> {
  try {
    return toActor(ref, 'whenExited').whenExited();
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Links two actors: when one exits abnormally, the other exits with the same reason, or,
 * if it traps exits, receives an `EXIT` message. `a` is the caller, as in OTP's `link/1`: if
 * `b` has already exited, a trapping `a` receives `EXIT` with reason `'noproc'`.
 * @throws NoProcError if `b` has exited and `a` does not trap exits, or if `a` has exited.
 */
export function link(a: ActorRef, b: ActorRef): void {
  toActor(a).link(toActor(b));
}

/** Removes the link between two actors. */
export function unlink(a: ActorRef, b: ActorRef): void {
  toActor(a).unlink(toActor(b));
}

/**
 * `watcher` will receive a `DOWN` message in `handleInfo` when `target` exits; at once, with
 * reason `'noproc'`, if it already has. The monitor goes away when either actor exits.
 */
export function monitor(watcher: ActorRef, target: ActorRef): MonitorRef {
  return toActor(watcher).monitor(toActor(target));
}

/** Removes a monitor; returns false if it had already fired or been removed. */
export function demonitor(ref: MonitorRef): boolean {
  if (typeof ref !== 'object' || ref === null || typeof ref.id !== 'number') throw new InvalidArgumentError('ref', 'a MonitorRef returned by monitor', ref);
  return demonitorRef(ref);
}
