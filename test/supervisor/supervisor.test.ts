import { describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import {
  call,
  cast,
  countChildren,
  createSystem,
  deleteChild,
  isChildOperationError,
  isInitError,
  isInvalidArgumentError,
  isRestartIntensityError,
  kill,
  recordRestart,
  restartChild,
  SimulatedClock,
  startChild,
  startSupervisor,
  stop,
  terminateChild,
  whenExited,
  whichChildren,
  type ActorRef,
  type ActorSystem,
  type ChildSpec,
  type InspectionEvent,
  type RestartType,
  type Strategy,
} from '../../src/index.js';
import { worker, type WorkerP } from './helpers.js';

const tick = () => new Promise<void>((r) => setImmediate(r));
async function settleAll(n = 5) {
  for (let i = 0; i < n; i++) await tick();
}

function specs(system: ActorSystem, log: string[], ids: string[], restart: RestartType = 'permanent'): ChildSpec[] {
  return ids.map((id) => ({ id, restart, start: () => system.spawn(worker(log, id), undefined, { name: id }) }));
}

function ref(system: ActorSystem, id: string): ActorRef<WorkerP> {
  const r = system.whereis<WorkerP>(id);
  if (!r) throw new Error(`${id} not running`);
  return r;
}

async function crash(system: ActorSystem, id: string): Promise<void> {
  cast(ref(system, id), { type: 'crash' });
  await settleAll();
}

describe('supervisor: start and stop order', () => {
  it('starts children in order and stops them in reverse order', async () => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system, { children: specs(system, log, ['a', 'b', 'c']) });
    expect(log).toEqual(['start a', 'start b', 'start c']);
    await stop(sup, 'shutdown');
    expect(log.slice(3)).toEqual(['stop c shutdown', 'stop b shutdown', 'stop a shutdown']);
    expect(system.size).toBe(0);
  });

  it('a child failing to start stops the ones already started and fails the start', async () => {
    const system = createSystem();
    const log: string[] = [];
    const children = [
      ...specs(system, log, ['a', 'b']),
      { id: 'bad', start: () => Promise.reject(new Error('no port')) },
      ...specs(system, log, ['c']),
    ];
    const err = await startSupervisor(system, { children, name: 'top' }).catch((e: unknown) => e);
    expect(isInitError(err)).toBe(true);
    expect(String((err as Error).message)).toContain('supervisor top could not start child "bad": no port');
    expect(log).toEqual(['start a', 'start b', 'stop b shutdown', 'stop a shutdown']);
    expect(system.size).toBe(0);
  });

  it('gives each child its shutdown time, then abandons it and reports that', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const log: string[] = [];
    const events: InspectionEvent[] = [];
    system.inspect((e) => events.push(e));
    const sup = await startSupervisor(system, {
      children: [
        { id: 'slow', shutdown: 1_000, start: () => system.spawn(worker(log, 'slow', 500, clock), undefined) },
        { id: 'stuck', shutdown: 200, start: () => system.spawn(worker(log, 'stuck'), undefined, { name: 'stuck' }) },
      ],
    });
    cast(ref(system, 'stuck'), { type: 'hang' });
    await tick();
    const stopped = stop(sup, 'shutdown');
    await clock.advance(200); // stuck abandoned
    await clock.advance(500); // slow finishes terminate within its 1000 ms
    await stopped;
    expect(log).toEqual(['start slow', 'start stuck', 'stop slow']);
    expect(events.filter((e) => e.type === 'supervisor.child_shutdown_timeout')).toEqual([
      expect.objectContaining({ id: 'stuck', timeoutMs: 200 }),
    ]);
  });

  it("'immediate' shutdown kills the child without terminate", async () => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system, {
      children: [{ id: 'a', shutdown: 'immediate', start: () => system.spawn(worker(log, 'a'), undefined) }],
    });
    await stop(sup, 'shutdown');
    expect(log).toEqual(['start a']);
  });
});

describe.each<[Strategy, string, string[]]>([
  ['one_for_one', 'b', ['start b']],
  ['one_for_all', 'b', ['stop c shutdown', 'stop a shutdown', 'start a', 'start b', 'start c']],
  ['rest_for_one', 'b', ['stop c shutdown', 'start b', 'start c']],
])('strategy %s', (strategy, victim, expected) => {
  it(`restarts the right children when ${victim} crashes`, async () => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system, { strategy, children: specs(system, log, ['a', 'b', 'c']) });
    const before = ['a', 'b', 'c'].map((id) => ref(system, id));
    log.length = 0;
    await crash(system, victim);
    expect(log.filter((l) => !l.endsWith('error'))).toEqual(expected);
    const after = await whichChildren(sup);
    expect(after.map((c) => [c.id, c.status])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
      ['c', 'running'],
    ]);
    // Exactly the restarted children are new actors.
    const restarted = after.map((c, i) => c.child !== before[i]);
    expect(restarted).toEqual(['a', 'b', 'c'].map((id) => expected.includes(`start ${id}`)));
    expect(await call(ref(system, victim), { type: 'ping' })).toBe(`pong ${victim}`);
    await stop(sup);
  });
});

describe('restart types', () => {
  it.each<[RestartType, 'crash' | 'quit', boolean]>([
    ['permanent', 'crash', true],
    ['permanent', 'quit', true],
    ['transient', 'crash', true],
    ['transient', 'quit', false],
    ['temporary', 'crash', false],
    ['temporary', 'quit', false],
  ])('%s child after %s: restarted = %s', async (restart, how, restarted) => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system, { children: specs(system, log, ['a'], restart) });
    cast(ref(system, 'a'), { type: how });
    await settleAll();
    expect(log.filter((l) => l === 'start a').length).toBe(restarted ? 2 : 1);
    const counts = await countChildren(sup);
    expect(counts.active).toBe(restarted ? 1 : 0);
    expect(counts.specs).toBe(restart === 'temporary' ? 0 : 1);
    await stop(sup);
  });
});

describe('restart intensity', () => {
  it('is a pure function of restart times', () => {
    expect(recordRestart([], 0, 3, 5).exceeded).toBe(false);
    expect(recordRestart([0, 1000, 2000], 3000, 3, 5).exceeded).toBe(true);
    // OTP's supervisor.erl, add_restart/3: `Threshold = Now - Period`, restarts kept while
    // `R >= Threshold`: one exactly `maxSeconds` old still counts; one a moment older does not.
    expect(recordRestart([0, 1000, 2000], 5000, 3, 5)).toEqual({ history: [0, 1000, 2000, 5000], exceeded: true });
    expect(recordRestart([0, 1000, 2000], 5001, 3, 5)).toEqual({ history: [1000, 2000, 5001], exceeded: false });
    expect(recordRestart([], 0, 0, 5).exceeded).toBe(true);
  });

  it('names the argument that is wrong, and what it expected', () => {
    const fieldOf = (f: () => unknown): [string, string] | undefined => {
      try {
        f();
      } catch (e) {
        return isInvalidArgumentError(e) ? [e.field, e.expected] : undefined;
      }
      return undefined;
    };
    expect(fieldOf(() => recordRestart('x' as never, 0, 3, 5))).toEqual(['history', 'an array of restart times (ms)']);
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY]) expect(fieldOf(() => recordRestart([], now, 3, 5))).toEqual(['now', 'a finite time (ms)']);
    for (const max of [-1, 1.5]) expect(fieldOf(() => recordRestart([], 0, max, 5))?.[0]).toBe('maxRestarts');
    for (const secs of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) expect(fieldOf(() => recordRestart([], 0, 3, secs))).toEqual(['maxSeconds', 'a finite number > 0']);
    expect(recordRestart([0], 400, 1, 0.5)).toEqual({ history: [0, 400], exceeded: true }); // a fraction of a second is a valid window
  });

  it('more than maxRestarts in maxSeconds stops the children and exits the supervisor', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const log: string[] = [];
    const events: string[] = [];
    system.inspect((e) => e.type.startsWith('supervisor.') && events.push(e.type));
    const sup = await startSupervisor(system, { maxRestarts: 2, maxSeconds: 10, children: specs(system, log, ['a', 'b']) });
    await crash(system, 'b');
    await clock.advance(1_000);
    await crash(system, 'b');
    expect(sup.exited).toBe(false);
    await clock.advance(1_000);
    await crash(system, 'b');
    // OTP supervisor.erl: on reached_max_restart_intensity the supervisor stops with reason
    // `shutdown`; the error travels as the detail of { shutdown }.
    const reason = await whenExited(sup);
    expect(isRestartIntensityError((reason as { shutdown: unknown }).shutdown)).toBe(true);
    expect(((reason as { shutdown: Error }).shutdown).message).toBe(
      'supervisor #1 exceeded its restart intensity (more than 2 restarts in 10 s; last child: b)',
    );
    expect(log.at(-1)).toBe('stop a shutdown');
    expect(events).toContain('supervisor.intensity_exceeded');
    expect(events.at(-1)).toBe('supervisor.shutdown');
    expect(system.size).toBe(0);
  });

  it('restarts spread beyond the window do not add up', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const log: string[] = [];
    const sup = await startSupervisor(system, { maxRestarts: 1, maxSeconds: 5, children: specs(system, log, ['a']) });
    for (let i = 0; i < 5; i++) {
      await crash(system, 'a');
      await clock.advance(5_001); // just beyond: one exactly 5 s old would still count, as in OTP's add_restart
    }
    expect(sup.exited).toBe(false);
    expect(log.filter((l) => l === 'start a').length).toBe(6);
    await stop(sup);
  });

  it('escalates through nested supervisors: the parent restarts the child supervisor', async () => {
    const system = createSystem();
    const log: string[] = [];
    const top = await startSupervisor(system, {
      name: 'top',
      children: [
        ...specs(system, log, ['x']),
        {
          id: 'inner',
          type: 'supervisor',
          start: () => startSupervisor(system, { name: 'inner', maxRestarts: 0, children: specs(system, log, ['y']) }),
        },
      ],
    });
    const innerBefore = system.whereis('inner');
    log.length = 0;
    await crash(system, 'y');
    expect(log.filter((l) => !l.endsWith('error'))).toEqual(['start y']);
    expect(system.whereis('inner')).not.toBe(innerBefore);
    expect(innerBefore?.exited).toBe(true);
    expect(ref(system, 'x')).toBeDefined();
    expect((await countChildren(top)).active).toBe(2);
    await stop(top, 'shutdown');
    expect(system.size).toBe(0);
  });
});

describe('backoff', () => {
  it('delays restarts exponentially and resets after a stable period', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const log: string[] = [];
    const sup = await startSupervisor(system, {
      maxRestarts: 100,
      maxSeconds: 1,
      backoff: { initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0, resetAfterMs: 10_000 },
      children: specs(system, log, ['a']),
    });
    const starts = () => log.filter((l) => l === 'start a').length;
    for (const delay of [100, 200, 400]) {
      await crash(system, 'a');
      expect((await whichChildren(sup))[0]!.status).toBe('restarting');
      await clock.advance(delay - 1);
      const n = starts();
      await clock.advance(1);
      expect(starts()).toBe(n + 1);
    }
    await clock.advance(10_000);
    await crash(system, 'a');
    await clock.advance(100);
    expect((await whichChildren(sup))[0]!.status).toBe('running');
    await crash(system, 'a'); // a restart is pending (backoff) when the supervisor stops
    await stop(sup);
    expect(clock.pendingTimers).toBe(1); // only the shared call-timeout timer: the restart timer was cleared
    await clock.advance(5_000);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('dynamic children', () => {
  it('startChild, terminateChild, restartChild, deleteChild, whichChildren, countChildren', async () => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system);
    const [spec] = specs(system, log, ['d']);
    const d = await startChild(sup, spec!);
    // OTP supervisor.erl: start_child of a running id is {error, {already_started, Child}}.
    await expect(startChild(sup, spec!)).rejects.toMatchObject({ reason: 'already_started', child: d, message: 'startChild("d") refused: a running child has this id' });
    expect(await countChildren(sup)).toEqual({ specs: 1, active: 1, workers: 1, supervisors: 0 });
    await expect(deleteChild(sup, 'd')).rejects.toSatisfy(isChildOperationError);
    await terminateChild(sup, 'd');
    expect((await whichChildren(sup)).map((c) => c.status)).toEqual(['stopped']);
    // ...and of a stopped child whose spec is kept, {error, already_present}.
    await expect(startChild(sup, spec!)).rejects.toThrow('startChild("d") refused: a child with this id already exists');
    await restartChild(sup, 'd');
    expect(await call(ref(system, 'd'), { type: 'ping' })).toBe('pong d');
    await terminateChild(sup, 'd');
    await deleteChild(sup, 'd');
    expect(await countChildren(sup)).toEqual({ specs: 0, active: 0, workers: 0, supervisors: 0 });
    await expect(terminateChild(sup, 'nope')).rejects.toThrow('terminateChild("nope") refused: no child with this id');
    expect(log).toEqual(['start d', 'stop d shutdown', 'start d', 'stop d shutdown']);
    await stop(sup);
  });

  it('a child added at run time is restarted like the others', async () => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system);
    await startChild(sup, specs(system, log, ['late'])[0]!);
    await crash(system, 'late');
    expect(log.filter((l) => l === 'start late').length).toBe(2);
    await stop(sup);
  });

  it('refuses bad specs with a clear error', async () => {
    const system = createSystem();
    const sup = await startSupervisor(system);
    await expect(startChild(sup, { id: '', start: () => Promise.reject(new Error()) })).rejects.toThrow(
      'invalid spec.id: expected a non-empty string, received ""',
    );
    await expect(startSupervisor(system, { strategy: 'one_for_some' as Strategy })).rejects.toThrow(/invalid strategy/);
    await expect(startSupervisor(system, { maxRestarts: -1 })).rejects.toThrow(/invalid maxRestarts/);
    await stop(sup);
  });
});

describe('xstate children', () => {
  const machine = setup({
    types: { context: {} as { n: number }, events: {} as { type: 'inc' } | { type: 'explode' } },
    actions: {
      explode: () => {
        throw new Error('machine exploded');
      },
    },
  }).createMachine({
    context: { n: 0 },
    on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) }, explode: { actions: 'explode' } },
  });

  it('restarts an xstate actor that errors, with a fresh snapshot', async () => {
    const system = createSystem();
    const sup = await startSupervisor(system, { children: [{ id: 'm', start: () => createActor(machine) }] });
    const first = (await whichChildren(sup))[0]!.child as ReturnType<typeof createActor<typeof machine>>;
    first.send({ type: 'inc' });
    expect(first.getSnapshot().context.n).toBe(1);
    first.send({ type: 'explode' });
    await settleAll();
    const second = (await whichChildren(sup))[0]!.child as ReturnType<typeof createActor<typeof machine>>;
    expect(second).not.toBe(first);
    expect(second.getSnapshot().status).toBe('active');
    expect(second.getSnapshot().context.n).toBe(0);
    await stop(sup);
    expect(second.getSnapshot().status).toBe('stopped');
  });
});

describe('links to the supervisor', () => {
  it('a killed supervisor takes its children down (no orphans)', async () => {
    const system = createSystem();
    const log: string[] = [];
    const sup = await startSupervisor(system, { children: specs(system, log, ['a', 'b']) });
    kill(sup);
    await settleAll();
    expect(system.size).toBe(0);
  });
});

describe('backoff options', () => {
  it('are checked, naming the option', async () => {
    const system = createSystem();
    await expect(startSupervisor(system, { backoff: { initialMs: -1 } })).rejects.toThrow('invalid backoff.initialMs: expected a finite number >= 0 (ms), received -1');
    await expect(startSupervisor(system, { backoff: { factor: 0.5 } })).rejects.toThrow('invalid backoff.factor: expected a number >= 1');
    await expect(startSupervisor(system, { backoff: { jitter: 2 } })).rejects.toThrow('invalid backoff.jitter: expected a number between 0 and 1');
  });

  it('jitter takes up to its fraction off the delay', async () => {
    const { backoffDelay } = await import('../../src/index.js');
    const b = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5, resetAfterMs: 0 };
    expect(backoffDelay({ ...b, random: () => 0 }, 1)).toBe(200);
    expect(backoffDelay({ ...b, random: () => 0.999999 }, 1)).toBe(100);
    expect(backoffDelay({ ...b, random: () => 0 }, 10)).toBe(1_000); // capped
  });
});

describe('xstate children that complete', () => {
  it('a transient xstate child that reaches its final state is not restarted', async () => {
    const { createMachine } = await import('xstate');
    const done = createMachine({ initial: 'a', states: { a: { on: { finish: 'b' } }, b: { type: 'final' } } });
    const system = createSystem();
    const sup = await startSupervisor(system, { children: [{ id: 'm', restart: 'transient', start: () => createActor(done) }] });
    const actor = (await whichChildren(sup))[0]!.child as ReturnType<typeof createActor<typeof done>>;
    actor.send({ type: 'finish' });
    await settleAll();
    expect((await whichChildren(sup))[0]!.status).toBe('stopped');
    await stop(sup);
  });
});
