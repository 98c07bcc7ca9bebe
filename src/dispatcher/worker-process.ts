import type { LlmWorker } from '../behaviour/types.js';
import { register, type RegistryRef } from '../registry/registry.js';
import type { ActorSystem } from '../runtime/system.js';
import { reply, type ActorRef, type Behaviour } from '../runtime/types.js';

/** The actor that gives a worker its lifecycle: registers it on start; the registry drops it when it exits. @internal */
export type WorkerProcessProtocol = { call: { type: 'worker' }; replies: { worker: LlmWorker } };

interface Args {
  readonly name: string;
  readonly worker: LlmWorker;
  readonly registry: () => RegistryRef | undefined;
}

const workerProcess: Behaviour<Args, WorkerProcessProtocol, Args> = {
  async init(args, ctx) {
    const registry = args.registry();
    if (registry === undefined) throw new Error('the registry is not running');
    await register(registry, args.name, args.worker, ctx.self);
    return args;
  },
  handleCall: (_msg, state) => reply(state.worker, state),
};

/** Starts the supervised actor of one worker. @internal */
export function startWorkerProcess(system: ActorSystem, args: Args): Promise<ActorRef<WorkerProcessProtocol>> {
  return system.spawn(workerProcess, args);
}
