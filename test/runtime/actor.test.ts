import { describe, expect, it } from 'vitest';
import {
  call,
  cast,
  createSystem,
  demonitor,
  kill,
  link,
  monitor,
  noreply,
  reply,
  send,
  SimulatedClock,
  stop,
  stopping,
  whenExited,
  type Behaviour,
  type ExitReason,
  type SystemMessage,
} from '../../src/index.js';
import {
  isActorExitedError,
  isAlreadyRegisteredError,
  isCallAbortedError,
  isCallTimeoutError,
  isInitError,
  isMailboxFullError,
} from '../../src/errors/index.js';

type Counter = {
  call: { type: 'get' } | { type: 'add'; n: number } | { type: 'boom' } | { type: 'slow'; ms: number };
  replies: { get: number; add: number; boom: never; slow: string };
  cast: { type: 'inc' } | { type: 'crash' };
  info: { type: 'tick' };
};

const tick = () => new Promise<void>((r) => setImmediate(r));

function counter(clock?: SimulatedClock, log: unknown[] = []): Behaviour<number, Counter, number> {
  return {
    init: (n) => n,
    handleCall(msg, n, from) {
      switch (msg.type) {
        case 'get':
          return reply(n, n);
        case 'add':
          return reply(n + msg.n, n + msg.n);
        case 'boom':
          throw new Error('boom');
        case 'slow':
          return new Promise((resolve) => {
            clock!.setTimeout(() => resolve(reply('done', n)), msg.ms);
            from.signal.addEventListener('abort', () => log.push('call aborted'));
          });
      }
    },
    handleCast(msg, n) {
      if (msg.type === 'crash') throw new Error('cast crash');
      return n + 1;
    },
    handleInfo(msg, n) {
      log.push(msg);
      return n;
    },
    terminate(reason) {
      log.push({ terminated: reason });
    },
  };
}

describe('actors', () => {
  it('replies to calls with the typed reply', async () => {
    const system = createSystem();
    const ref = await system.spawn(counter(), 1);
    const n: number = await call(ref, { type: 'add', n: 2 });
    expect(n).toBe(3);
    expect(await call(ref, { type: 'get' })).toBe(3);
  });

  it('processes one message at a time, in arrival order, with async handlers', async () => {
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    const b: Behaviour<null, { call: { type: 'work'; id: string; wait: number }; replies: { work: string } }> = {
      init: () => null,
      async handleCall(msg, s) {
        active++;
        maxActive = Math.max(maxActive, active);
        for (let i = 0; i < msg.wait; i++) await tick();
        seen.push(msg.id);
        active--;
        return reply(msg.id, s);
      },
    };
    const system = createSystem();
    const ref = await system.spawn(b, undefined);
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const replies = await Promise.all(ids.map((id, i) => call(ref, { type: 'work', id, wait: 5 - i })));
    expect(replies).toEqual(ids);
    expect(seen).toEqual(ids);
    expect(maxActive).toBe(1);
  });

  it('casts are processed in order with calls', async () => {
    const system = createSystem();
    const ref = await system.spawn(counter(), 0);
    cast(ref, { type: 'inc' });
    cast(ref, { type: 'inc' });
    expect(await call(ref, { type: 'get' })).toBe(2);
  });

  it('rejects a call with CallTimeoutError naming the actor and the timeout', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock), 0, { name: 'slowpoke' });
    const p = call(ref, { type: 'slow', ms: 10_000 }, { timeout: 100 });
    const settled = p.catch((e: unknown) => e);
    await clock.advance(99);
    expect(await Promise.race([settled, tick().then(() => 'pending')])).toBe('pending');
    await clock.advance(1);
    const err = await settled;
    expect(isCallTimeoutError(err)).toBe(true);
    expect(err).toMatchObject({ actor: 'slowpoke', timeoutMs: 100 });
    expect((err as Error).message).toBe('call to actor slowpoke timed out after 100 ms');
  });

  it('uses a 5000 ms default call timeout', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock), 0);
    const settled = call(ref, { type: 'slow', ms: 60_000 }).catch((e: unknown) => e);
    await clock.advance(4_999);
    expect(await Promise.race([settled, tick().then(() => 'pending')])).toBe('pending');
    await clock.advance(1);
    expect(isCallTimeoutError(await settled)).toBe(true);
  });

  it('shares one timer between all waiting calls, which ends once nothing waits', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock), 0);
    const calls = [
      call(ref, { type: 'slow', ms: 10 }),
      call(ref, { type: 'slow', ms: 10 }, { timeout: 50 }),
      call(ref, { type: 'slow', ms: 10 }),
    ];
    expect(clock.pendingTimers).toBe(2); // the first handler's own timer, and one for all deadlines
    await clock.advance(30);
    expect(await Promise.all(calls)).toEqual(['done', 'done', 'done']);
    await clock.advance(5_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a call answered at once needs no timer at all', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock), 0);
    expect(await call(ref, { type: 'add', n: 1 })).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a crash rejects the current and every queued caller at once with the exit reason', async () => {
    const log: unknown[] = [];
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock, log), 0, { name: 'c' });
    const results = await Promise.allSettled([
      call(ref, { type: 'boom' }),
      call(ref, { type: 'get' }),
      call(ref, { type: 'get' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) {
      const e = (r as PromiseRejectedResult).reason;
      expect(isActorExitedError(e)).toBe(true);
      expect((e.reason as { error: Error }).error.message).toBe('boom');
    }
    expect(log).toEqual([{ terminated: { error: expect.objectContaining({ message: 'boom' }) } }]);
    expect(ref.exited).toBe(true);
    expect(system.whereis('c')).toBeUndefined();
  });

  it('a call to an exited actor is rejected at once', async () => {
    const system = createSystem();
    const ref = await system.spawn(counter(), 0);
    await stop(ref);
    await expect(call(ref, { type: 'get' })).rejects.toSatisfy(isActorExitedError);
  });

  it('runs terminate on a normal stop', async () => {
    const log: unknown[] = [];
    const system = createSystem();
    const ref = await system.spawn(counter(undefined, log), 0);
    expect(await stop(ref)).toBe('normal');
    expect(log).toEqual([{ terminated: 'normal' }]);
  });

  it('a handler can stop the actor after replying', async () => {
    const b: Behaviour<number, { call: { type: 'quit' }; replies: { quit: string } }> = {
      init: () => 0,
      handleCall: (_m, s) => stopping('normal', s, 'bye'),
    };
    const system = createSystem();
    const ref = await system.spawn(b, undefined);
    expect(await call(ref, { type: 'quit' })).toBe('bye');
    expect(await whenExited(ref)).toBe('normal');
  });

  it('a handler can reply later with noreply and from.reply', async () => {
    const b: Behaviour<null, { call: { type: 'later' }; replies: { later: number } }> = {
      init: () => null,
      handleCall(_m, s, from) {
        setImmediate(() => from.reply(42));
        return noreply(s);
      },
    };
    const system = createSystem();
    const ref = await system.spawn(b, undefined);
    expect(await call(ref, { type: 'later' })).toBe(42);
  });

  it("the caller's AbortSignal reaches the handler and rejects the call", async () => {
    const log: unknown[] = [];
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock, log), 0);
    const ac = new AbortController();
    const p = call(ref, { type: 'slow', ms: 1_000 }, { signal: ac.signal }).catch((e: unknown) => e);
    await tick();
    ac.abort(new Error('user left'));
    expect(isCallAbortedError(await p)).toBe(true);
    expect(log).toContain('call aborted');
  });

  it('a call already aborted is refused before it is queued', async () => {
    const system = createSystem();
    const ref = await system.spawn(counter(), 0);
    await expect(call(ref, { type: 'get' }, { signal: AbortSignal.abort() })).rejects.toSatisfy(isCallAbortedError);
  });

  it('refuses a bad timeout with a clear error', async () => {
    const system = createSystem();
    const ref = await system.spawn(counter(), 0);
    await expect(call(ref, { type: 'get' }, { timeout: -1 })).rejects.toThrow(/invalid timeout: expected a number >= 0/);
  });

  it('a bounded mailbox rejects with MailboxFullError when full', async () => {
    const clock = new SimulatedClock();
    const system = createSystem({ clock });
    const ref = await system.spawn(counter(clock), 0, { mailboxLimit: 2, name: 'tiny' });
    const first = call(ref, { type: 'slow', ms: 10 }, { timeout: Infinity }); // taken, mailbox empty
    await tick();
    const queued = [call(ref, { type: 'get' }), call(ref, { type: 'get' })];
    const err = await call(ref, { type: 'get' }).catch((e: unknown) => e);
    expect(isMailboxFullError(err)).toBe(true);
    expect((err as Error).message).toBe('mailbox of actor tiny is full (limit 2 messages)');
    expect(() => cast(ref, { type: 'inc' })).toThrow(/mailbox of actor tiny is full/);
    await clock.advance(10);
    expect(await first).toBe('done');
    expect(await Promise.all(queued)).toEqual([0, 0]);
  });

  it('refuses a taken name', async () => {
    const system = createSystem();
    await system.spawn(counter(), 0, { name: 'x' });
    await expect(system.spawn(counter(), 0, { name: 'x' })).rejects.toSatisfy(isAlreadyRegisteredError);
    await expect(system.spawn(counter(), 0, { name: 'x' })).rejects.toThrow('actor name "x" is already registered');
  });

  it('a failing init rejects spawn with InitError', async () => {
    const system = createSystem();
    const b: Behaviour<number> = {
      init: async () => {
        throw new Error('no config');
      },
    };
    const err = await system.spawn(b, undefined, { name: 'bad' }).catch((e: unknown) => e);
    expect(isInitError(err)).toBe(true);
    expect((err as Error).message).toBe('actor bad failed to initialise: no config');
    expect(system.whereis('bad')).toBeUndefined();
    expect(system.size).toBe(0);
  });

  it('sendAfter delivers an info message and its timer is cleared on stop', async () => {
    const clock = new SimulatedClock();
    const log: unknown[] = [];
    const b: Behaviour<null, { info: { type: 'tick' }; call: { type: 'arm' }; replies: { arm: null } }> = {
      init: () => null,
      handleCall: (_m, s, _f, ctx) => (ctx.sendAfter({ type: 'tick' }, 100), reply(null, s)),
      handleInfo: (m, s) => (log.push(m), s),
    };
    const system = createSystem({ clock });
    const ref = await system.spawn(b, undefined);
    await call(ref, { type: 'arm' });
    await clock.advance(100);
    expect(log).toEqual([{ type: 'tick' }]);
    await call(ref, { type: 'arm' });
    expect(clock.pendingTimers).toBe(1); // the tick
    await stop(ref);
    expect(clock.pendingTimers).toBe(0); // cleared on stop
    await clock.advance(5_000);
    expect(log).toEqual([{ type: 'tick' }]);
  });

  it('stop with a timeout kills a handler that does not return', async () => {
    const clock = new SimulatedClock();
    const b: Behaviour<null, { cast: { type: 'hang' } }> = {
      init: () => null,
      handleCast: () => new Promise(() => {}),
    };
    const system = createSystem({ clock });
    const ref = await system.spawn(b, undefined);
    cast(ref, { type: 'hang' });
    await tick();
    const r = stop(ref, 'shutdown', { timeout: 1_000 });
    await clock.advance(1_000);
    expect(await r).toBe('killed');
  });
});

describe('links and monitors', () => {
  const idle = (log: unknown[] = []): Behaviour<null, { info: never }> => ({
    init: () => null,
    handleInfo: (m: SystemMessage, s) => (log.push(m), s),
    terminate: (reason: ExitReason) => void log.push({ terminated: reason }),
  });

  it('an abnormal exit propagates to linked actors with the same reason', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const a = await system.spawn(counter(), 0);
    const b = await system.spawn(idle(log), undefined);
    link(a, b);
    await call(a, { type: 'boom' }).catch(() => {});
    const reason = await whenExited(b);
    expect((reason as { error: Error }).error.message).toBe('boom');
    expect(log).toEqual([{ terminated: reason }]);
  });

  it('a normal exit does not take linked actors down', async () => {
    const system = createSystem();
    const a = await system.spawn(counter(), 0);
    const b = await system.spawn(counter(), 0);
    link(a, b);
    await stop(a);
    await tick();
    expect(b.exited).toBe(false);
  });

  it('an actor that traps exits receives EXIT messages instead of dying', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const a = await system.spawn(counter(), 0);
    const b = await system.spawn(idle(log), undefined, { trapExit: true });
    link(a, b);
    kill(a);
    await tick();
    expect(b.exited).toBe(false);
    expect(log).toEqual([{ type: 'EXIT', from: a, reason: 'killed' }]);
  });

  it('kill propagates as killed to non-trapping linked actors, without terminate', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const a = await system.spawn(counter(), 0);
    const b = await system.spawn(idle(log), undefined, { link: a });
    kill(a);
    expect(await whenExited(b)).toBe('killed');
    expect(log).toEqual([]);
  });

  it('a monitor receives DOWN once, with the reason, and can be removed', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const watcher = await system.spawn(idle(log), undefined);
    const a = await system.spawn(counter(), 0);
    const b = await system.spawn(counter(), 0);
    const ma = monitor(watcher, a);
    const mb = monitor(watcher, b);
    expect(demonitor(mb)).toBe(true);
    await stop(a, 'shutdown');
    await stop(b, 'shutdown');
    await tick();
    expect(log).toEqual([{ type: 'DOWN', monitor: ma, actor: a, reason: 'shutdown' }]);
    expect(watcher.exited).toBe(false);
  });

  it('monitoring an exited actor delivers DOWN at once', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const watcher = await system.spawn(idle(log), undefined);
    const a = await system.spawn(counter(), 0);
    kill(a);
    const m = monitor(watcher, a);
    await tick();
    // erlang:monitor/2 docs: monitoring a process that does not exist gives DOWN with `noproc` at once.
    expect(log).toEqual([{ type: 'DOWN', monitor: m, actor: a, reason: 'noproc' }]);
  });

  it('send delivers to handleInfo', async () => {
    const system = createSystem();
    const log: unknown[] = [];
    const ref = await system.spawn(counter(undefined, log), 0);
    send(ref, { type: 'tick' });
    await call(ref, { type: 'get' });
    expect(log).toEqual([{ type: 'tick' }]);
  });

  it('system.shutdown stops every actor and reports it on the inspection stream', async () => {
    const system = createSystem();
    const events: string[] = [];
    const sub = system.inspect((e) => events.push(e.type));
    await system.spawn(counter(), 0);
    await system.spawn(counter(), 0);
    await system.shutdown();
    sub.dispose();
    expect(system.size).toBe(0);
    expect(events).toEqual(['actor.spawned', 'actor.spawned', 'actor.exited', 'actor.exited']);
  });
});
