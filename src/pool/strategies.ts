import { InvalidArgumentError } from '../errors/runtime.js';

/** A worker as a selection strategy sees it. */
export interface Candidate {
  readonly name: string;
  /** Lower is preferred. */
  readonly priority: number;
  /** Streams in flight on it right now (exact). */
  readonly inflight: number;
}

/**
 * How the pool picks a worker. `prepare` runs only when the set of eligible workers changes,
 * so per-request cost does not grow with the number of workers; `pick` runs per attempt and
 * may update the strategy's own small state (a rotation cursor). Built-ins use this same
 * extension point.
 */
export interface SelectionStrategy<S = unknown> {
  /** Shown in `status()` and events. */
  readonly name: string;
  /** Builds the state from the eligible candidates; `previous` lets rotation survive changes. */
  prepare(candidates: readonly Candidate[], previous: S | undefined): S;
  /** The preferred candidate whose name is not in `exclude`, or undefined. */
  pick(state: S, exclude: ReadonlySet<string>): Candidate | undefined;
  /** Told when a candidate's in-flight count changes (for load-aware strategies). */
  loadChanged?(state: S, name: string, inflight: number): void;
}

/** Names of the built-in strategies. */
export type StrategyName = 'local_first' | 'round_robin' | 'least_loaded';

interface Ring {
  readonly members: readonly Candidate[];
  cursor: number;
}

/** Takes the next member of `ring` not in `exclude`, advancing its cursor past it. */
function takeFrom(ring: Ring, exclude: ReadonlySet<string>): Candidate | undefined {
  const n = ring.members.length;
  for (let i = 0; i < n; i++) {
    const idx = (ring.cursor + i) % n;
    const c = ring.members[idx]!;
    if (!exclude.has(c.name)) {
      ring.cursor = (idx + 1) % n;
      return c;
    }
  }
  return undefined;
}

/** Strict rotation over all eligible workers: request 1 to A, 2 to B, 3 to C, 4 to A. */
export const roundRobin: SelectionStrategy<Ring> = {
  name: 'round_robin',
  prepare: (candidates, previous) => ({
    members: [...candidates].sort((a, b) => a.name.localeCompare(b.name)),
    cursor: previous === undefined || candidates.length === 0 ? 0 : previous.cursor % candidates.length,
  }),
  pick: takeFrom,
};

/** Lowest priority number first (local before cloud); workers of equal priority take turns. */
export const localFirst: SelectionStrategy<Map<number, Ring>> = {
  name: 'local_first',
  prepare(candidates, previous) {
    const groups = new Map<number, Candidate[]>();
    for (const c of candidates) {
      const g = groups.get(c.priority);
      if (g) g.push(c);
      else groups.set(c.priority, [c]);
    }
    const out = new Map<number, Ring>();
    for (const p of [...groups.keys()].sort((a, b) => a - b)) {
      const members = groups.get(p)!.sort((a, b) => a.name.localeCompare(b.name));
      out.set(p, { members, cursor: (previous?.get(p)?.cursor ?? 0) % members.length });
    }
    return out;
  },
  pick(state, exclude) {
    for (const ring of state.values()) {
      const c = takeFrom(ring, exclude);
      if (c !== undefined) return c;
    }
    return undefined;
  },
};

interface LoadState {
  readonly byName: Map<string, { candidate: Candidate; load: number }>;
  /** In-flight count to the names carrying it; Set order rotates ties. */
  readonly buckets: Map<number, Set<string>>;
  min: number;
}

/**
 * Fewest streams in flight first, counted exactly. Ties rotate (the one picked moves to the
 * back of its tie group), so equal workers share the load. Picking costs O(1) amortised.
 */
export const leastLoaded: SelectionStrategy<LoadState> = {
  name: 'least_loaded',
  prepare(candidates) {
    const state: LoadState = { byName: new Map(), buckets: new Map(), min: Infinity };
    for (const c of [...candidates].sort((a, b) => a.name.localeCompare(b.name))) {
      state.byName.set(c.name, { candidate: c, load: c.inflight });
      bucket(state, c.inflight).add(c.name);
      state.min = Math.min(state.min, c.inflight);
    }
    return state;
  },
  pick(state, exclude) {
    if (state.byName.size === 0) return undefined;
    let load = state.min;
    let seen = 0;
    while (seen < state.byName.size) {
      const names = state.buckets.get(load);
      if (names !== undefined && names.size > 0) {
        for (const name of names) {
          if (!exclude.has(name)) {
            names.delete(name);
            names.add(name); // to the back of the tie group
            return state.byName.get(name)!.candidate;
          }
        }
        seen += names.size;
      } else if (load === state.min) {
        state.min = load + 1; // the lowest bucket emptied: move the floor up
      }
      load++;
    }
    return undefined;
  },
  loadChanged(state, name, inflight) {
    const e = state.byName.get(name);
    if (e === undefined || e.load === inflight) return;
    state.buckets.get(e.load)?.delete(name);
    e.load = inflight;
    bucket(state, inflight).add(name);
    if (inflight < state.min) state.min = inflight;
  },
};

function bucket(state: LoadState, load: number): Set<string> {
  let b = state.buckets.get(load);
  if (b === undefined) {
    b = new Set();
    state.buckets.set(load, b);
  }
  return b;
}

/** The built-in strategy of that name, or the given strategy after checking its shape. */
export function resolveStrategy(s: StrategyName | SelectionStrategy<never> | undefined): SelectionStrategy<unknown> {
  switch (s) {
    case undefined:
    case 'local_first':
      return localFirst as SelectionStrategy<unknown>;
    case 'round_robin':
      return roundRobin as SelectionStrategy<unknown>;
    case 'least_loaded':
      return leastLoaded as SelectionStrategy<unknown>;
    default:
      if (typeof s === 'object' && s !== null && typeof s.prepare === 'function' && typeof s.pick === 'function') {
        return s as SelectionStrategy<unknown>;
      }
      throw new InvalidArgumentError('strategy', "'local_first', 'round_robin', 'least_loaded' or a SelectionStrategy", s);
  }
}
