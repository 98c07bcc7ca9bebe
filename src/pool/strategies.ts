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
  /** Told how each attempt on a worker went (for latency-aware strategies). */
  observed?(state: S, name: string, sample: LatencySample): void;
}

/** How one attempt on a worker went, as a latency-aware strategy is told. */
export interface LatencySample {
  /** It completed (false: it failed; a cancelled attempt is not a sample). */
  readonly ok: boolean;
  /** Its time to first chunk, ms, when one came. */
  readonly firstChunkMs?: number;
  /** Its whole duration, ms, when it completed. */
  readonly latencyMs?: number;
}

/** Names of the built-in strategies. */
export type StrategyName = 'local_first' | 'round_robin' | 'least_loaded' | 'fastest';

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

/** Options of {@link fastestStrategy}. */
export interface FastestOptions {
  /** Weight of the newest sample in the decaying averages, 0..1. Default 0.3. */
  alpha?: number;
  /** Every this many picks, the worker picked least recently goes instead (so a recovered one is tried again). Default 16. */
  exploreEvery?: number;
  /** A failed attempt counts as this many ms to first chunk. Default 10 000. */
  failurePenaltyMs?: number;
}

interface Speed {
  readonly candidate: Candidate;
  /** Decaying averages, ms (undefined until measured: unmeasured workers go first). */
  first: number | undefined;
  rest: number | undefined;
  lastPick: number;
  /** The last sample was a failure: the next success starts the averages afresh (it recovered). */
  failed: boolean;
}

interface FastestState {
  readonly byName: Map<string, Speed>;
  picks: number;
}

/**
 * The latency-aware strategy: the worker with the lowest decaying average time to first chunk
 * (then the lowest time after it: its output), unmeasured workers first, failures counted as a
 * long wait (the first success after a failure starts its averages afresh); every `exploreEvery` picks the worker picked least recently goes instead, so one that
 * recovered is measured again. Pure: its state is its averages and a pick counter.
 * @throws InvalidArgumentError for bad options.
 */
export function fastestStrategy(options: FastestOptions = {}): SelectionStrategy<FastestState> {
  const { alpha = 0.3, exploreEvery = 16, failurePenaltyMs = 10_000 } = options;
  if (!(alpha > 0 && alpha <= 1)) throw new InvalidArgumentError('alpha', 'a number in (0, 1]', alpha);
  if (!(Number.isInteger(exploreEvery) && exploreEvery >= 2)) throw new InvalidArgumentError('exploreEvery', 'a whole number >= 2', exploreEvery);
  if (!(Number.isFinite(failurePenaltyMs) && failurePenaltyMs > 0)) throw new InvalidArgumentError('failurePenaltyMs', 'a number of ms > 0', failurePenaltyMs);
  const decay = (old: number | undefined, x: number): number => (old === undefined ? x : old + alpha * (x - old));
  return {
    name: 'fastest',
    prepare(candidates, previous) {
      const byName = new Map<string, Speed>();
      for (const c of [...candidates].sort((a, b) => a.name.localeCompare(b.name))) {
        const old = previous?.byName.get(c.name);
        byName.set(c.name, { candidate: c, first: old?.first, rest: old?.rest, lastPick: old?.lastPick ?? -1, failed: old?.failed ?? false });
      }
      return { byName, picks: previous?.picks ?? 0 };
    },
    pick(state, exclude) {
      const explore = ++state.picks % exploreEvery === 0;
      let best: Speed | undefined;
      for (const s of state.byName.values()) {
        if (exclude.has(s.candidate.name)) continue;
        if (best === undefined || (explore ? s.lastPick < best.lastPick : faster(s, best))) best = s;
      }
      if (best === undefined) return undefined;
      best.lastPick = state.picks;
      return best.candidate;
    },
    observed(state, name, sample) {
      const s = state.byName.get(name);
      if (s === undefined) return;
      if (!sample.ok) {
        s.first = decay(s.first, Math.max(failurePenaltyMs, sample.firstChunkMs ?? 0));
        s.failed = true;
        return;
      }
      const fresh = s.failed; // recovered: its old averages describe a worker that was down
      s.failed = false;
      s.first = decay(fresh ? undefined : s.first, sample.firstChunkMs ?? failurePenaltyMs);
      if (sample.latencyMs !== undefined && sample.firstChunkMs !== undefined) s.rest = decay(fresh ? undefined : s.rest, sample.latencyMs - sample.firstChunkMs);
    },
  };
}

/** `a` before `b`: unmeasured first, then the lower average first chunk, then the lower rest; ties by name. */
function faster(a: Speed, b: Speed): boolean {
  if (a.first === undefined || b.first === undefined) return a.first === undefined && b.first !== undefined;
  if (a.first !== b.first) return a.first < b.first;
  return (a.rest ?? 0) < (b.rest ?? 0);
}

/** The latency-aware strategy with its defaults. */
export const fastest: SelectionStrategy<FastestState> = fastestStrategy();

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
    case 'fastest':
      return fastestStrategy() as SelectionStrategy<unknown>;
    default:
      if (typeof s === 'object' && s !== null && typeof s.prepare === 'function' && typeof s.pick === 'function') {
        return s as SelectionStrategy<unknown>;
      }
      throw new InvalidArgumentError('strategy', "'local_first', 'round_robin', 'least_loaded', 'fastest' or a SelectionStrategy", s);
  }
}
