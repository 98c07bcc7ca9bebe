import { CortexError, guardFor } from './cortex-error.js';
import { describe } from './runtime.js';

/** A supervisor saw more than `maxRestarts` restarts within `maxSeconds`, stopped its children and exited. */
export class RestartIntensityError extends CortexError {
  constructor(
    /** The supervisor's name, or `#id`. */
    readonly supervisor: string,
    /** The configured limit. */
    readonly maxRestarts: number,
    /** The configured window, in seconds. */
    readonly maxSeconds: number,
    /** The id of the child whose exit went over the limit. */
    readonly childId: string,
  ) {
    super(
      'restart_intensity',
      `supervisor ${supervisor} exceeded its restart intensity (more than ${maxRestarts} restarts in ${maxSeconds} s; last child: ${childId})`,
    );
  }
}
/** True when `e` is a {@link RestartIntensityError}. */
export const isRestartIntensityError = guardFor<RestartIntensityError>('restart_intensity');

/** A child's `start` threw or rejected. `cause` is the error. */
export class ChildStartError extends CortexError {
  constructor(
    /** The supervisor's name, or `#id`. */
    readonly supervisor: string,
    /** The child spec id. */
    readonly childId: string,
    cause: unknown,
  ) {
    super('child_start_failed', `supervisor ${supervisor} could not start child "${childId}": ${describe(cause)}`, { cause });
  }
}
/** True when `e` is a {@link ChildStartError}. */
export const isChildStartError = guardFor<ChildStartError>('child_start_failed');

/**
 * A dynamic child operation was refused: `reason` says why (`'not_found'`, `'already_started'`,
 * `'already_present'`, `'running'`, `'not_running'`).
 */
export class ChildOperationError extends CortexError {
  constructor(
    /** What was asked: `'startChild'`, `'terminateChild'`, `'restartChild'` or `'deleteChild'`. */
    readonly operation: string,
    /** The child spec id. */
    readonly childId: string,
    /** Why it was refused. */
    readonly reason: 'not_found' | 'already_started' | 'already_present' | 'running' | 'not_running',
    /** With `already_started`: the running child (an `ActorRef` or xstate actor). */
    readonly child?: unknown,
  ) {
    super('child_operation', `${operation}("${childId}") refused: ${REASONS[reason]}`);
  }
}
/** True when `e` is a {@link ChildOperationError}. */
export const isChildOperationError = guardFor<ChildOperationError>('child_operation');

const REASONS = {
  not_found: 'no child with this id',
  already_started: 'a running child has this id',
  already_present: 'a child with this id already exists',
  running: 'the child is running',
  not_running: 'the child is not running',
} as const;
