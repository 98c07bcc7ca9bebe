import type { LlmWorker } from '../behaviour/types.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { AlreadyRegisteredError } from '../errors/runtime.js';
import { checkWorker, startRegistry, type RegistryRef } from '../registry/registry.js';
import { checkSystem, createSystem, type ActorSystem } from '../runtime/system.js';
import { checkMs, checkObject } from '../runtime/checks.js';
import { stop } from '../runtime/api.js';
import { ShutdownError } from '../errors/pool.js';
import { startPool, type PoolRef } from '../pool/pool.js';
import { MemoryAdmissionStore } from '../pool/admission.js';
import { resolvePoolOptions, type PoolOptions } from '../pool/options.js';
import { resolveStrategy } from '../pool/strategies.js';
import {
  deleteChild,
  startChild,
  startSupervisor,
  terminateChild,
  type ChildSpec,
  type SupervisorRef,
} from '../supervisor/supervisor.js';
import { loadConfig, parseConfig, type LoadedConfig, type WorkerConfig } from '../config/config.js';
import { Dispatcher } from './dispatcher.js';
import { openStore, type StoreSpec } from '../store/spec.js';
import { checkCacheOptions, type ResponseCacheOptions } from './cache.js';
import { rulesRouter, type Router } from './routing.js';
import type { SharedStore } from '../store/store.js';
import type { RequestPolicyOptions } from './policy.js';
import { startWorkerProcess } from './worker-process.js';

/** Options of {@link startWorkers}. */
export interface StartWorkersOptions extends PoolOptions {
  /** The workers to start with, registered under `info().name`. */
  workers?: readonly LlmWorker[];
  /** A loaded config: its workers are started (after `workers`), its pool options apply (explicit options win). */
  config?: LoadedConfig;
  /** The actor system to run in. Default: a new one. */
  system?: ActorSystem;
  /** Prefix of the actor names (`<prefix>.registry`, `.pool`, `.workers`), to run several in one system. Default `'cortex'`. */
  prefix?: string;
  /**
   * Where limits, circuits, cool-downs and health are shared with other instances: `'memory'`
   * (default: this instance only), `{ kind: 'redis', url?, prefix? }`, or a store object. A
   * config's `store` applies when this is absent. A Redis store made here is closed by `stop`.
   */
  store?: StoreSpec;
  /** Decides each request's route (a worker tag) when it names none; a config's `routes` make a `rulesRouter` when this is absent. */
  route?: Router;
  /** Keep complete answers in memory and replay them for the same request (`ResponseCacheOptions`). Off when absent. */
  cache?: ResponseCacheOptions;
  /** Restart intensity of the top supervisor. Default 10 restarts in 10 s. */
  maxRestarts?: number;
  maxSeconds?: number;
}

/** A running tree of registry, workers and pool, and the dispatcher in front of it. */
export interface Workers {
  readonly system: ActorSystem;
  /** The top supervisor. */
  readonly supervisor: SupervisorRef;
  readonly dispatcher: Dispatcher;
  /** The shared store in use (`undefined` with the default, this instance alone). */
  readonly store: SharedStore | undefined;
  /**
   * Adds and starts a worker at run time (it survives restarts of the tree): a worker object
   * (named by `info().name` unless `name` is given), or a name and a config entry as in a config
   * file (`{ kind: 'ollama', model: 'llama3.2' }`).
   * @throws AlreadyRegisteredError for a taken name; ValidationError for a bad config entry.
   */
  addWorker(worker: LlmWorker, name?: string): Promise<void>;
  /** Adds and starts a worker from a name and a config entry, as in a config file (see above). */
  addWorker(name: string, config: WorkerConfig): Promise<void>;
  /** Stops and removes a worker. Resolves false if there was none by that name. */
  removeWorker(name: string): Promise<boolean>;
  /** Names of the configured workers. */
  workerNames(): string[];
  /**
   * Applies a (re)loaded config without a restart: workers no longer listed, or listed with
   * other settings, are removed; new or changed ones are added. Pool options are not changed.
   */
  reload(config: LoadedConfig): Promise<{ added: string[]; removed: string[] }>;
  /** Reads the config file again and applies it, as {@link Workers.reload}. @throws ValidationError naming the file. */
  reloadFile(path: string): Promise<{ added: string[]; removed: string[] }>;
  /**
   * Shuts down, for good: new requests are refused at once (`ShutdownError`), requests in
   * flight get `drainMs` to finish, the rest are ended (their streams throw `ShutdownError`,
   * their HTTP requests are aborted), then the tree stops in reverse start order (pool,
   * workers, registry), and the actor system too when `startWorkers` created it. When it
   * resolves, no event is emitted, and no timer or socket of cortex's is left. Every method
   * of the handle rejects with `ShutdownError` from the moment `stop` is called (`status` and
   * `checkHealth` once the drain is over). Calling it again returns the same promise.
   * @param options.drainMs default {@link DEFAULT_DRAIN_MS} (5000); `0` ends every request at once.
   */
  stop(options?: StopWorkersOptions): Promise<void>;
}

/** Options of {@link Workers.stop}. */
export interface StopWorkersOptions {
  /** How long requests in flight may take to finish before they are ended, ms. Default 5000; 0: at once. */
  drainMs?: number;
}

/** The tree's own options (the pool's are checked by its schema): a prefix that names actors, the restart intensity, a loaded config. */
function checkTreeOptions(o: StartWorkersOptions): void {
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix.trim() === '')) throw new InvalidArgumentError('prefix', 'a non-empty string', o.prefix);
  if (o.maxRestarts !== undefined && !(Number.isInteger(o.maxRestarts) && o.maxRestarts >= 0)) throw new InvalidArgumentError('maxRestarts', 'a whole number >= 0', o.maxRestarts);
  if (o.maxSeconds !== undefined && !(typeof o.maxSeconds === 'number' && Number.isFinite(o.maxSeconds) && o.maxSeconds > 0)) throw new InvalidArgumentError('maxSeconds', 'a number of seconds > 0', o.maxSeconds);
  if (o.config !== undefined && (typeof o.config !== 'object' || o.config === null || !Array.isArray(o.config.workers))) throw new InvalidArgumentError('config', 'a loaded config (parseConfig / loadConfig)', o.config);
}

/**
 * Starts the tree: the Registry, a supervisor of worker actors (each registers its worker),
 * then the Pool, under a `rest_for_one` top supervisor: a crashed Pool restarts alone and
 * rebuilds from the Registry; a crashed Registry restarts everything after it, so workers
 * register again and nothing is lost.
 * @throws ValidationError for bad pool options; InvalidArgumentError for a bad `prefix`,
 * `maxRestarts`, `maxSeconds` or `config`; AlreadyRegisteredError for duplicate worker names.
 * @example
 * const { dispatcher } = await startWorkers({ workers: [new OllamaWorker()] });
 */
export async function startWorkers(options: StartWorkersOptions = {}): Promise<Workers> {
  checkObject(options, 'options');
  if (options.workers !== undefined && !Array.isArray(options.workers)) throw new InvalidArgumentError('workers', 'an array of workers', options.workers);
  if (options.system !== undefined) checkSystem(options.system, 'system');
  checkTreeOptions(options);
  const ownSystem = options.system === undefined;
  const { workers = [], config, system = createSystem(), prefix = 'cortex', maxRestarts = 10, maxSeconds = 10, store: storeSpec, cache, route, ...explicit } = options;
  const poolOptions = { ...config?.pool, ...explicit };
  // Refuse bad options before anything starts (the pool would only find out as a child).
  resolveStrategy(poolOptions.strategy);
  const { strategy: _strategy, ...rest } = poolOptions;
  resolvePoolOptions(rest);
  // One store for every incarnation of the pool: a rebuilt pool finds the slots of streams still running.
  const store = new MemoryAdmissionStore();
  const names = { top: prefix, registry: `${prefix}.registry`, pool: `${prefix}.pool`, workers: `${prefix}.workers` };
  const table = new Map<string, LlmWorker>();
  const fromConfig = new Map<string, string>(); // name -> settings, for workers that came from a config
  for (const w of workers) addToTable(table, w);
  for (const w of config?.workers ?? []) {
    const n = addToTable(table, w);
    fromConfig.set(n, config!.entries.get(n)!);
  }
  if (cache !== undefined) checkCacheOptions(cache);
  if (route !== undefined && typeof route !== 'function') throw new InvalidArgumentError('route', 'a function (messages) => tag | undefined', route);
  const router = route ?? (config?.routes && config.routes.length > 0 ? rulesRouter(config.routes) : undefined);
  const { store: shared, owned } = await openStore(storeSpec ?? config?.store);
  try {
    return await startTree({ system, ownSystem, names, table, fromConfig, poolOptions, store, shared, owned, maxRestarts, maxSeconds, rest, cache, router });
  } catch (e) {
    if (owned) await shared!.close();
    throw e;
  }
}

/** What {@link startWorkers} checked and opened, to start the tree with. */
interface TreeParts {
  readonly system: ActorSystem;
  readonly ownSystem: boolean;
  readonly names: { readonly top: string; readonly registry: string; readonly pool: string; readonly workers: string };
  readonly table: Map<string, LlmWorker>;
  readonly fromConfig: Map<string, string>;
  readonly poolOptions: PoolOptions;
  readonly store: MemoryAdmissionStore;
  readonly shared: SharedStore | undefined;
  readonly owned: boolean;
  readonly maxRestarts: number;
  readonly maxSeconds: number;
  readonly rest: PoolOptions;
  readonly cache: ResponseCacheOptions | undefined;
  readonly router: Router | undefined;
}

async function startTree(t: TreeParts): Promise<Workers> {
  const { system, ownSystem, names, table, fromConfig, poolOptions, store, shared, maxRestarts, maxSeconds, rest } = t;

  const registry = (): RegistryRef | undefined => system.whereis(names.registry) as RegistryRef | undefined;
  const workerSpec = (name: string, worker: LlmWorker): ChildSpec => ({
    id: name,
    start: () => startWorkerProcess(system, { name, worker, registry }),
  });
  const workersSup = (): SupervisorRef | undefined => system.whereis(names.workers) as SupervisorRef | undefined;

  const supervisor = await startSupervisor(system, {
    name: names.top,
    strategy: 'rest_for_one',
    maxRestarts,
    maxSeconds,
    children: [
      { id: 'registry', start: () => startRegistry(system, { name: names.registry }) },
      {
        id: 'workers',
        type: 'supervisor',
        // Reads the table at each (re)start, so workers added at run time come back too.
        start: () =>
          startSupervisor(system, {
            name: names.workers,
            maxRestarts,
            maxSeconds,
            children: [...table].map(([n, w]) => workerSpec(n, w)),
          }),
      },
      {
        id: 'pool',
        start: () => startPool(system, { ...poolOptions, registry: registry()!, name: names.pool, store, ...(shared ? { shared } : {}) }),
      },
    ],
  });

  const dispatcher = new Dispatcher(system, names.pool, requestDefaults(rest), { cache: t.cache, route: t.router, store: shared });
  const closeStore = t.owned ? () => shared!.close() : undefined;
  return new WorkersHandle({ system, supervisor, dispatcher, table, fromConfig, workerSpec, workersSup, ownSystem, closeStore, store: shared });
}

interface HandleParts {
  readonly system: ActorSystem;
  readonly supervisor: SupervisorRef;
  readonly dispatcher: Dispatcher;
  /** The configured workers (the workers' supervisor starts from it at each restart). */
  readonly table: Map<string, LlmWorker>;
  /** name -> settings, for workers that came from a config entry: compared on reload. */
  readonly fromConfig: Map<string, string>;
  readonly workerSpec: (name: string, worker: LlmWorker) => ChildSpec;
  readonly workersSup: () => SupervisorRef | undefined;
  /** The actor system was created by `startWorkers`: `stop` shuts it down too. */
  readonly ownSystem: boolean;
  /** Closes the shared store `startWorkers` opened (a Redis connection). */
  readonly closeStore: (() => Promise<void>) | undefined;
  readonly store: SharedStore | undefined;
}

/** The app's handle on a running tree (see {@link Workers}). */
class WorkersHandle implements Workers {
  readonly system: ActorSystem;
  readonly supervisor: SupervisorRef;
  readonly dispatcher: Dispatcher;
  readonly store: SharedStore | undefined;
  #stopped: Promise<void> | null = null;

  constructor(private readonly p: HandleParts) {
    this.store = p.store;
    this.system = p.system;
    this.supervisor = p.supervisor;
    this.dispatcher = p.dispatcher;
    // Apps destructure the handle (`const { dispatcher, stop } = await startWorkers(...)`).
    for (const m of ['addWorker', 'removeWorker', 'workerNames', 'reload', 'reloadFile', 'stop'] as const) {
      (this as Record<string, unknown>)[m] = (this[m] as (...a: unknown[]) => unknown).bind(this);
    }
  }

  /** Refuses an operation once `stop` began. */
  #open(operation: string): void {
    if (this.#stopped !== null) throw new ShutdownError('refused', operation);
  }

  addWorker(worker: LlmWorker, name?: string): Promise<void>;
  addWorker(name: string, config: WorkerConfig): Promise<void>;
  async addWorker(first: LlmWorker | string, second?: string | WorkerConfig): Promise<void> {
    this.#open('addWorker');
    const { worker, name, settings } = workerOf(first, second);
    const { table, fromConfig } = this.p;
    const n = addToTable(table, worker, name);
    if (settings !== undefined) fromConfig.set(n, settings);
    const sup = this.p.workersSup();
    if (sup === undefined) return; // restarting: it will start from the table
    try {
      await startChild(sup, this.p.workerSpec(n, worker));
    } catch (e) {
      table.delete(n);
      fromConfig.delete(n);
      throw e;
    }
  }

  async removeWorker(name: string): Promise<boolean> {
    this.#open('removeWorker');
    if (!this.p.table.delete(name)) return false;
    const sup = this.p.workersSup();
    if (sup !== undefined) {
      await terminateChild(sup, name).catch(() => {});
      await deleteChild(sup, name).catch(() => {});
    }
    return true;
  }

  workerNames(): string[] {
    return [...this.p.table.keys()];
  }

  async reloadFile(path: string): Promise<{ added: string[]; removed: string[] }> {
    this.#open('reloadFile');
    return this.reload(await loadConfig(path));
  }

  async reload(config: LoadedConfig): Promise<{ added: string[]; removed: string[] }> {
    this.#open('reload');
    const { table, fromConfig } = this.p;
    const removed: string[] = [];
    const added: string[] = [];
    for (const n of [...table.keys()]) {
      const now = config.entries.get(n);
      if (now === undefined || (fromConfig.has(n) && fromConfig.get(n) !== now)) {
        await this.removeWorker(n);
        fromConfig.delete(n);
        removed.push(n);
      }
    }
    for (const w of config.workers) {
      const n = w.info().name;
      if (table.has(n)) continue;
      await this.addWorker(w, n);
      fromConfig.set(n, config.entries.get(n)!);
      added.push(n);
    }
    return { added, removed };
  }

  stop(options: StopWorkersOptions = {}): Promise<void> {
    const { drainMs } = options;
    try {
      if (drainMs !== undefined) checkMs(drainMs, 'drainMs'); // before the promise is kept: a bad call must not stop anything
    } catch (e) {
      return Promise.reject(e);
    }
    this.#stopped ??= (async () => {
      await this.dispatcher.drain(drainMs);
      if (!this.supervisor.exited) await stop(this.supervisor, 'shutdown');
      if (this.p.ownSystem) await this.system.shutdown();
      await this.p.closeStore?.();
    })();
    return this.#stopped;
  }
}

/** The worker `addWorker` was given: an object, or a name and a config entry. */
function workerOf(first: LlmWorker | string, second?: string | WorkerConfig): { worker: LlmWorker; name: string | undefined; settings?: string } {
  if (typeof first !== 'string') return { worker: first, name: second as string | undefined };
  if (typeof second !== 'object' || second === null) throw new InvalidArgumentError('config', 'a worker config entry, e.g. { kind: "ollama" }', second);
  const loaded = parseConfig({ workers: [{ ...second, name: first } as WorkerConfig] }, `worker "${first}"`);
  const settings = loaded.entries.get(first);
  return { worker: loaded.workers[0]!, name: first, ...(settings !== undefined ? { settings } : {}) };
}

function addToTable(table: Map<string, LlmWorker>, worker: LlmWorker, name?: string): string {
  checkWorker(worker, name ?? nameOf(worker));
  const n = name ?? worker.info().name;
  if (typeof n !== 'string' || n.trim() === '') throw new InvalidArgumentError('worker name', 'a non-empty string', n);
  if (table.has(n)) throw new AlreadyRegisteredError(n, 'worker');
  table.set(n, worker);
  return n;
}

export type { PoolRef };

/** The request policy's fields of the pool options: the dispatcher's defaults. */
function requestDefaults(o: PoolOptions): RequestPolicyOptions {
  const { firstChunkTimeoutMs, idleTimeoutMs, deadlineMs, continuation, queueTimeoutMs, hedge } = o;
  const out: RequestPolicyOptions = {};
  if (firstChunkTimeoutMs !== undefined) out.firstChunkTimeoutMs = firstChunkTimeoutMs;
  if (idleTimeoutMs !== undefined) out.idleTimeoutMs = idleTimeoutMs;
  if (deadlineMs !== undefined) out.deadlineMs = deadlineMs;
  if (continuation !== undefined) out.continuation = continuation;
  if (queueTimeoutMs !== undefined) out.queueTimeoutMs = queueTimeoutMs;
  if (hedge !== undefined) out.hedge = hedge;
  return out;
}

/** A worker's own name, for messages about it before it is checked. */
function nameOf(worker: unknown): string {
  try {
    const n = (worker as LlmWorker).info().name;
    return typeof n === 'string' && n !== '' ? n : '(unnamed)';
  } catch {
    return '(unnamed)';
  }
}
