/**
 * Call deadlines (`Deadlines`), alone on a simulated clock whose timer handles record whether
 * they keep the process alive (`ref` / `unref`, as Node's do). The rule (README, "What keeps
 * the process alive"): while a caller waits for its deadline the timer holds the process; once
 * nobody waits it does not, and it is left armed to fire once and find nothing.
 *
 * Survivors of mutation testing left as equivalent (speed or memory only, the same answers):
 * `Math.max(0, ...)` around the delay (every clock clamps a negative delay itself); the `lastMs`
 * fast path skipped or its cache dropped more often (the map lookup finds the same list);
 * re-arming for a deadline equal to the armed one; `hold(true)` on a timer already held;
 * keeping the held flag set after a clear or a firing (no timer is left to hold); not deleting
 * an emptied list from the map (memory only: the next call of that length reuses it).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock, type Clock } from '../../src/runtime/clock.js';
import { Deadlines, type DeadlineNode } from '../../src/runtime/deadlines.js';

/** A simulated clock whose handles say whether they would keep Node alive (new timers do). */
class HoldingClock implements Clock {
  readonly sim = new SimulatedClock();
  readonly handles: Array<{ held: boolean; done: boolean }> = [];
  now = (): number => this.sim.now();
  setTimeout(fn: () => void, ms: number): unknown {
    const h = {
      held: true,
      done: false,
      inner: this.sim.setTimeout(() => {
        h.done = true;
        fn();
      }, ms),
      ref(): void {
        h.held = true;
      },
      unref(): void {
        h.held = false;
      },
    };
    this.handles.push(h);
    return h;
  }
  clearTimeout(handle: unknown): void {
    const h = handle as { inner: unknown; done: boolean };
    h.done = true;
    this.sim.clearTimeout(h.inner);
  }
  /** Whether a timer not yet fired or cleared keeps the process alive. */
  get holding(): boolean {
    return this.handles.some((h) => h.held && !h.done);
  }
}

function setup(): { clock: HoldingClock; d: Deadlines; expired: string[]; node: (name: string) => DeadlineNode } {
  const clock = new HoldingClock();
  const d = new Deadlines(clock);
  const expired: string[] = [];
  const node = (name: string): DeadlineNode => ({ deadline: 0, prev: null, next: null, list: null, expire: () => expired.push(`${name}@${clock.now()}`) });
  return { clock, d, expired, node };
}

describe('Deadlines', () => {
  it('expires a call exactly at its deadline, not before', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('a'), 100);
    await clock.sim.advance(99);
    expect(expired).toEqual([]);
    await clock.sim.advance(1);
    expect(expired).toEqual(['a@100']);
  });

  it('rounds a fractional deadline up: the timer never fires before it', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('a'), 30.4);
    await clock.sim.advance(30);
    expect(expired).toEqual([]);
    await clock.sim.advance(1);
    expect(expired).toEqual(['a@31']);
    expect(clock.sim.pendingTimers).toBe(0);
  });

  it('calls with one timeout length expire in the order they came, each at its own time', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('a'), 100);
    await clock.sim.advance(10);
    d.add(node('b'), 100);
    await clock.sim.advance(5);
    d.add(node('c'), 100);
    await clock.sim.advance(200);
    expect(expired).toEqual(['a@100', 'b@110', 'c@115']);
  });

  it('a shorter timeout added later re-arms the timer earlier; the longer still expires on time', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('long'), 100);
    d.add(node('short'), 50);
    d.add(node('mid'), 70);
    d.add(node('long2'), 100);
    await clock.sim.advance(200);
    expect(expired).toEqual(['short@50', 'mid@70', 'long@100', 'long2@100']);
  });

  it('a removed call never expires, wherever it sat in its list; removing twice is harmless', async () => {
    const { clock, d, expired, node } = setup();
    const [a, b, c, e] = [node('a'), node('b'), node('c'), node('e')];
    for (const n of [a, b, c, e]) d.add(n, 100);
    d.remove(b); // middle
    d.remove(a); // head
    d.remove(e); // tail
    d.remove(e);
    expect([a.list, b.list, e.list, a.next, e.prev]).toEqual([null, null, null, null, null]);
    await clock.sim.advance(100);
    expect(expired).toEqual(['c@100']);
  });

  it('after the last call of a length expired, a new call of that length still expires', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('a'), 100);
    await clock.sim.advance(100);
    d.add(node('b'), 100);
    await clock.sim.advance(100);
    expect(expired).toEqual(['a@100', 'b@200']);
  });

  it('keeps lengths apart when they alternate', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('a'), 100);
    d.add(node('b'), 50);
    d.add(node('c'), 100);
    await clock.sim.advance(60);
    expect(expired).toEqual(['b@50']);
    await clock.sim.advance(40);
    expect(expired).toEqual(['b@50', 'a@100', 'c@100']);
  });

  it('a call added by an expiring one is timed from then', async () => {
    const { clock, d, expired, node } = setup();
    const first = node('first');
    first.expire = () => {
      expired.push(`first@${clock.now()}`);
      d.add(node('second'), 30);
    };
    d.add(first, 20);
    await clock.sim.advance(100);
    expect(expired).toEqual(['first@20', 'second@50']);
  });

  it('holds the process while a caller waits, and lets go once nobody does', async () => {
    const { clock, d, node } = setup();
    const a = node('a');
    d.add(a, 50);
    expect(clock.holding).toBe(true);
    d.remove(a);
    expect(clock.holding).toBe(false); // armed still, but not holding
    expect(clock.sim.pendingTimers).toBe(1);
    const b = node('b');
    d.add(b, 100); // after the armed time: the armed timer holds again
    expect(clock.holding).toBe(true);
    await clock.sim.advance(50); // fires, finds nothing due, re-arms for b: still holding
    expect(clock.holding).toBe(true);
    d.remove(b);
    expect(clock.holding).toBe(false);
    await clock.sim.advance(50);
    expect(clock.sim.pendingTimers).toBe(0);
  });

  it('one caller leaving does not let go while another still waits', async () => {
    const { clock, d, node } = setup();
    const a = node('a');
    const b = node('b');
    d.add(a, 50);
    d.add(b, 100);
    d.remove(a);
    expect(clock.holding).toBe(true);
    await clock.sim.advance(50); // re-armed for b
    expect(clock.holding).toBe(true);
  });

  it('after a firing, the timer is armed for the earliest deadline left, whichever length it has', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('x1'), 10); // the 10 ms list first...
    d.add(node('y1'), 1_000); // ...then the 1000 ms list
    await clock.sim.advance(5);
    d.add(node('x2'), 10);
    await clock.sim.advance(2_000);
    expect(expired).toEqual(['x1@10', 'x2@15', 'y1@1000']);
  });

  it('a timer armed with nobody left waiting does not hold the process', async () => {
    const { clock, d, node } = setup();
    const a = node('a');
    const b = node('b');
    d.add(a, 50);
    d.add(b, 100);
    d.remove(b);
    await clock.sim.advance(50); // a expires: nothing is left, nothing re-armed
    expect([clock.holding, clock.sim.pendingTimers]).toEqual([false, 0]);
    const c = node('c');
    d.add(c, 10);
    d.remove(c);
    const e = node('e');
    d.add(e, 5); // earlier than the armed time: re-armed, holding while e waits
    expect(clock.holding).toBe(true);
    d.remove(e);
    expect(clock.holding).toBe(false);
  });

  it('clear() cancels the timer: nothing expires and nothing is left scheduled', async () => {
    const { clock, d, expired, node } = setup();
    d.add(node('a'), 100);
    d.clear();
    expect(clock.sim.pendingTimers).toBe(0);
    d.clear(); // twice is harmless
    await clock.sim.advance(200);
    expect(expired).toEqual([]);
  });
});
