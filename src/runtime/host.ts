import type { InspectionEvent } from '../events.js';
import type { Clock } from './clock.js';
import type { Deadlines } from './deadlines.js';
import type { EventStream } from './inspection.js';

/**
 * What an actor needs of the system it runs in (the `ActorSystem` is one): its clock, its call
 * deadlines, its event stream, and a scheduler that runs an actor's mailbox and forgets it when
 * it exits. Typed over the actor (`A`) so that this file, below both, imports neither.
 * @internal
 */
export interface ActorHost<A> {
  readonly clock: Clock;
  readonly deadlines: Deadlines;
  readonly events: EventStream<InspectionEvent>;
  /** Runs `actor`'s mailbox soon. */
  schedule(actor: A): void;
  /** `actor` has exited: no longer known to the system. */
  forget(actor: A): void;
}
