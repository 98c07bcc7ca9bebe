import type { PoolStatus, WorkerStatus } from './types.js';

/** Whether a worker can take a request now: its circuit is not open and its health not `unavailable`. @internal */
export function canAnswer(w: WorkerStatus): boolean {
  return w.circuit !== 'open' && w.health !== 'unavailable';
}

/** The names of the workers that can take a request now (a readiness probe's answer). @internal */
export function readyWorkers(status: PoolStatus): string[] {
  return status.workers.filter(canAnswer).map((w) => w.name);
}
