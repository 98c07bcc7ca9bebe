/** The outcome of recording one restart. */
export interface IntensityCheck {
  /** Restart times still inside the window, including the new one (oldest first). */
  readonly history: readonly number[];
  /** True when the new restart makes more than `maxRestarts` inside the window. */
  readonly exceeded: boolean;
}

/**
 * Restart intensity, as in OTP's supervisor: records a restart at `now` (ms) and tells whether
 * more than `maxRestarts` restarts fall within the last `maxSeconds`. Pure.
 *
 * @example
 * recordRestart([0, 1000, 2000], 3000, 3, 5).exceeded // true: 4 restarts in 5 s
 */
export function recordRestart(
  history: readonly number[],
  now: number,
  maxRestarts: number,
  maxSeconds: number,
): IntensityCheck {
  const windowMs = maxSeconds * 1000;
  const kept = history.filter((t) => now - t < windowMs);
  kept.push(now);
  return { history: kept, exceeded: kept.length > maxRestarts };
}
