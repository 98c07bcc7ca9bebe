import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { resolveLimits, type ResolvedLimits, type WorkerLimits } from '../pool/admission.js';
import { InvalidArgumentError } from '../errors/runtime.js';
import { MemoryStore } from '../store/memory.js';
import type { SharedLease, SharedStore } from '../store/store.js';
import type { GatewayKeyConfig } from '../config/config.js';
import { GatewayError } from './errors.js';

/**
 * A client key of the gateway, with what it may use. Give the key itself (from the
 * environment), or its SHA-256 (hex) so that the key never sits in a config file; only `id` is
 * ever shown (logs, errors, metrics).
 */
export interface GatewayKey extends WorkerLimits {
  /** Names the key wherever it must be named (never the key itself). */
  readonly id: string;
  /** The key (at least 8 characters). */
  readonly key?: string;
  /** Or the key's SHA-256, as 64 hex digits. */
  readonly sha256?: string;
  /** The routes (tags, worker names, models) it may ask for; absent: any, the pool's choice included. */
  readonly routes?: readonly string[];
  /** May read every key's usage (`GET /v1/usage`). Default false: a key reads its own. */
  readonly admin?: boolean;
  /**
   * What it may use per UTC day or month: `tokens` (input and output, as the backends report
   * them) or `usd` (US dollars, each answer at its worker's `price`); once used, its requests get
   * a 429 (`code: 'budget_exceeded'`, `retry-after`: until it renews).
   */
  readonly budget?: KeyBudget;
}

/**
 * A key's budget per UTC `day` or `month`: `tokens`, or `usd` (an answer whose cost is unknown,
 * from a worker without a `price`, is not counted: give every worker of its routes a price).
 */
export type KeyBudget = { readonly tokens: number; readonly per: 'day' | 'month' } | { readonly usd: number; readonly per: 'day' | 'month' };

/** What an answer used, for the key's limits and budget. @internal */
export interface Spent {
  readonly tokens?: number | undefined;
  readonly costUsd?: number | undefined;
}

/** A budget as it is counted: in tokens, or in nano-dollars (whole numbers, as the store counts). */
interface Budget {
  readonly unit: 'tokens' | 'usd';
  /** The limit in counted units. */
  readonly limit: number;
  readonly per: 'day' | 'month';
}

const NANO = 1e9;

/** A key as the gateway checks it. @internal */
export interface KeyEntry {
  readonly id: string;
  readonly digest: Buffer;
  /** The response cache's scope for its requests (a hash prefix, never the key). */
  readonly scope: string;
  readonly routes: ReadonlySet<string> | undefined;
  readonly limits: ResolvedLimits;
  readonly limited: boolean;
  readonly admin: boolean;
  readonly budget: Budget | undefined;
}

/**
 * Checks the keys given to the gateway (plain strings or {@link GatewayKey}s) and makes their
 * entries. @throws InvalidArgumentError naming the key by its id or position (never its value). @internal
 */
export function keyEntries(keys: readonly (string | GatewayKey)[]): KeyEntry[] {
  if (!Array.isArray(keys) || keys.length === 0) throw new InvalidArgumentError('options.keys', 'a non-empty list of keys', '(not shown)');
  const ids = new Set<string>();
  return keys.map((k, i) => {
    const spec: GatewayKey = typeof k === 'string' ? { id: `key-${i + 1}`, key: k } : k;
    const at = typeof k === 'string' ? `options.keys[${i}]` : `options.keys[${i}] (${String(spec.id)})`;
    if (typeof spec !== 'object' || spec === null || typeof spec.id !== 'string' || spec.id === '') throw new InvalidArgumentError(`options.keys[${i}].id`, 'a non-empty string', '(not shown)');
    if (ids.has(spec.id)) throw new InvalidArgumentError(`${at}.id`, 'an id no other key has', spec.id);
    ids.add(spec.id);
    const digest = digestOf(spec, at);
    const limits = resolveLimits({ ...(spec.maxConcurrent !== undefined ? { maxConcurrent: spec.maxConcurrent } : {}), ...(spec.rpm !== undefined ? { rpm: spec.rpm } : {}), ...(spec.tpm !== undefined ? { tpm: spec.tpm } : {}) }, at);
    if (spec.routes !== undefined && (!Array.isArray(spec.routes) || spec.routes.some((r) => typeof r !== 'string' || r === ''))) throw new InvalidArgumentError(`${at}.routes`, 'a list of route names', spec.routes);
    return {
      id: spec.id,
      digest,
      scope: `key:${digest.toString('base64url').slice(0, 16)}`,
      routes: spec.routes === undefined ? undefined : new Set(spec.routes),
      limits,
      limited: limits.maxConcurrent !== Infinity || limits.rpm !== Infinity || limits.tpm !== Infinity,
      admin: spec.admin === true,
      budget: budgetOf(spec.budget, at),
    };
  });
}

function budgetOf(b: KeyBudget | undefined, at: string): Budget | undefined {
  if (b === undefined) return undefined;
  const o = (typeof b === 'object' && b !== null ? b : {}) as { tokens?: unknown; usd?: unknown; per?: unknown };
  const per = o.per === 'day' || o.per === 'month' ? o.per : undefined;
  const tokens = typeof o.tokens === 'number' && Number.isInteger(o.tokens) && o.tokens > 0 ? o.tokens : undefined;
  const usd = typeof o.usd === 'number' && Number.isFinite(o.usd) && o.usd > 0 ? o.usd : undefined;
  const one = (o.tokens === undefined) !== (o.usd === undefined);
  if (per === undefined || !one || (tokens === undefined && usd === undefined)) {
    throw new InvalidArgumentError(`${at}.budget`, "{ tokens: a whole number > 0, or usd: a number > 0; per: 'day' | 'month' }", b);
  }
  return tokens !== undefined ? { unit: 'tokens', limit: tokens, per } : { unit: 'usd', limit: Math.round(usd! * NANO), per };
}

function digestOf(spec: GatewayKey, at: string): Buffer {
  if (spec.key !== undefined && spec.sha256 !== undefined) throw new InvalidArgumentError(at, 'either key or sha256, not both', '(not shown)');
  if (spec.key !== undefined) {
    if (typeof spec.key !== 'string' || spec.key.length < 8) throw new InvalidArgumentError(`${at}.key`, 'a key of at least 8 characters', '(not shown)');
    return createHash('sha256').update(spec.key).digest();
  }
  if (typeof spec.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(spec.sha256)) return Buffer.from(spec.sha256, 'hex');
  throw new InvalidArgumentError(`${at}.sha256`, 'the SHA-256 of the key as 64 hex digits (or give key)', '(not shown)');
}

/**
 * The key a request carries (`Authorization: Bearer KEY`, the scheme in any case; or Anthropic's
 * `x-api-key`), compared with every entry in constant time; undefined when none matches. @internal
 */
export function keyOf(entries: readonly KeyEntry[], req: IncomingMessage): KeyEntry | undefined {
  const m = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  const key = m?.[1] ?? (typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined);
  if (key === undefined || key === '') return undefined;
  const given = createHash('sha256').update(key).digest();
  let found: KeyEntry | undefined;
  for (const e of entries) if (timingSafeEqual(given, e.digest)) found = e;
  return found;
}

/** A key may ask for `route` (undefined: the pool's choice); a 403 names what it may use. @internal */
export function checkScope(key: KeyEntry | undefined, route: string | undefined): void {
  if (key?.routes === undefined) return;
  if (route !== undefined && key.routes.has(route)) return;
  const allowed = [...key.routes].join(', ');
  throw new GatewayError(403, `key ${key.id} may use only: ${allowed}${route === undefined ? ' (name one as the model)' : `, not "${route}"`}`, 'model', 'permission_error', undefined, 'route_not_allowed');
}

/**
 * Each key's limits (`maxConcurrent`, `rpm`, `tpm`), held in the pool's shared store when it has
 * one (so every gateway instance counts the same), else in this process. @internal
 */
export class KeyLimits {
  readonly #store: SharedStore;

  constructor(shared: SharedStore | undefined) {
    this.#store = shared ?? new MemoryStore();
  }

  /**
   * Takes a slot of `key`'s limits for one request, or refuses with 429 and `retry-after` (at
   * its limits, or its budget used); what it returns gives the slot back and spends the tokens.
   */
  async admit(key: KeyEntry, tokens: number): Promise<(spent: Spent | undefined) => void> {
    const budget = key.budget === undefined ? undefined : await this.#budget(key, key.budget);
    const release = await this.#limits(key, tokens);
    return (spent) => {
      release(spent?.tokens);
      const units = key.budget === undefined ? undefined : unitsOf(key.budget, spent);
      if (budget !== undefined && units !== undefined && units > 0) this.#spend(budget, units);
    };
  }

  /** The key's budget this period: refused when used up; else the period's counter, to spend in. */
  async #budget(key: KeyEntry, b: Budget): Promise<string | undefined> {
    const { name, renewsAt } = period(key.id, b, Date.now());
    const used = await this.#used(name);
    if (used === undefined) return undefined; // the store is away: the budget is not held, rather than refusing
    if (used < b.limit) return name;
    const s = Math.max(1, Math.ceil((renewsAt - Date.now()) / 1000));
    throw new GatewayError(429, `key ${key.id} has used its budget of ${amount(b, b.limit)} this ${b.per} (${amount(b, used)} used); it renews at ${new Date(renewsAt).toISOString()}`, null, 'rate_limit_error', s, 'budget_exceeded');
  }

  #used(counter: string): Promise<number | undefined> {
    return this.#store.counters([counter]).then((c) => c.get(counter)?.tokens ?? 0, () => undefined);
  }

  /** Where `key`'s budget stands this period (`used`: undefined when the store did not answer); undefined without a budget. */
  async budgetOf(key: KeyEntry, now: number = Date.now()): Promise<KeyBudgetState | undefined> {
    const b = key.budget;
    if (b === undefined) return undefined;
    const { name, startsAt, renewsAt } = period(key.id, b, now);
    const used = await this.#used(name);
    const inUnits = (n: number): number => (b.unit === 'usd' ? n / NANO : n);
    return { [b.unit]: inUnits(b.limit), per: b.per, used: used === undefined ? undefined : inUnits(used), since: startsAt, renewsAt } as KeyBudgetState;
  }

  /** Counts `tokens` in the period's counters (a lease taken and given back with them). */
  #spend(periodName: string, tokens: number): void {
    const store = this.#store;
    void store.claim?.(periodName, { tokens: 0, ageMs: 0, windowed: false }).then(
      (lease) => store.release(lease, { kind: 'success', tokens }, NO_CIRCUIT),
      () => undefined,
    );
  }

  async #limits(key: KeyEntry, tokens: number): Promise<(usedTokens: number | undefined) => void> {
    if (!key.limited) return () => undefined;
    const name = `key:${key.id}`;
    const r = await this.#store.admit({ candidates: [{ name, limits: key.limits }], tokens, waits: false }).catch(() => null); // refused: 429 at once
    if (r === null) return () => undefined; // the store is away: the key's limits are not held, the request is not refused for it
    if (r.kind !== 'admitted') {
      const s = r.kind === 'full' && r.retryMs !== undefined ? Math.max(1, Math.ceil(r.retryMs / 1000)) : 1;
      throw new GatewayError(429, `key ${key.id} is at its limits (${describeLimits(key.limits)}); retry later`, null, 'rate_limit_error', s, 'key_rate_limited');
    }
    return this.#release(r.lease);
  }

  #release(lease: SharedLease): (usedTokens: number | undefined) => void {
    let done = false;
    return (usedTokens) => {
      if (done) return;
      done = true;
      void this.#store.release(lease, { kind: 'success', ...(usedTokens !== undefined ? { tokens: usedTokens } : {}) }, NO_CIRCUIT).catch(() => undefined);
    };
  }
}

function describeLimits(l: ResolvedLimits): string {
  return (['maxConcurrent', 'rpm', 'tpm'] as const).filter((k) => l[k] !== Infinity).map((k) => `${k} ${l[k]}`).join(', ');
}

/**
 * A config file's keys as the gateway takes them: each `keyEnv` read from `env` (a variable
 * that is unset or too short is refused by its name, never its value). @internal
 */
export function keysFromConfig(keys: readonly GatewayKeyConfig[], env: Readonly<Record<string, string | undefined>>): GatewayKey[] {
  return keys.map((k) => {
    const { keyEnv, ...rest } = k;
    if (keyEnv === undefined) return rest;
    const key = env[keyEnv];
    if (key === undefined || key.length < 8) throw new InvalidArgumentError(`gateway.keys (${k.id}).keyEnv`, `the variable ${keyEnv} set to a key of at least 8 characters`, key === undefined ? 'unset' : '(too short, not shown)');
    return { ...rest, key };
  });
}

/** Keys have no circuit: a release never opens one. */
const NO_CIRCUIT = { failureThreshold: Number.MAX_SAFE_INTEGER, resetMs: 1 };

/**
 * The budget period `now` falls in (UTC), as a counter's name (one per unit, so a key whose
 * budget changes from tokens to dollars starts afresh), when it started and when the next starts.
 */
function period(id: string, b: Budget, now: number): { name: string; startsAt: number; renewsAt: number } {
  const d = new Date(now);
  const counter = b.unit === 'tokens' ? 'budget' : 'budget-usd';
  if (b.per === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { name: `${counter}:${id}:${new Date(start).toISOString().slice(0, 10)}`, startsAt: start, renewsAt: start + 86_400_000 };
  }
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { name: `${counter}:${id}:${d.toISOString().slice(0, 7)}`, startsAt: start, renewsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/** What an answer counts against a budget: its tokens, or its cost in nano-dollars (nothing when unknown). */
function unitsOf(b: Budget, spent: Spent | undefined): number | undefined {
  if (b.unit === 'tokens') return spent?.tokens;
  return spent?.costUsd === undefined ? undefined : Math.round(spent.costUsd * NANO);
}

/** An amount of a budget's units in words: `300 tokens`, `$0.25`. */
function amount(b: Budget, units: number): string {
  return b.unit === 'tokens' ? `${units} tokens` : `$${Number((units / NANO).toPrecision(6))}`;
}

/** Where a key's budget stands in its current period. */
export interface KeyBudgetState {
  /** The budget, for a budget in tokens: so many per `per`. */
  readonly tokens?: number;
  /** The budget, for a budget in money: so many US dollars per `per`. */
  readonly usd?: number;
  readonly per: 'day' | 'month';
  /** Used this period (tokens, or US dollars), counted in the shared store (every gateway instance's); undefined when the store did not answer. */
  readonly used: number | undefined;
  /** When the period started and when the next starts, ms since the epoch (UTC days and months). */
  readonly since: number;
  readonly renewsAt: number;
}
