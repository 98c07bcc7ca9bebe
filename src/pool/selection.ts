import type { Candidate, LatencySample, SelectionStrategy } from './strategies.js';

/** Names a pick must skip. */
export interface Excluded {
  has(name: string): boolean;
}

const NONE: Excluded = { has: () => false };

/** `a` or `b`. */
function either(a: Excluded, b: ReadonlySet<string>): Excluded {
  return { has: (n) => a.has(n) || b.has(n) };
}

/** What a pick found. */
export type Pick<T> =
  | { readonly kind: 'picked'; readonly candidate: Candidate; readonly admitted: T }
  /** Nothing eligible had room, but some eligible worker will (it is at its limits): wait. */
  | { readonly kind: 'full' }
  /** No eligible worker at all (down, open, cooling, or excluded). */
  | { readonly kind: 'none' };

/**
 * The eligible workers and the strategy's state over them, rebuilt only when eligibility
 * changes. A pick asks the strategy, then admission (`admit`): a worker at its limits is skipped
 * for this pick and the strategy asked again, so a full tier spills over to the next one, or,
 * with `overflow: 'wait'`, the request waits for the tier it prefers.
 * @internal
 */
export class Selection {
  #state: unknown = undefined;
  #eligible = new Set<string>();
  /** The eligible candidates by priority, then name: the order after the strategy's first choice. */
  #tiers: readonly Candidate[] = [];
  /** Workers that are only `busy` (by health): tried when nothing else is left. */
  #busy: readonly Candidate[] = [];

  constructor(private readonly strategy: SelectionStrategy<unknown>) {}

  get name(): string {
    return this.strategy.name;
  }

  /** Rebuilds from the eligible and busy candidates (after a change of health, circuit, cool-down or membership). */
  prepare(eligible: readonly Candidate[], busy: readonly Candidate[]): void {
    this.#state = this.strategy.prepare(eligible, this.#state);
    this.#eligible = new Set(eligible.map((c) => c.name));
    this.#tiers = [...eligible].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    this.#busy = busy;
  }

  /** Tells a load-aware strategy of a new in-flight count. */
  loadChanged(name: string, inflight: number): void {
    this.strategy.loadChanged?.(this.#state, name, inflight);
  }

  /**
   * The strategy's choice among the eligible workers not excluded that `admit` lets in (it
   * returns undefined for a worker at its limits); then a busy one. `wait`: never go to a
   * worse tier than a full one.
   */
  pick<T>(exclude: Excluded, admit: (c: Candidate) => T | undefined, wait: boolean): Pick<T> {
    let full: Set<string> | null = null; // made only when a worker is at its limits
    let bestFull = Infinity;
    for (;;) {
      const c = this.strategy.pick(this.#state, (full === null ? exclude : either(exclude, full)) as ReadonlySet<string>);
      if (c === undefined) break;
      if (wait && c.priority > bestFull) return { kind: 'full' };
      const admitted = admit(c);
      if (admitted !== undefined) return { kind: 'picked', candidate: c, admitted };
      (full ??= new Set()).add(c.name);
      bestFull = Math.min(bestFull, c.priority);
    }
    for (const c of this.#busy) {
      if (exclude.has(c.name) || full?.has(c.name)) continue;
      const admitted = admit(c);
      if (admitted !== undefined) return { kind: 'picked', candidate: c, admitted };
      (full ??= new Set()).add(c.name);
    }
    return full !== null ? { kind: 'full' } : { kind: 'none' };
  }

  /**
   * Every worker a request may go to, in the order to try them, for a shared store that admits
   * the first with room in one step: the strategy's choice, then the other eligible workers by
   * tier, then the busy ones. `wait`: none from a worse tier than the strategy's choice.
   */
  plan(exclude: Excluded, wait: boolean): Candidate[] {
    const first = this.strategy.pick(this.#state, exclude as ReadonlySet<string>);
    const free = (c: Candidate): boolean => !exclude.has(c.name) && c.name !== first?.name;
    if (first === undefined) return this.#busy.filter(free);
    const rest = this.#tiers.filter((c) => free(c) && (!wait || c.priority <= first.priority));
    return wait ? [first, ...rest] : [first, ...rest, ...this.#busy.filter(free)];
  }

  /** Tells a latency-aware strategy how an attempt went. */
  observed(name: string, sample: LatencySample): void {
    this.strategy.observed?.(this.#state, name, sample);
  }

  /** Whether the strategy wants in-flight counts (only load-aware ones do). */
  get loadAware(): boolean {
    return this.strategy.loadChanged !== undefined;
  }

  /** Eligible workers left for a request that excludes `exclude` and now uses `using`. */
  alternatives(exclude: readonly string[], using: string): number {
    let n = this.#eligible.size - (this.#eligible.has(using) ? 1 : 0);
    for (const name of exclude) if (name !== using && this.#eligible.has(name)) n--;
    return Math.max(0, n);
  }
}

/** An `Excluded` over a list of names (a request's tried workers). @internal */
export function excluding(names: readonly string[]): Excluded {
  return names.length === 0 ? NONE : new Set(names);
}
