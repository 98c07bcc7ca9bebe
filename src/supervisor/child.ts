import { Actor } from '../runtime/actor.js';
import type { ExitReason } from '../runtime/exit-reason.js';
import { stopActor } from '../runtime/system.js';
import type { ActorRef } from '../runtime/types.js';

/**
 * The part of an xstate v5 actor a supervisor needs (`createActor(machine)` returns one).
 * xstate has no restarts; under a supervisor, an actor that errors is replaced by a new one.
 */
export interface XstateActorLike {
  /** Follows the actor to its end: `error` when it fails, `complete` when it stops. */
  subscribe(observer: { error?: (err: unknown) => void; complete?: () => void }): {
    /** Stops following. */
    unsubscribe(): void;
  };
  /** Its current snapshot: `status` (`active`, `done`, `error`, `stopped`) and the error if any. */
  getSnapshot(): { status: string; error?: unknown };
  /** Starts the actor. */
  start(): unknown;
  /** Stops the actor. */
  stop(): unknown;
}

/** What a child spec's `start` returns: an actor ref (from `spawn` or `startSupervisor`) or an xstate actor. */
export type Child = ActorRef | XstateActorLike;

/** How a child that is not linked (an xstate actor, or one already gone) reports its exit to the supervisor. @internal */
export type ExitSink = (child: Child, reason: ExitReason) => void;

/** A running child under supervision: links (or subscribes) to it and stops it. @internal */
export interface ChildHandle {
  readonly child: Child;
  /** Stops the child, waiting at most `shutdown` ms; resolves `'killed'` if it had to be abandoned. */
  stop(shutdown: number | 'immediate' | 'infinity'): Promise<'stopped' | 'killed'>;
}

/** Attaches the supervisor to a freshly started child: links to it and becomes its parent. @internal */
export function attach(supervisor: Actor, child: Child, reportExit: ExitSink): ChildHandle {
  if (child instanceof Actor) {
    child.parent = supervisor;
    // A child that exited before we could link is reported with its own reason (linking would
    // only say `noproc`).
    if (child.exited) reportExit(child, child.reason!);
    else supervisor.link(child);
    return {
      child,
      async stop(shutdown) {
        supervisor.unlink(child);
        if (shutdown === 'immediate') {
          child.exit('killed');
          return 'stopped';
        }
        const reason = await stopActor(child, 'shutdown', shutdown === 'infinity' ? Infinity : shutdown);
        return reason === 'killed' ? 'killed' : 'stopped';
      },
    };
  }
  const actor = child as XstateActorLike;
  let live = true;
  const sub = actor.subscribe({
    error: (err: unknown) => {
      if (live) reportExit(child, { error: err });
      live = false;
    },
    complete: () => {
      if (live) reportExit(child, 'normal');
      live = false;
    },
  });
  actor.start();
  return {
    child,
    async stop() {
      live = false;
      sub.unsubscribe();
      actor.stop();
      return 'stopped';
    },
  };
}
