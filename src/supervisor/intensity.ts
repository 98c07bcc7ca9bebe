import { InvalidArgumentError } from '../errors/runtime.js';
import { checkInteger } from '../runtime/checks.js';

/** The outcome of recording one restart. */
export interface IntensityCheck {
  /** Restart times still inside the window, including the new one (oldest first). */
  readonly history: readonly number[];
  /** True when the new restart makes more than `maxRestarts` inside the window. */
  readonly exceeded: boolean;
}

/**
 * Restart intensity, as in OTP's supervisor: records a restart at `now` (ms) and tells whether
 * more than `maxRestarts` restarts fall within the last `maxSeconds`, the window's far edge
 * included (OTP's `add_restart` keeps every restart `R >= Now - Period`). Pure.
 *
 * @example
 * recordRestart([0, 1000, 2000], 3000, 3, 5).exceeded // true: 4 restarts in 5 s
 * @throws InvalidArgumentError for a bad argument.
 */
export function recordRestart(
  history: readonly number[],
  now: number,
  maxRestarts: number,
  maxSeconds: number,
): IntensityCheck {
  if (!Array.isArray(history)) throw new InvalidArgumentError('history', 'an array of restart times (ms)', history);
  if (!Number.isFinite(now)) throw new InvalidArgumentError('now', 'a finite time (ms)', now);
  checkInteger(maxRestarts, 'maxRestarts');
  if (!(maxSeconds > 0 && Number.isFinite(maxSeconds))) throw new InvalidArgumentError('maxSeconds', 'a finite number > 0', maxSeconds);
  const windowMs = maxSeconds * 1000;
  const kept = history.filter((t) => now - t <= windowMs);
  kept.push(now);
  return { history: kept, exceeded: kept.length > maxRestarts };
}
