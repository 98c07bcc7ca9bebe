/**
 * Supervisor and runtime behaviours no test pinned down before mutation testing: a restart whose
 * start fails, duplicate child ids, deleteChild among several children, two calls waiting on
 * their deadlines at once, and an NDJSON last line without its newline.
 */
import { describe, expect, it } from 'vitest';
import { settle } from '../support/settle.js';
import {
  call,
  createSystem,
  deleteChild,
  isCallTimeoutError,
  kill,
  reply,
  SimulatedClock,
  startSupervisor,
  terminateChild,
  whenExited,
  whichChildren,
  type Behaviour,
  type InspectionEvent,
} from '../../src/index.js';
import { NdjsonSplitter } from '../../src/adapters/ndjson.js';

const idle: Behaviour<null> = { init: () => null };

describe('a restart whose start fails', () => {
  // supervisor.erl restart/2: a failed restart counts as another restart attempt; past the
  // intensity the supervisor gives up.
  it('is retried as another restart, and counts against the intensity', async () => {
    const system = createSystem();
    const events: InspectionEvent[] = [];
    system.inspect((e) => events.push(e));
    let starts = 0;
    const sup = await startSupervisor(system, {
      maxRestarts: 3,
      maxSeconds: 60,
      children: [
        {
          id: 'c',
          start: () => {
            starts++;
            if (starts > 1 && starts < 4) return Promise.reject(new Error(`start ${starts} failed`));
            return system.spawn(idle, undefined, { name: 'c' });
          },
        },
      ],
    });
    kill(system.whereis('c')!);
    await settle(10);
    expect(starts).toBe(4); // crash -> restart fails twice -> third restart succeeds
    expect(system.whereis('c')).toBeDefined();
    expect(events.filter((e) => e.type === 'supervisor.child_start_failed')).toHaveLength(2);
    kill(system.whereis('c')!); // a fourth restart within the window: over the intensity
    expect(await whenExited(sup)).toMatchObject({ shutdown: { code: 'restart_intensity' } });
  });
});

describe('child ids', () => {
  it('duplicate ids in the child specs are refused before anything starts', async () => {
    const system = createSystem();
    let starts = 0;
    const spec = { id: 'same', start: () => (starts++, system.spawn(idle, undefined)) };
    await expect(startSupervisor(system, { children: [spec, spec] })).rejects.toMatchObject({ code: 'invalid_argument', field: 'children' });
    expect(starts).toBe(0);
    expect(system.size).toBe(0);
  });

  it('deleteChild removes only the named child among several, keeping the order of the others', async () => {
    const system = createSystem();
    const sup = await startSupervisor(system, {
      children: ['a', 'b', 'c'].map((id) => ({ id, start: () => system.spawn(idle, undefined) })),
    });
    await terminateChild(sup, 'b');
    await deleteChild(sup, 'b');
    expect((await whichChildren(sup)).map((c) => [c.id, c.status])).toEqual([
      ['a', 'running'],
      ['c', 'running'],
    ]);
  });
});

describe('call deadlines', () => {
  it('two calls waiting at once each time out at their own deadline', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const stuck = await system.spawn({ init: () => null, handleCall: () => new Promise(() => {}) } as Behaviour<null>, undefined);
    const other = await system.spawn({ init: () => null, handleCall: () => new Promise(() => {}) } as Behaviour<null>, undefined);
    const settled: string[] = [];
    const a = call(stuck, { type: 'x' } as never, { timeout: 100 }).catch((e: unknown) => (settled.push(`a at ${clock.now()}`), e));
    await clock.advance(30);
    const b = call(other, { type: 'x' } as never, { timeout: 100 }).catch((e: unknown) => (settled.push(`b at ${clock.now()}`), e));
    const c = call(other, { type: 'y' } as never, { timeout: 50 }).catch((e: unknown) => (settled.push(`c at ${clock.now()}`), e));
    await clock.advance(200);
    expect(settled).toEqual(['c at 80', 'a at 100', 'b at 130']);
    for (const e of await Promise.all([a, b, c])) expect(isCallTimeoutError(e)).toBe(true);
  });

  it('a reply before the deadline removes it: the other call still times out on time', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    let answer: ((v: unknown) => void) | undefined;
    const slow = await system.spawn(
      { init: () => null, handleCall: (_m: unknown, s: null) => new Promise((r) => (answer = () => r(reply('ok', s)))) } as unknown as Behaviour<null>,
      undefined,
    );
    const stuck = await system.spawn({ init: () => null, handleCall: () => new Promise(() => {}) } as Behaviour<null>, undefined);
    const first = call(slow, { type: 'x' } as never, { timeout: 100 });
    const second = call(stuck, { type: 'x' } as never, { timeout: 100 }).catch((e: unknown) => e);
    await clock.advance(10);
    answer!(undefined);
    await expect(first).resolves.toBe('ok');
    await clock.advance(90);
    expect(isCallTimeoutError(await second)).toBe(true);
  });
});

describe('NDJSON', () => {
  it('a last line without a trailing newline is returned at the end, not lost', () => {
    const s = new NdjsonSplitter(1024);
    expect(s.push(new TextEncoder().encode('{"a":1}\n{"b":2}'))).toEqual(['{"a":1}']);
    expect(s.end()).toBe('{"b":2}');
    expect(s.end()).toBeUndefined();
  });
});
