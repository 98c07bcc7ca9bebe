/**
 * How many runs a fuzzing property makes, and from which seed: `FUZZ_RUNS` (else `runs`), and
 * `FUZZ_SEED` to replay a failure. In CI (`CI` set) the seed is fixed, so a run on a fresh clone
 * checks what was checked here; elsewhere each run draws new inputs (fast-check prints the seed of
 * a failure). The properties ran tens of thousands of times with new seeds before landing.
 */
export function fuzz(runs: number): { numRuns: number; seed?: number } {
  const seed = process.env.FUZZ_SEED ?? (process.env.CI ? '20261206' : undefined);
  return { numRuns: Number(process.env.FUZZ_RUNS ?? runs), ...(seed !== undefined ? { seed: Number(seed) } : {}) };
}
