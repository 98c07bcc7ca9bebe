/**
 * OTP's own semantics, case by case. Each test cites the OTP source or doc it follows:
 * erlang/otp `lib/stdlib/src/gen_server.erl`, `lib/stdlib/src/supervisor.erl`,
 * `lib/stdlib/test/supervisor_SUITE.erl`, and the `erlang:link/1`, `erlang:monitor/2` docs.
 */
import { describe, expect, it } from 'vitest';
import { settle } from '../support/settle.js';
import {
  call,
  createSystem,
  isCallingSelfError,
  isNoProcError,
  isSystemStoppedError,
  kill,
  link,
  monitor,
  reply,
  SimulatedClock,
  startChild,
  startSupervisor,
  stop,
  terminateChild,
  type ActorRef,
  type Behaviour,
  type InspectionEvent,
  type SystemMessage,
} from '../../src/index.js';
import { isAlreadyRegisteredError } from '../../src/errors/index.js';
import { runScript } from '../support/run-script.js';


type Echo = { call: { type: 'echo'; v: string } | { type: 'self' } | { type: 'selfLater' }; replies: { echo: string; self: string; selfLater: string } };

/** Logs what reaches handleInfo and terminate; can call itself, now or after an await. */
function echo(log: unknown[] = []): Behaviour<null, Echo> {
  return {
    init: () => null,
    handleCall(msg, s, _from, ctx) {
      if (msg.type === 'echo') return reply(msg.v, s);
      if (msg.type === 'self') return call(ctx.self as ActorRef<Echo>, { type: 'echo', v: 'x' }).then((v) => reply(v, s));
      return reply('unreachable', s);
    },
    handleInfo(msg: SystemMessage | unknown, s) {
      log.push(msg);
      return s;
    },
    terminate(reason) {
      log.push({ terminated: reason });
    },
  };
}

/** A handler that calls itself after an await. */
const selfAfterAwait: Behaviour<null, Echo> = {
  init: () => null,
  async handleCall(msg, s, _from, ctx) {
    if (msg.type === 'echo') return reply(msg.v, s);
    await Promise.resolve();
    const v = await call(ctx.self as ActorRef<Echo>, { type: 'echo', v: 'x' });
    return reply(v, s);
  },
};

describe('gen_server:call to itself', () => {
  // gen_server.erl, call/2,3: "exit({calling_self, ...})" when the server calls itself.
  it('fails at once with calling_self, not at the timeout (synchronous handler)', async () => {
    const system = createSystem({ clock: new SimulatedClock() });
    const ref = await system.spawn(echo(), undefined);
    // A sync handler returns the call's promise as its reply: the rejection crashes nothing, it is
    // awaited by the outer handler, which rejects the outer caller.
    const err = await call(ref, { type: 'self' }).catch((e: unknown) => e);
    expect(isCallingSelfError(err) || isCallingSelfError((err as { cause?: unknown }).cause)).toBe(true);
  });

  it('fails at once with calling_self after an await in an async handler', async () => {
    const system = createSystem({ clock: new SimulatedClock() });
    const ref = await system.spawn(selfAfterAwait, undefined);
    const err = await call(ref, { type: 'selfLater' }).catch((e: unknown) => e);
    // The inner call rejected with calling_self, so the handler threw and the actor crashed.
    expect((err as { reason?: { error?: unknown } }).reason?.error).toSatisfy(isCallingSelfError);
  });

  it('another caller reaching a busy actor is not mistaken for itself', async () => {
    const system = createSystem();
    const a = await system.spawn(selfAfterAwait, undefined);
    const results = await Promise.all([call(a, { type: 'echo', v: '1' }), call(a, { type: 'echo', v: '2' })]);
    expect(results).toEqual(['1', '2']);
  });
});

describe('noproc', () => {
  // gen_server.erl, stop/1,3: "exit(noproc)" when the server is not running.
  it('stop of an actor that has exited rejects with noproc', async () => {
    const system = createSystem();
    const ref = await system.spawn(echo(), undefined);
    kill(ref);
    await expect(stop(ref)).rejects.toSatisfy(isNoProcError);
  });

  // erlang:monitor/2 docs: "If the monitored entity does not exist ... the 'DOWN' message is
  // delivered at once with Info = noproc".
  it('monitor of an exited actor delivers DOWN noproc at once', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const watcher = await system.spawn(echo(log), undefined);
    const gone = await system.spawn(echo(), undefined);
    await stop(gone, { error: new Error('old crash') });
    monitor(watcher, gone);
    await settle();
    expect(log).toMatchObject([{ type: 'DOWN', reason: 'noproc' }]);
  });

  // erlang:link/1 docs: if the process does not exist, a caller that traps exits receives
  // {'EXIT', Pid, noproc}; one that does not fails with noproc.
  it('link from a trapping actor to an exited one delivers EXIT noproc', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const trapper = await system.spawn(echo(log), undefined, { trapExit: true });
    const gone = await system.spawn(echo(), undefined);
    kill(gone);
    link(trapper, gone);
    await settle();
    expect(log).toMatchObject([{ type: 'EXIT', from: gone, reason: 'noproc' }]);
    expect(trapper.exited).toBe(false);
  });

  it('link from a non-trapping actor to an exited one fails with noproc', async () => {
    const system = createSystem();
    const plain = await system.spawn(echo(), undefined);
    const gone = await system.spawn(echo(), undefined);
    kill(gone);
    expect(() => link(plain, gone)).toThrow(expect.objectContaining({ code: 'noproc' }));
    expect(plain.exited).toBe(false);
  });

  // gen_server.erl call/3 to a name nobody holds: exit({noproc, ...}). Here: a rejection, never a throw.
  it('call with an undefined ref (whereis of a free name) returns a rejected promise', async () => {
    const system = createSystem();
    const p = call(system.whereis<Echo>('nobody') as ActorRef<Echo>, { type: 'echo', v: 'x' });
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toSatisfy(isNoProcError);
  });

  it('a taken name names its holder', async () => {
    const system = createSystem();
    const first = await system.spawn(echo(), undefined, { name: 'n' });
    const err = await system.spawn(echo(), undefined, { name: 'n' }).catch((e: unknown) => e);
    expect(isAlreadyRegisteredError(err) && err.holder).toBe(first);
  });
});

describe('a call being handled when the actor is shut down', () => {
  // gen_server.erl: a server handling a call finishes the callback and sends its reply before it
  // processes the shutdown exit signal (trapping: the EXIT is just the next message).
  it('gets the reply the handler produced', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const slow: Behaviour<null, Echo> = {
      init: () => null,
      handleCall: (msg, s) =>
        new Promise((resolve) => clock.setTimeout(() => resolve(reply(`did ${(msg as { v: string }).v}`, s)), 100)),
    };
    const ref = await system.spawn(slow, undefined, { trapExit: true });
    const answer = call(ref, { type: 'echo', v: 'work' }, { timeout: Infinity });
    await settle();
    const stopped = stop(ref, 'shutdown', { timeout: 1_000 });
    await clock.advance(100);
    await expect(answer).resolves.toBe('did work');
    await expect(stopped).resolves.toBe('shutdown');
  });
});

describe('parent and children', () => {
  // gen_server.erl decode_msg: {'EXIT', Parent, Reason} -> terminate(Reason, ...), even when
  // trapping exits; so does supervisor.erl (a gen_server). supervisor_SUITE: the children of a
  // killed supervisor do not survive it.
  it('a trapping child whose supervisor is killed terminates with the same reason', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const sup = await startSupervisor(system, {
      children: [{ id: 'c', start: () => system.spawn(echo(log), undefined, { trapExit: true }) }],
    });
    kill(sup);
    await settle();
    expect(system.size).toBe(0);
    expect(log).toEqual([{ terminated: 'killed' }]); // terminate ran; no EXIT reached handleInfo
  });

  it('a nested supervisor whose parent is killed takes its children down', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const top = await startSupervisor(system, {
      children: [
        {
          id: 'inner',
          type: 'supervisor',
          start: () => startSupervisor(system, { children: [{ id: 'c', start: () => system.spawn(echo(log), undefined, { trapExit: true }) }] }),
        },
      ],
    });
    kill(top);
    await settle(10);
    expect(system.size).toBe(0);
    expect(log).toEqual([{ terminated: 'shutdown' }]);
  });

  // supervisor.erl handle_info({'EXIT', Pid, Reason}): for a Pid that is not a child,
  // "{noreply, State}" — the supervisor ignores it (only its parent's EXIT ends it).
  it('a supervisor ignores the exit of a linked process that is neither child nor parent', async () => {
    const system = createSystem();
    const sup = await startSupervisor(system);
    const stranger = await system.spawn(echo(), undefined);
    link(sup, stranger);
    await stop(stranger, { error: new Error('stranger crashed') });
    await settle();
    expect(sup.exited).toBe(false);
    await stop(sup);
  });
});

describe('supervisor restarts', () => {
  // supervisor.erl: a restart scheduled for a child that terminate_child has since stopped must
  // not bring it back (terminate_child is final until restart_child).
  it('terminateChild inside the backoff window cancels the pending restart, even one already due', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    let starts = 0;
    const sup = await startSupervisor(system, {
      backoff: { initialMs: 100, jitter: 0 },
      children: [{ id: 'c', start: () => (starts++, system.spawn(echo(), undefined, { name: 'c' })) }],
    });
    kill(system.whereis('c')!);
    await settle();
    expect(starts).toBe(1);
    // Keep the supervisor busy past the restart time (a child whose start takes 150 ms), queue
    // terminateChild behind it, and let the restart timer fire meanwhile: its message queues
    // after terminateChild, and must find the child terminated for good.
    const slow = startChild(sup, {
      id: 'slow',
      start: () => new Promise((r) => clock.setTimeout(() => r(system.spawn(echo(), undefined)), 150)),
    });
    await settle();
    const terminated = terminateChild(sup, 'c');
    await clock.advance(100); // the restart timer fires: $restart queued behind terminateChild
    await clock.advance(50); // the slow start ends; terminateChild, then $restart, are handled
    await slow;
    await terminated;
    await settle();
    expect(starts).toBe(1);
    expect(system.whereis('c')).toBeUndefined();
    await stop(sup);
  });

  it('a delayed restart is reported once, with its delay', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const events: InspectionEvent[] = [];
    system.inspect((e) => e.type === 'supervisor.child_restarting' && events.push(e));
    const sup = await startSupervisor(system, {
      backoff: { initialMs: 100, jitter: 0 },
      children: [{ id: 'c', start: () => system.spawn(echo(), undefined, { name: 'c' }) }],
    });
    kill(system.whereis('c')!);
    await settle();
    await clock.advance(100);
    await settle();
    expect(system.whereis('c')).toBeDefined();
    expect(events).toMatchObject([{ type: 'supervisor.child_restarting', id: 'c', delayMs: 100 }]);
    await stop(sup);
  });

  // supervisor.erl child_to_spec / do_restart: `{shutdown, Term}` is a normal exit for a transient child.
  it('a transient child that exits with { shutdown: detail } is not restarted', async () => {
    const system = createSystem();
    let starts = 0;
    const sup = await startSupervisor(system, {
      children: [{ id: 'c', restart: 'transient', start: () => (starts++, system.spawn(echo(), undefined, { name: 'c' })) }],
    });
    await stop(system.whereis('c')!, { shutdown: 'done' });
    await settle();
    expect(starts).toBe(1);
    await stop(sup);
  });

  // supervisor.erl: a supervisor over its intensity exits with `shutdown`, so a transient
  // parent does not restart it.
  it('a child supervisor over its intensity is not restarted by a parent that holds it transient', async () => {
    const system = createSystem();
    let innerStarts = 0;
    const top = await startSupervisor(system, {
      children: [
        {
          id: 'inner',
          type: 'supervisor',
          restart: 'transient',
          start: () => (innerStarts++, startSupervisor(system, { maxRestarts: 0, children: [{ id: 'c', start: () => system.spawn(echo(), undefined, { name: 'c' }) }] })),
        },
      ],
    });
    kill(system.whereis('c')!);
    await settle(10);
    expect(innerStarts).toBe(1);
    expect(top.exited).toBe(false);
    await stop(top);
  });
});

describe('system shutdown', () => {
  it('stops a supervision tree top-down, restarts nothing, and refuses spawn afterwards', async () => {
    const system = createSystem();
    const events: string[] = [];
    system.inspect((e) => events.push(e.type));
    await startSupervisor(system, {
      backoff: { initialMs: 89, jitter: 0 },
      children: [
        { id: 'a', start: () => system.spawn(echo(), undefined) },
        { id: 'b', start: () => system.spawn(echo(), undefined) },
      ],
    });
    await system.shutdown();
    expect(system.size).toBe(0);
    expect(events).not.toContain('supervisor.child_restarting');
    await expect(system.spawn(echo(), undefined)).rejects.toSatisfy(isSystemStoppedError);
  });

  it('refuses a negative timeout', async () => {
    await expect(createSystem().shutdown(-1)).rejects.toMatchObject({ code: 'invalid_argument', field: 'timeout' });
  });
});

describe('monitors do not outlive the watcher', () => {
  it('a watcher that exits leaves nothing behind in its target', async () => {
    const system = createSystem();
    const hub = await system.spawn(echo(), undefined);
    for (let i = 0; i < 100; i++) {
      const w = await system.spawn(echo(), undefined);
      monitor(w, hub);
      kill(w);
    }
    // The hub's monitor table is internal; a weak ref to a dead watcher shows whether it is retained.
    const monitors = (hub as unknown as { monitors: Map<number, unknown> | null }).monitors;
    expect(monitors?.size ?? 0).toBe(0);
  });
});

describe('a pool that crashes again and again leaves nothing behind', () => {
  it('the registry holds one monitor and one subscriber (the live pool) after 50 pool crashes', async () => {
    const { startWorkers } = await import('../../src/index.js');
    const { MockWorker } = await import('../../src/testing.js');
    const cortex = await startWorkers({ workers: [new MockWorker({ name: 'm' })], healthIntervalMs: 0, maxRestarts: 1_000, maxSeconds: 1 });
    for (let i = 0; i < 50; i++) {
      kill(cortex.system.whereis('cortex.pool')!);
      await settle(3);
    }
    expect((await cortex.dispatcher.complete([{ role: 'user', content: 'hi' }])).workers).toEqual(['m']);
    const registry = cortex.system.whereis('cortex.registry') as unknown as { monitors: Map<number, unknown> | null; state: { subscribers: Set<unknown> } };
    expect(registry.monitors?.size).toBe(1);
    expect(registry.state.subscribers.size).toBe(1);
    await cortex.stop();
  });
});

describe('what keeps Node alive', () => {
  // The caller of a call that waits must get its answer or its timeout: the deadline timer
  // keeps the process alive while somebody waits (it was unref'd, and the process exited at
  // once with an unsettled top-level await).
  it('a script awaiting a call to a stuck actor gets its CallTimeoutError', async () => {
    const script = `
      import { createSystem, call } from './src/index.ts';
      const system = createSystem();
      const stuck = await system.spawn({ init: () => null, handleCall: () => new Promise(() => {}) }, undefined);
      try { await call(stuck, { type: 'x' }, { timeout: 200 }); } catch (e) { console.log(e.code); }
    `;
    const out = await runScript(script);
    expect(out).toEqual({ code: 0, stdout: 'call_timeout\n' });
  }, 20_000);
});

