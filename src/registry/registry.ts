import type { LlmWorker } from '../behaviour/types.js';
import { AlreadyRegisteredError, InvalidArgumentError } from '../errors/runtime.js';
import type { Actor } from '../runtime/actor.js';
import { call, demonitor } from '../runtime/api.js';
import { checkSystem, type ActorSystem } from '../runtime/system.js';
import { resolveLimits } from '../pool/admission.js';
import { reply, type ActorRef, type Behaviour, type MonitorRef } from '../runtime/types.js';

/** One registered worker. */
export interface RegistryEntry {
  readonly name: string;
  readonly worker: LlmWorker;
  /** The supervised actor that owns the worker; when it exits, the entry is removed. */
  readonly process?: ActorRef;
}

/** What subscribers receive in `handleInfo` when the registry changes. */
export type RegistryChange =
  | { readonly type: 'registry.registered'; readonly entry: RegistryEntry }
  | { readonly type: 'registry.unregistered'; readonly name: string };

type Outcome = { ok: true } | { ok: false; error: Error };

/** The messages the registry takes (use {@link register} and the other functions rather than calling it). */
export type RegistryProtocol = {
  call:
    | { type: 'register'; entry: RegistryEntry }
    | { type: 'unregister'; name: string }
    | { type: 'get'; name: string }
    | { type: 'listAll' }
    | { type: 'subscribe'; subscriber: ActorRef };
  replies: {
    register: Outcome;
    unregister: boolean;
    get: RegistryEntry | undefined;
    listAll: RegistryEntry[];
    subscribe: RegistryEntry[];
  };
};

/** A running registry. */
export type RegistryRef = ActorRef<RegistryProtocol>;

interface State {
  entries: Map<string, RegistryEntry & { monitor?: MonitorRef }>;
  subscribers: Set<ActorRef>;
}

const registryBehaviour: Behaviour<State, RegistryProtocol> = {
  init: () => ({ entries: new Map(), subscribers: new Set() }),

  handleCall(msg, state, _from, ctx) {
    switch (msg.type) {
      case 'register': {
        const { entry } = msg;
        const existing = state.entries.get(entry.name);
        if (existing !== undefined && !(entry.process !== undefined && existing.process === entry.process)) {
          return reply({ ok: false, error: new AlreadyRegisteredError(entry.name, 'worker') }, state);
        }
        const monitor = existing?.monitor ?? (entry.process ? (ctx.self as Actor).monitor(entry.process as Actor) : undefined);
        state.entries.set(entry.name, { ...entry, monitor });
        notify(state, { type: 'registry.registered', entry: strip(entry) });
        return reply({ ok: true }, state);
      }
      case 'unregister':
        return reply(remove(state, msg.name), state);
      case 'get': {
        const e = state.entries.get(msg.name);
        return reply(e && strip(e), state);
      }
      case 'listAll':
        return reply([...state.entries.values()].map(strip), state);
      case 'subscribe':
        state.subscribers.add(msg.subscriber);
        (ctx.self as Actor).monitor(msg.subscriber as Actor);
        return reply([...state.entries.values()].map(strip), state);
    }
  },

  handleInfo(msg, state) {
    if (msg.type === 'DOWN') {
      // A subscriber went away, or a worker's process died: no stale entries.
      state.subscribers.delete(msg.actor);
      for (const [name, e] of state.entries) if (e.process === msg.actor) remove(state, name);
    }
    return state;
  },
};

function strip(e: RegistryEntry & { monitor?: MonitorRef }): RegistryEntry {
  return e.process === undefined ? { name: e.name, worker: e.worker } : { name: e.name, worker: e.worker, process: e.process };
}

function remove(state: State, name: string): boolean {
  const e = state.entries.get(name);
  if (e === undefined) return false;
  state.entries.delete(name);
  if (e.monitor) demonitor(e.monitor);
  notify(state, { type: 'registry.unregistered', name });
  return true;
}

function notify(state: State, change: RegistryChange): void {
  for (const s of state.subscribers) (s as Actor).info(change);
}

/** Starts a registry actor. */
export function startRegistry(system: ActorSystem, options: { name?: string } = {}): Promise<RegistryRef> {
  try {
    checkSystem(system);
  } catch (e) {
    return Promise.reject(e);
  }
  return system.spawn(registryBehaviour, undefined, { name: options.name });
}

/**
 * Registers `worker` under `name`. With `process`, the entry is removed when that actor exits.
 * @throws AlreadyRegisteredError (`code: 'already_registered'`) if the name is taken.
 * @throws InvalidArgumentError for an empty name or a worker missing a method.
 */
export async function register(registry: RegistryRef, name: string, worker: LlmWorker, process?: ActorRef): Promise<void> {
  checkName(name);
  checkWorker(worker, name);
  const r = await call(registry, { type: 'register', entry: process ? { name, worker, process } : { name, worker } });
  if (!r.ok) throw r.error;
}

/** Removes a worker; resolves false if no worker had that name. */
export function unregister(registry: RegistryRef, name: string): Promise<boolean> {
  return call(registry, { type: 'unregister', name });
}

/** The entry registered under `name`, if any. */
export function lookup(registry: RegistryRef, name: string): Promise<RegistryEntry | undefined> {
  return call(registry, { type: 'get', name });
}

/** Every registered worker, in registration order. */
export function listAll(registry: RegistryRef): Promise<RegistryEntry[]> {
  return call(registry, { type: 'listAll' });
}

/**
 * Subscribes an actor to changes: it receives {@link RegistryChange} messages in `handleInfo`.
 * Resolves with the current entries, so nothing is missed between the two.
 */
export function subscribe(registry: RegistryRef, subscriber: ActorRef): Promise<RegistryEntry[]> {
  return call(registry, { type: 'subscribe', subscriber });
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidArgumentError('name', 'a non-empty string', name);
}

/** @internal */
export function checkWorker(worker: unknown, name: string): void {
  for (const m of ['healthCheck', 'streamCompletion', 'info', 'priority'] as const) {
    if (typeof (worker as Record<string, unknown> | null)?.[m] !== 'function') {
      throw new InvalidArgumentError(`worker "${name}".${m}`, 'a function (the LlmWorker contract)', (worker as Record<string, unknown> | null)?.[m]);
    }
  }
  const limits = (worker as LlmWorker).limits;
  if (limits !== undefined) {
    if (typeof limits !== 'function') throw new InvalidArgumentError(`worker "${name}".limits`, 'a function returning WorkerLimits', limits);
    resolveLimits(limits.call(worker), `worker "${name}".limits()`);
  }
}
