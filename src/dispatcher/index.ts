export { Dispatcher, type Completion } from './dispatcher.js';
export { startWorkers, type StartWorkersOptions, type Workers } from './workers-supervisor.js';
