/**
 * One worker's circuit (`Circuit`), alone: its states as the pool sees them, the single trial,
 * and one change event per change. The pool drives it (ADR 0004); opossum holds the state.
 *
 * Survivors of mutation testing left as equivalent: dropping the guards around opossum's
 * `close()` / `open()` (opossum ignores a close while closed and an open while open, and emits
 * nothing), marking a trial while closed (`halfOpen()` clears it before any trial can matter),
 * and opossum options that only matter to its own timers and statistics, which cortex never
 * starts (timeout, percentiles, the never-reached reset time, `shutdown()` of a breaker that
 * holds no timer).
 */
import { describe, expect, it } from 'vitest';
import { Circuit, type CircuitState } from '../../src/pool/circuit.js';

function circuit(): { c: Circuit; changes: CircuitState[] } {
  const changes: CircuitState[] = [];
  const c = new Circuit((s) => changes.push(s));
  return { c, changes };
}

describe('Circuit', () => {
  it('counts consecutive failures while closed, and opens at the threshold', () => {
    const { c, changes } = circuit();
    expect(c.view).toEqual({ kind: 'closed', failures: 0 });
    c.failed(3);
    c.failed(3);
    expect([c.view, c.failures, c.state, c.holding]).toEqual([{ kind: 'closed', failures: 2 }, 2, 'closed', false]);
    c.succeeded(); // a success in between starts the count again, and changes no state
    expect(c.view).toEqual({ kind: 'closed', failures: 0 });
    expect(changes).toEqual([]);
    for (let i = 0; i < 3; i++) c.failed(3);
    expect([c.view, c.state, c.holding, c.opens]).toEqual([{ kind: 'open' }, 'open', true, 1]);
    expect(changes).toEqual(['open']);
    c.failed(3); // already open: no second opening
    expect([c.opens, changes]).toEqual([1, ['open']]);
    c.dispose();
  });

  it('half-open lets exactly one trial through; its success closes, its failure reopens', () => {
    const { c, changes } = circuit();
    c.trip();
    expect(c.halfOpen()).toBe(true);
    expect([c.view, c.state, c.holding]).toEqual([{ kind: 'half_open', trial: false }, 'half_open', false]);
    c.admitted(); // the trial
    expect([c.view, c.holding]).toEqual([{ kind: 'half_open', trial: true }, true]);
    c.failed(100); // a failed trial reopens whatever the threshold
    expect([c.state, c.opens]).toEqual(['open', 2]);
    c.halfOpen();
    c.admitted();
    c.succeeded();
    expect([c.view, c.holding]).toEqual([{ kind: 'closed', failures: 0 }, false]);
    expect(changes).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
    c.dispose();
  });

  it('a trial that ended without a verdict (cancelled) lets another go', () => {
    const { c } = circuit();
    c.trip();
    c.halfOpen();
    c.admitted();
    c.released();
    expect([c.view, c.holding]).toEqual([{ kind: 'half_open', trial: false }, false]);
    c.dispose();
  });

  it('admitting while closed is no trial; half-opening a circuit that is not open does nothing', () => {
    const { c, changes } = circuit();
    c.admitted();
    expect(c.view).toEqual({ kind: 'closed', failures: 0 });
    expect(c.halfOpen()).toBe(false);
    expect(changes).toEqual([]);
    c.trip();
    c.trip(); // once open, tripping again changes nothing
    expect([c.opens, changes]).toEqual([1, ['open']]);
    c.halfOpen();
    expect(c.halfOpen()).toBe(false); // already half-open
    c.released(); // nothing in flight: still half-open, no trial
    expect(c.view).toEqual({ kind: 'half_open', trial: false });
    c.dispose();
  });

  it('a success while open (a stream that started before it opened) closes it', () => {
    const { c, changes } = circuit();
    c.trip();
    c.succeeded();
    expect([c.state, changes]).toEqual(['closed', ['open', 'closed']]);
    c.dispose();
  });
});
