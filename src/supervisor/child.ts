import { Actor } from '../runtime/actor.js';
import type { ExitReason } from '../runtime/exit-reason.js';
import { stopActor } from '../runtime/system.js';
import type { ActorRef } from '../runtime/types.js';

/**
 * The part of an xstate v5 actor a supervisor needs (`createActor(machine)` returns one).
 * xstate has no restarts; under a supervisor, an actor that errors is replaced by a new one.
 */
export interface XstateActorLike {
  subscribe(observer: { error?: (err: unknown) => void; complete?: () => void }): { unsubscribe(): void };
  getSnapshot(): { status: string; error?: unknown };
  start(): unknown;
  stop(): unknown;
}

/** What a child spec's `start` returns: an actor ref (from `spawn` or `startSupervisor`) or an xstate actor. */
export type Child = ActorRef | XstateActorLike;

/** How a child reports its exit to the supervisor. @internal */
export type ExitSink = (child: Child, reason: ExitReason) => void;

/** A running child under supervision: links (or subscribes) to it and stops it. @internal */
export interface ChildHandle {
  readonly child: Child;
  /** Stops the child, waiting at most `shutdown` ms; resolves `'killed'` if it had to be abandoned. */
  stop(shutdown: number | 'immediate' | 'infinity'): Promise<'stopped' | 'killed'>;
}

/** Attaches the supervisor to a freshly started child. @internal */
export function attach(supervisor: Actor, child: Child, onXstateExit: ExitSink): ChildHandle {
  if (child instanceof Actor) {
    supervisor.link(child);
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
      if (live) onXstateExit(child, { error: err });
      live = false;
    },
    complete: () => {
      if (live) onXstateExit(child, 'normal');
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
