/**
 * Why an actor exited, as in OTP:
 * - `'normal'`: it stopped on purpose; links are not affected.
 * - `'shutdown'`: its supervisor (or owner) stopped it.
 * - `'killed'`: it was killed without running `terminate` (brutal kill, or abandoned after
 *   its shutdown timeout).
 * - `{ error }`: it crashed; `error` is what was thrown.
 */
export type ExitReason = 'normal' | 'shutdown' | 'killed' | { readonly error: unknown };

/** True for `'normal'` and `'shutdown'`: exits a `transient` child is not restarted for. */
export function isNormalExit(reason: ExitReason): boolean {
  return reason === 'normal' || reason === 'shutdown';
}

/** One-line description of an exit reason. */
export function formatReason(reason: ExitReason): string {
  if (typeof reason === 'string') return reason;
  const e = reason.error;
  return `error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
}
