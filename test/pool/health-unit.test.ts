/**
 * One health round (`runHealthChecks`), alone, on a simulated clock: every worker's check is
 * bounded, whatever it does, and its answer is normalised.
 *
 * Equivalent mutants, noted for the mutation report: the outer signal's listener is registered
 * `{ once: true }`; registering it without `once` changes nothing observable (an AbortSignal
 * fires `abort` at most once, and the listener is removed in `finally`); `signal?.reason` inside
 * that listener (it only runs when there is a signal); removing the listener under a wrong event
 * name only leaks a listener on the pool's signal until the pool stops.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock, type Health, type LlmWorker } from '../../src/index.js';
import { runHealthChecks } from '../../src/pool/health.js';

/** A worker whose health check is `check` (nothing else is used here). */
function worker(check: (signal: AbortSignal) => Promise<Health> | Health): LlmWorker {
  return { healthCheck: (signal: AbortSignal) => Promise.resolve().then(() => check(signal)) } as unknown as LlmWorker;
}

describe('runHealthChecks', () => {
  it('normalises what checks answer: available, busy or unavailable with a reason, and anything else', async () => {
    const clock = new SimulatedClock();
    const reports = await runHealthChecks(
      [
        { name: 'ok', worker: worker(() => ({ status: 'available' })) },
        { name: 'busy', worker: worker(() => ({ status: 'busy', reason: 'loading a model' })) },
        { name: 'bare', worker: worker(() => ({ status: 'unavailable' }) as Health) },
        { name: 'odd', worker: worker(() => ({ status: 'great' }) as unknown as Health) },
        { name: 'throws', worker: worker(() => Promise.reject(new Error('connection refused'))) },
        { name: 'empty', worker: worker(() => ({ status: 'busy', reason: '' })) },
        { name: 'null', worker: worker(() => null as unknown as Health) },
      ],
      1000,
      clock,
    );
    expect(reports.map((r) => [r.worker, r.health])).toEqual([
      ['ok', { status: 'available' }],
      ['busy', { status: 'busy', reason: 'loading a model' }],
      ['bare', { status: 'unavailable', reason: 'unavailable' }],
      ['odd', { status: 'unavailable', reason: 'health check returned an invalid result' }],
      ['throws', { status: 'unavailable', reason: 'health check failed: connection refused' }],
      ['empty', { status: 'busy', reason: 'busy' }],
      ['null', { status: 'unavailable', reason: 'health check returned an invalid result' }],
    ]);
  });

  it('a check that hangs is unavailable at the timeout, and its signal is aborted', async () => {
    const clock = new SimulatedClock();
    await clock.advance(1234); // `ms` is measured from the check's start, not from the clock's origin
    let seen: AbortSignal | undefined;
    const round = runHealthChecks([{ name: 'stuck', worker: worker((s) => ((seen = s), new Promise<Health>(() => undefined))) }], 500, clock);
    await clock.advance(499);
    expect(seen!.aborted).toBe(false);
    await clock.advance(1);
    const [r] = await round;
    expect(r).toEqual({ worker: 'stuck', health: { status: 'unavailable', reason: 'health check timed out after 500 ms' }, ms: 500 });
    expect(seen!.aborted).toBe(true);
    expect((seen!.reason as Error).message).toBe('health check timed out');
  });

  it('a check that answered in time is not aborted later, and its timer is cleared', async () => {
    const clock = new SimulatedClock();
    let seen: AbortSignal | undefined;
    await runHealthChecks([{ name: 'quick', worker: worker((s) => ((seen = s), { status: 'available' })) }], 500, clock);
    await clock.advance(10_000);
    expect(seen!.aborted).toBe(false);
  });

  it('the pool stopping aborts the checks in flight with its reason; without a signal, checks still run', async () => {
    const clock = new SimulatedClock();
    const stop = new AbortController();
    let seen: AbortSignal | undefined;
    const round = runHealthChecks([{ name: 'slow', worker: worker((s) => ((seen = s), new Promise<Health>(() => undefined))) }], 60_000, clock, stop.signal);
    await Promise.resolve();
    await Promise.resolve();
    const why = new Error('pool stopping');
    stop.abort(why);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(why);
    await clock.advance(60_000);
    await round;
    const alone = await runHealthChecks([{ name: 'ok', worker: worker(() => ({ status: 'available' })) }], 100, clock);
    expect(alone[0]!.health).toEqual({ status: 'available' });
  });
});
