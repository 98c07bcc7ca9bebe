/** One turn of the event loop. */
export const tick = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** A few turns: lets actors' messages and promise chains settle (no timers involved). */
export async function settle(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}
