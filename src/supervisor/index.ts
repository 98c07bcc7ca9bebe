export {
  startSupervisor,
  startChild,
  terminateChild,
  restartChild,
  deleteChild,
  whichChildren,
  countChildren,
  type Strategy,
  type RestartType,
  type ChildSpec,
  type SupervisorOptions,
  type ChildInfo,
  type ChildCounts,
  type SupervisorRef,
} from './supervisor.js';
export { recordRestart, type IntensityCheck } from './intensity.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export type { Child, XstateActorLike } from './child.js';
