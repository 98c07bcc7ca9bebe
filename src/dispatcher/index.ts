export { Dispatcher, DEFAULT_DRAIN_MS, type Completion } from './dispatcher.js';
export { startWorkers, type StartWorkersOptions, type StopWorkersOptions, type Workers } from './workers-supervisor.js';
