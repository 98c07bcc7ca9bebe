import type { Health, LlmWorker, Price, Usage, WorkerCapabilities } from '../behaviour/types.js';
import { costOf } from '../behaviour/usage.js';
import type { WorkerError } from '../errors/pool.js';
import type { ResolvedLimits, WorkerLimits } from './admission.js';
import type { Circuit } from './circuit.js';
import type { LatencyWindow } from './latency-window.js';
import type { Checkout, CheckoutRequest } from './types.js';

/*
 * One worker as the pool keeps it (a slot), and what is read off a slot: its routes, what it
 * lacks for a request, its price, its limits as status shows them, its usage. The pool's
 * decisions over all slots are pool-state.ts.
 */

/** One worker as the pool keeps it: identity, then each concern in its own field. @internal */
export interface Slot {
  readonly name: string;
  readonly worker: LlmWorker;
  readonly kind: string;
  /** The GenAI provider for events, spans and metrics (`info().provider`, else its kind). */
  readonly provider: string;
  /** The worker's default model (the first it lists). */
  readonly model: string | undefined;
  /** What a request may route by to reach it: its tags, its name and its model. */
  readonly routes: ReadonlySet<string>;
  /** What it declared it supports beyond text (`WorkerInfo.capabilities`). */
  readonly capabilities: WorkerCapabilities;
  /** What its tokens cost, when its info says (for the cost of each request). */
  readonly price: Price | undefined;
  readonly priority: number;
  readonly limits: ResolvedLimits;
  health: Health | undefined;
  readonly circuit: Circuit;
  /** Left alone until `until` (a 429, a bad key, an exhausted quota, the backend's own limit headers). */
  cooldown: { readonly until: number; readonly reason: string } | null;
  readonly stats: { successes: number; failures: number; lastError?: string; latencyMs?: number; firstChunkMs?: number; usage?: { inputTokens: number; outputTokens: number; costUsd?: number } };
  /** Recent times to first chunk of successes (for a hedge's percentile delay). */
  readonly firstChunks: LatencyWindow;
}

/** Counts a complete answer's tokens, and their cost at the worker's price, on its slot. */
export function spent(slot: Slot, u: Usage): void {
  const total = (slot.stats.usage ??= { inputTokens: 0, outputTokens: 0 });
  total.inputTokens += u.promptTokens ?? 0;
  total.outputTokens += u.completionTokens ?? 0;
  const cost = costOf(u, slot.price);
  if (cost !== undefined) total.costUsd = (total.costUsd ?? 0) + cost;
}

/** The limits that are set, or undefined when none is. */
export function setLimits(l: ResolvedLimits): WorkerLimits | undefined {
  const out: { maxConcurrent?: number; rpm?: number; tpm?: number } = {};
  if (l.maxConcurrent !== Infinity) out.maxConcurrent = l.maxConcurrent;
  if (l.rpm !== Infinity) out.rpm = l.rpm;
  if (l.tpm !== Infinity) out.tpm = l.tpm;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Why a worker is taken out: the backend's refusal, or a key that was never there (say which variable to set). */
export function disabledBecause(e: WorkerError): string {
  if (e.kind === 'quota') return 'quota exhausted';
  if (e.status !== undefined) return `rejected credentials (HTTP ${e.status})`;
  return e.message.replace(`worker ${e.worker}: `, '');
}

/** `f()`, or `fallback` when it throws (a worker's own method). */
export function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/** `n` when finite, else `fallback`. */
export function finiteOr(n: number, fallback: number): number {
  return Number.isFinite(n) ? n : fallback;
}

/** A worker's routes: its tags, its name, its model. */
export function routesOf(name: string, tags: unknown, model: string | undefined): ReadonlySet<string> {
  const valid = Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  return new Set([...valid, name, ...(model !== undefined ? [model] : [])]);
}

/** The request reached this worker by one of its tags or its name, not by its model: the worker answers with its own model. */
export function aliased(slot: Slot, req: CheckoutRequest): boolean {
  return req.route !== undefined && req.route !== slot.model && slot.routes.has(req.route);
}

/** The checkout refusal of a route no worker carries. */
export function unrouted(route: string): Extract<Checkout, { kind: 'none' }> {
  return { ok: false, kind: 'none', skipped: [{ worker: '(routing)', reason: `no worker carries the tag or name "${route}"` }] };
}

/** Why `slot` cannot take `req` (a capability it lacks, a context too small), or undefined when it can. */
export function lacks(slot: Slot, req: CheckoutRequest): string | undefined {
  const caps = slot.capabilities;
  for (const need of req.needs ?? []) if (caps[need] !== true) return `does not support ${CAPABILITY_WORDS[need]}`;
  const ctx = caps.contextLength;
  if (typeof ctx === 'number' && req.tokens > ctx) return `context of ${ctx} tokens is too small for about ${req.tokens}`;
  if (typeof ctx === 'number' && req.minContext !== undefined && ctx <= req.minContext) {
    return `context of ${ctx} tokens is not larger than that of a worker whose backend found the conversation too long (${req.minContext})`;
  }
  return undefined;
}

const CAPABILITY_WORDS = { tools: 'tools', images: 'images', jsonSchema: 'a JSON schema response format' } as const;

/** The lease's `firstChunkPercentileMs`, when the request asked for one and the worker has enough samples. */
export function percentileMs(slot: Slot, req: CheckoutRequest): number | undefined {
  return req.percentile === undefined ? undefined : slot.firstChunks.percentile(req.percentile);
}

/** A worker's price, when its info gives a sound one (finite, not negative). */
export function priceOf(p: unknown): Price | undefined {
  const o = p as Price | undefined;
  const ok = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return o !== undefined && o !== null && ok(o.inputPerMTok) && ok(o.outputPerMTok) ? o : undefined;
}
