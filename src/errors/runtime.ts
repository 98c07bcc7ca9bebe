import { CortexError, guardFor } from './cortex-error.js';
import type { ExitReason } from '../runtime/exit-reason.js';
import { formatReason } from '../runtime/exit-reason.js';

/** A `call` got no reply within its timeout. Carries the actor's label and the timeout. */
export class CallTimeoutError extends CortexError {
  constructor(
    /** The actor's name, or `#id` when it has none. */
    readonly actor: string,
    /** The timeout that elapsed, in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super('call_timeout', `call to actor ${actor} timed out after ${timeoutMs} ms`);
  }
}
/** True when `e` is a {@link CallTimeoutError}. */
export const isCallTimeoutError = guardFor<CallTimeoutError>('call_timeout');

/**
 * The actor exited (crashed, was stopped, or had already exited) before it replied.
 * `reason` is the actor's exit reason; for a crash, `cause` is the thrown error.
 */
export class ActorExitedError extends CortexError {
  constructor(
    /** The actor's name, or `#id`. */
    readonly actor: string,
    /** Why the actor exited. */
    readonly reason: ExitReason,
  ) {
    super(
      'actor_exited',
      `actor ${actor} exited (${formatReason(reason)}) before replying`,
      typeof reason === 'object' ? { cause: 'error' in reason ? reason.error : reason.shutdown } : undefined,
    );
  }
}
/** True when `e` is an {@link ActorExitedError}. */
export const isActorExitedError = guardFor<ActorExitedError>('actor_exited');

/** A bounded mailbox was full; the message was not queued. */
export class MailboxFullError extends CortexError {
  constructor(
    /** The actor's name, or `#id`. */
    readonly actor: string,
    /** The mailbox bound. */
    readonly limit: number,
  ) {
    super('mailbox_full', `mailbox of actor ${actor} is full (limit ${limit} messages)`);
  }
}
/** True when `e` is a {@link MailboxFullError}. */
export const isMailboxFullError = guardFor<MailboxFullError>('mailbox_full');

/** A name (of an actor or of a registered worker) is already taken. `code` is `'already_registered'`. */
export class AlreadyRegisteredError extends CortexError {
  constructor(
    /** The name that is taken. */
    readonly registeredName: string,
    /** What the name is for, e.g. `'actor'` or `'worker'`. */
    readonly kind: string = 'actor',
    /** Who holds the name: the actor's ref, for actor names (as OTP's `{error, {already_started, Pid}}`). */
    readonly holder?: unknown,
  ) {
    super('already_registered', `${kind} name "${registeredName}" is already registered`);
  }
}
/** True when `e` is an {@link AlreadyRegisteredError}. */
export const isAlreadyRegisteredError = guardFor<AlreadyRegisteredError>('already_registered');

/** An actor's `init` threw or rejected; the actor never started. `cause` is the error. */
export class InitError extends CortexError {
  constructor(
    /** The actor's name, or `#id`. */
    readonly actor: string,
    cause: unknown,
  ) {
    super('init_failed', `actor ${actor} failed to initialise: ${describe(cause)}`, { cause });
  }
}
/** True when `e` is an {@link InitError}. */
export const isInitError = guardFor<InitError>('init_failed');

/** The call was cancelled through the caller's `AbortSignal`. `cause` is the signal's reason. */
export class CallAbortedError extends CortexError {
  constructor(
    /** The actor's name, or `#id`. */
    readonly actor: string,
    cause: unknown,
  ) {
    super('call_aborted', `call to actor ${actor} was aborted by the caller`, { cause });
  }
}
/** True when `e` is a {@link CallAbortedError}. */
export const isCallAbortedError = guardFor<CallAbortedError>('call_aborted');

/** An option or argument is invalid. Names the option, what was expected and what was received. */
export class InvalidArgumentError extends CortexError {
  constructor(
    /** Path of the bad field, e.g. `'timeout'` or `'messages[0].role'`. */
    readonly field: string,
    /** What was expected. */
    readonly expected: string,
    /** What was received. */
    readonly received: unknown,
  ) {
    super('invalid_argument', `invalid ${field}: expected ${expected}, received ${show(received)}`);
  }
}
/** True when `e` is an {@link InvalidArgumentError}. */
export const isInvalidArgumentError = guardFor<InvalidArgumentError>('invalid_argument');

/**
 * The actor is not running: it has exited, or the ref is missing (OTP's `noproc`). Raised by
 * `stop`, by `link` from an actor that does not trap exits, and by `call` on a missing ref.
 */
export class NoProcError extends CortexError {
  constructor(
    /** The actor's name, `#id`, or what was given instead of a ref. */
    readonly actor: string,
    /** What was asked: `'stop'`, `'link'`, `'call'`... */
    readonly operation: string,
  ) {
    super('noproc', `${operation}: actor ${actor} is not running (noproc)`);
  }
}
/** True when `e` is a {@link NoProcError}. */
export const isNoProcError = guardFor<NoProcError>('noproc');

/** An actor called itself from inside its own handler: it would wait for itself forever (OTP's `calling_self`). */
export class CallingSelfError extends CortexError {
  constructor(
    /** The actor's name, or `#id`. */
    readonly actor: string,
  ) {
    super('calling_self', `actor ${actor} called itself from its own handler (calling_self): it would wait for itself`);
  }
}
/** True when `e` is a {@link CallingSelfError}. */
export const isCallingSelfError = guardFor<CallingSelfError>('calling_self');

/** The actor system was shut down: it starts no more actors. */
export class SystemStoppedError extends CortexError {
  constructor(
    /** What was asked, e.g. `'spawn'`. */
    readonly operation: string,
  ) {
    super('system_stopped', `${operation}: the actor system has been shut down`);
  }
}
/** True when `e` is a {@link SystemStoppedError}. */
export const isSystemStoppedError = guardFor<SystemStoppedError>('system_stopped');

/** @internal */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v == null) return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** An optional peer dependency a feature needs is not installed (ioredis, prom-client...). `code` is `'missing_peer'`. */
export class MissingPeerError extends CortexError {
  constructor(
    /** The package to install. */
    readonly peer: string,
    /** What needs it. */
    readonly feature: string,
    /** Why it could not be loaded (not found, or its own error while loading). */
    cause?: unknown,
  ) {
    super('missing_peer', `${feature} needs the package "${peer}": npm install ${peer}`, cause === undefined ? undefined : { cause });
  }
}

/** True when `e` is a {@link MissingPeerError}. */
export const isMissingPeerError = guardFor<MissingPeerError>('missing_peer');
