import type { ExitReason } from './runtime/exit-reason.js';
import type { ActorRef } from './runtime/types.js';

/** An actor started (before its `init` ran). */
export interface ActorSpawnedEvent {
  readonly type: 'actor.spawned';
  readonly actor: ActorRef;
}
/** An actor exited. */
export interface ActorExitedEvent {
  readonly type: 'actor.exited';
  readonly actor: ActorRef;
  readonly reason: ExitReason;
}
/** An actor's `terminate` threw; the actor exited anyway. */
export interface ActorTerminateFailedEvent {
  readonly type: 'actor.terminate_failed';
  readonly actor: ActorRef;
  readonly error: unknown;
}

/** Events of the actor runtime. */
export type RuntimeEvent = ActorSpawnedEvent | ActorExitedEvent | ActorTerminateFailedEvent;

/** Every event on a system's inspection stream. */
export type InspectionEvent = RuntimeEvent;
