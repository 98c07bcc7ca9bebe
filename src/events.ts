import type { StoreTrouble } from './store/store.js';
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

interface SupervisorEventBase {
  /** The supervisor that reports. */
  readonly supervisor: ActorRef;
  /** The child spec id. */
  readonly id: string;
}
/** A supervisor started (or restarted) a child. */
export interface ChildStartedEvent extends SupervisorEventBase {
  readonly type: 'supervisor.child_started';
  readonly child: unknown;
}
/** A child's `start` failed. */
export interface ChildStartFailedEvent extends SupervisorEventBase {
  readonly type: 'supervisor.child_start_failed';
  readonly error: Error;
}
/** A supervised child exited (crash or normal). */
export interface ChildExitedEvent extends SupervisorEventBase {
  readonly type: 'supervisor.child_exited';
  readonly reason: ExitReason;
}
/** A supervisor is restarting a child (and its group), after `delayMs` of backoff. */
export interface ChildRestartingEvent extends SupervisorEventBase {
  readonly type: 'supervisor.child_restarting';
  readonly delayMs: number;
}
/** A child did not stop within its shutdown time and was abandoned. */
export interface ChildShutdownTimeoutEvent extends SupervisorEventBase {
  readonly type: 'supervisor.child_shutdown_timeout';
  readonly timeoutMs: number;
}
/** A supervisor went over its restart intensity and is giving up (escalating). */
export interface IntensityExceededEvent extends SupervisorEventBase {
  readonly type: 'supervisor.intensity_exceeded';
  readonly maxRestarts: number;
  readonly maxSeconds: number;
}
/** A supervisor stopped all its children and exited. */
export interface SupervisorShutdownEvent {
  readonly type: 'supervisor.shutdown';
  readonly supervisor: ActorRef;
  readonly reason: ExitReason;
}

/** Events of supervisors. */
export type SupervisorEvent =
  | ChildStartedEvent
  | ChildStartFailedEvent
  | ChildExitedEvent
  | ChildRestartingEvent
  | ChildShutdownTimeoutEvent
  | IntensityExceededEvent
  | SupervisorShutdownEvent;

/** A request entered the dispatcher (emitted in the caller's turn, so in its async context). */
export interface RequestStartedEvent {
  readonly type: 'pool.request_started';
  readonly requestId: number;
  /** The model the caller asked for, if any (else each worker's default). */
  readonly model: string | undefined;
  readonly messages: number;
}
/** A request was answered from the response cache (no worker was asked). */
export interface CacheHitEvent {
  readonly type: 'pool.cache_hit';
  readonly model: string | undefined;
  readonly messages: number;
  /** Replayed from an identical request that was in flight (single flight), not from a kept answer. */
  readonly inFlight?: true;
  /** The worker that gave the answer replayed. */
  readonly worker?: string;
  /** The model asked of that worker (as `pool.stream_finished`'s `model`), when known. */
  readonly workerModel?: string;
  /** Who the request was for (`DispatchOptions.tenant`), when told. */
  readonly tenant?: string;
  /** What the answer cost when it was asked, US dollars: what this hit saved (when its worker has a price). */
  readonly savedUsd?: number;
}
/** A request's worker sent no first chunk within the hedge delay: the same request was started on `hedge` too. */
export interface HedgeStartedEvent {
  readonly type: 'pool.hedge_started';
  readonly requestId: number;
  /** The slow worker. */
  readonly worker: string;
  /** The worker the request was also started on. */
  readonly hedge: string;
  /** The delay that passed, ms. */
  readonly afterMs: number;
}
/** A hedge race ended: `winner` sent the first chunk (`hedge`: the hedge won), or both failed (`winner` undefined). */
export interface HedgeSettledEvent {
  readonly type: 'pool.hedge_settled';
  readonly requestId: number;
  readonly winner: string | undefined;
  readonly result: 'hedge_won' | 'primary_won' | 'both_failed';
}
/** A request was sent to a worker (`attempt` counts from 1 across failovers; `segment` counts continuations). */
export interface DispatchEvent {
  readonly type: 'pool.dispatch';
  readonly requestId: number;
  readonly worker: string;
  readonly attempt: number;
  readonly segment: number;
  /** The worker's kind (`ollama`, `openai`...): the GenAI provider. */
  readonly kind: string;
  /** The model asked of this worker (the request's, or the worker's default). */
  readonly model: string | undefined;
  /** How long this checkout waited for a slot (in the pool's queue), ms; 0 when one was free. */
  readonly queuedMs: number;
}
/** An attempt failed: before any chunk (`start`, `first_chunk`) or mid-stream. */
export interface AttemptFailedEvent {
  readonly type: 'pool.attempt_failed';
  readonly requestId: number;
  readonly worker: string;
  readonly phase: 'start' | 'first_chunk' | 'mid_stream';
  readonly reason: string;
  readonly error: unknown;
  /**
   * Whose fault: `'worker'` (its backend failed), or `'caller'` (the backend refused the request
   * itself, HTTP 400/422: not counted against the worker).
   */
  readonly blame: 'worker' | 'caller';
}
/** The request moves on to the next worker: emitted when the next attempt starts, and only then. */
export interface FailoverEvent {
  readonly type: 'pool.failover';
  readonly requestId: number;
  readonly from: string;
  /** Characters already delivered: above 0, this is a continuation. */
  readonly deliveredChars: number;
  /** Set when `from`'s backend found the conversation too long: the next worker has a larger (or unknown) context. */
  readonly because?: 'context_length_exceeded';
}
/** A request ended. */
export interface StreamFinishedEvent {
  readonly type: 'pool.stream_finished';
  readonly requestId: number;
  /** The last worker that streamed, if any. */
  readonly worker: string | undefined;
  /**
   * How it ended: `complete`; `interrupted` (broke after text); `aborted` (the caller's signal);
   * `abandoned` (the caller stopped reading: `break`, `return()`); `invalid_request` (a backend
   * refused the request itself); `no_workers` (none could take it, the queue full or timed out);
   * `deadline`; `shutdown`.
   */
  readonly outcome: 'complete' | 'interrupted' | 'aborted' | 'abandoned' | 'invalid_request' | 'no_workers' | 'deadline' | 'shutdown';
  readonly chars: number;
  readonly ms: number;
  /** Chunks delivered to the caller, across workers. */
  readonly chunks: number;
  /** From the request's start to its first chunk, ms (absent when none came). */
  readonly firstChunkMs?: number;
  /**
   * From the request's start to its last chunk, ms: when it came, for the final chunk of an answer
   * that completed (and a chunk that was an attempt's first); for a chunk in between, when the
   * caller was done with it (asked for the next, or the request ended), so the caller's own time on
   * that one chunk is included. The pool reads the clock once per chunk, not twice.
   */
  readonly lastChunkMs?: number;
  /** Tokens the backend reported on the final chunk. */
  readonly usage?: { readonly promptTokens?: number; readonly completionTokens?: number };
  /** The last worker's kind and the model asked of it. */
  readonly kind?: string;
  readonly model?: string;
  /** Why it did not complete, in words (the message of the error the caller got), when it is known. */
  readonly reason?: string;
  /** Who it was for (`DispatchOptions.tenant`: the gateway's key id), when told. */
  readonly tenant?: string;
  /** The route (tag) it went to, when the caller asked for one or the router chose it. */
  readonly route?: string;
  /** What it cost, US dollars, when its usage and its worker's price are known (never guessed). */
  readonly costUsd?: number;
}
/** A health check changed a worker's health. */
export interface HealthChangedEvent {
  readonly type: 'pool.health_changed';
  readonly worker: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string | undefined;
}
/** A worker's circuit breaker changed state. */
export interface CircuitChangedEvent {
  readonly type: 'pool.circuit_changed';
  readonly worker: string;
  readonly state: 'closed' | 'open' | 'half_open';
}
/** A worker is left alone for a while (rate limit, bad key, no quota). */
export interface CooldownEvent {
  readonly type: 'pool.cooldown';
  readonly worker: string;
  readonly ms: number;
  readonly reason: string;
}

/** Events of pools and the streams through them. */
export type PoolEvent =
  | RequestStartedEvent
  | CacheHitEvent
  | HedgeStartedEvent
  | HedgeSettledEvent
  | DispatchEvent
  | AttemptFailedEvent
  | FailoverEvent
  | StreamFinishedEvent
  | HealthChangedEvent
  | CircuitChangedEvent
  | CooldownEvent;

/** The shared store cannot be reached: the pool decides alone (limits hold per instance) until it is back. */
export interface StoreDegradedEvent {
  readonly type: 'store.degraded';
  readonly store: 'memory' | 'redis';
  readonly reason: string;
  /** Why, for a machine: `auth_failed`, `protocol`, `timeout` or `unreachable`. */
  readonly code: StoreTrouble;
}
/** The shared store is back: limits, circuits and cool-downs are shared again. */
export interface StoreRestoredEvent {
  readonly type: 'store.restored';
  readonly store: 'memory' | 'redis';
}
/** Another live instance configures a worker of the same name differently (`fields` name how). */
export interface StoreConfigMismatchEvent {
  readonly type: 'store.config_mismatch';
  readonly worker: string;
  readonly fields: readonly string[];
}

/** Events of a pool's shared store. */
export type StoreInspectionEvent = StoreDegradedEvent | StoreRestoredEvent | StoreConfigMismatchEvent;

/** Every event on a system's inspection stream. */
export type InspectionEvent = RuntimeEvent | SupervisorEvent | PoolEvent | StoreInspectionEvent;
