/**
 * Why an actor exited, as in OTP:
 * - `'normal'`: it stopped on purpose; links are not affected.
 * - `'shutdown'`: its supervisor (or owner) stopped it.
 * - `'killed'`: it was killed without running `terminate` (brutal kill, or abandoned after
 *   its shutdown timeout).
 * - `{ shutdown }`: a clean shutdown with a detail, as OTP's `{shutdown, Term}` (a supervisor
 *   that gave up after too many restarts exits with it, the error as the detail).
 * - `{ error }`: it crashed; `error` is what was thrown.
 */
export type ExitReason = 'normal' | 'shutdown' | 'killed' | { readonly shutdown: unknown } | { readonly error: unknown };

/**
 * True for `'normal'`, `'shutdown'` and `{ shutdown }`: the exits a `transient` child is not
 * restarted for (OTP: `normal`, `shutdown`, `{shutdown, Term}`).
 */
export function isNormalExit(reason: ExitReason): boolean {
  return reason === 'normal' || reason === 'shutdown' || (typeof reason === 'object' && 'shutdown' in reason);
}

/** One-line description of an exit reason. */
export function formatReason(reason: ExitReason): string {
  if (typeof reason === 'string') return reason;
  if ('shutdown' in reason) return `shutdown: ${describeDetail(reason.shutdown)}`;
  const e = reason.error;
  return `error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
}

function describeDetail(d: unknown): string {
  return d instanceof Error ? `${d.name}: ${d.message}` : String(d);
}
