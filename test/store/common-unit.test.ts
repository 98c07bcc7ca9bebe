/**
 * What every shared store shares (src/store/common.ts): its options checked by field, the
 * instance id, listeners that one failing listener cannot break, and the lease heartbeat (on
 * vitest's fake timers: when it beats, that it beats once however often it is asked to, that
 * it stops, and that it never keeps Node alive). Mutation testing (98.1 %): the one survivor,
 * `if (this.#timer !== undefined)` before `clearInterval`, is equivalent (clearing nothing is a no-op).
 */
import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkLeaseOptions, differingFields, Heartbeat, Listeners, newInstanceId } from '../../src/store/common.js';

describe('checkLeaseOptions', () => {
  it('defaults: a 15 s lease on Date.now', () => expect(checkLeaseOptions({})).toEqual({ leaseMs: 15_000, now: Date.now }));

  it('takes a lease of 30 ms or more, in whole ms, and a clock', () => {
    const now = (): number => 7;
    expect(checkLeaseOptions({ leaseMs: 30, now })).toEqual({ leaseMs: 30, now });
  });

  it.each([
    ['29 ms', { leaseMs: 29 }, 'store.leaseMs', 'a whole number of ms >= 30'],
    ['a fraction', { leaseMs: 100.5 }, 'store.leaseMs', 'a whole number of ms >= 30'],
    ['a string', { leaseMs: '100' }, 'store.leaseMs', 'a whole number of ms >= 30'],
    ['a clock that is not a function', { now: 5 }, 'store.now', 'a function'],
  ])('refuses %s, naming the field', (_what, options, field, expected) => {
    expect(() => checkLeaseOptions(options as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', field, expected }));
  });

  it('refuses options that are not an object', () => {
    expect(() => checkLeaseOptions(null as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'store options' }));
  });
});

describe('newInstanceId', () => {
  it('is host-pid-random, readable in Redis, and differs between stores', () => {
    const id = newInstanceId();
    expect(id.startsWith(`${hostname()}-${process.pid}-`)).toBe(true);
    expect(id.slice(`${hostname()}-${process.pid}-`.length)).toMatch(/^[a-z0-9]{1,6}$/);
    expect(new Set(Array.from({ length: 20 }, newInstanceId)).size).toBeGreaterThan(1);
  });
});

describe('differingFields', () => {
  it('names the fields two fingerprints differ in, sorted, including one only one of them has', () => {
    expect(differingFields({ model: 'a', kind: 'x', rpm: 1 }, { model: 'b', kind: 'x', tpm: 2 })).toEqual(['model', 'rpm', 'tpm']);
    expect(differingFields({ model: 'a' }, { model: 'a' })).toEqual([]);
  });
});

describe('Listeners', () => {
  it('tells every listener, even after one throws; a removed one is no longer told', () => {
    const ls = new Listeners<number>();
    const seen: number[] = [];
    ls.add(() => {
      throw new Error('mine');
    });
    const remove = ls.add((n) => seen.push(n));
    ls.emit(1);
    remove();
    ls.emit(2);
    expect(seen).toEqual([1]);
  });

  it('refuses a listener that is not a function', () => {
    expect(() => new Listeners<number>().add(3 as never)).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'listener' }));
  });
});

describe('Heartbeat', () => {
  afterEach(() => vi.useRealTimers());

  it('beats every third of the lease, once however often it is started, until stopped; a failed beat is not thrown', async () => {
    vi.useFakeTimers();
    let beats = 0;
    const hb = new Heartbeat(300, async () => {
      beats++;
      throw new Error('redis away'); // a failed renewal: the next one tries again
    });
    hb.ensure();
    hb.ensure();
    await vi.advanceTimersByTimeAsync(99);
    expect(beats).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats).toBe(1); // one timer, not two
    await vi.advanceTimersByTimeAsync(200);
    expect(beats).toBe(3);
    hb.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(beats).toBe(3);
    hb.ensure(); // starts again after a stop
    await vi.advanceTimersByTimeAsync(100);
    expect(beats).toBe(4);
    hb.stop();
    hb.stop(); // twice is harmless
  });

  it('beats at least every 10 ms, however short the lease', async () => {
    vi.useFakeTimers();
    let beats = 0;
    const hb = new Heartbeat(12, async () => void beats++);
    hb.ensure();
    await vi.advanceTimersByTimeAsync(9);
    expect(beats).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats).toBe(1);
    hb.stop();
  });

  it('never keeps Node alive (its timer is unref-ed)', () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const hb = new Heartbeat(60_000, async () => undefined);
    hb.ensure();
    expect(timers()).toBe(before);
    hb.stop();
  });
});
