import { describe, expect, it } from 'vitest';
import { createSystem, formatEvent, logEvents, startSupervisor, startWorkers, stop, type InspectionEvent } from '../src/index.js';
import { MockWorker } from '../src/testing.js';

describe('events and the default logger', () => {
  it('prints one line per event, for every kind of event a run produces', async () => {
    const system = createSystem();
    const all: InspectionEvent[] = [];
    system.inspect((e) => all.push(e));
    const lines: string[] = [];
    const sub = logEvents(system, { write: (l) => lines.push(l) });
    const w = await startWorkers({
      system,
      workers: [
        new MockWorker({ name: 'bad', priority: 1, failOnStart: true, health: { status: 'unavailable', reason: 'down' } }),
        new MockWorker({ name: 'good', priority: 2 }),
      ],
      healthIntervalMs: 0,
      failureThreshold: 1,
    });
    await w.dispatcher.complete([{ role: 'user', content: 'x' }]);
    await w.dispatcher.checkHealth();
    await w.stop();
    sub.dispose();
    const types = new Set(all.map((e) => e.type));
    for (const t of ['pool.dispatch', 'pool.attempt_failed', 'pool.failover', 'pool.stream_finished', 'pool.circuit_changed', 'pool.health_changed', 'supervisor.child_started', 'supervisor.shutdown', 'actor.exited']) {
      expect(types).toContain(t);
    }
    for (const e of all) expect(formatEvent(e)).toMatch(/\S/);
    expect(lines).toContain('request 1: bad failed (start): worker bad: failed to start (scripted)');
    expect(lines).toContain('worker bad: circuit open');
    expect(lines.some((l) => l.startsWith('actor '))).toBe(false); // the default filter leaves actor noise out
    const after = lines.length;
    system.inspect(() => {}).dispose();
    expect(lines.length).toBe(after); // disposed: nothing more
  });

  it('describes supervisor restarts and give-ups', async () => {
    const system = createSystem();
    const lines: string[] = [];
    logEvents(system, { write: (l) => lines.push(l), filter: (e) => e.type.startsWith('supervisor.') });
    const sup = await startSupervisor(system, {
      name: 'top',
      maxRestarts: 0,
      children: [{ id: 'c', start: () => system.spawn({ init: () => null, handleCast: () => { throw new Error('boom'); } }, undefined, { name: 'c' }) }],
    });
    const { cast } = await import('../src/index.js');
    cast(system.whereis<{ cast: { type: 'x' } }>('c')!, { type: 'x' });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    if (!sup.exited) await stop(sup);
    expect(lines).toContain('supervisor top started c');
    expect(lines).toContain('supervisor top: child c exited (error: Error: boom)');
    expect(lines).toContain('supervisor top: more than 0 restarts in 5 s (last c), giving up');
  });
});

describe('logEvents with a structured (pino) logger', () => {
  it('writes one JSON object per event, at a level that fits it, with no secret and no prompt', async () => {
    const { pino } = await import('pino');
    const chunks: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void chunks.push(s) });
    const system = createSystem();
    const sub = logEvents(system, { logger });
    const w = await startWorkers({
      system,
      workers: [new MockWorker({ name: 'bad', priority: 1, failOnStart: true }), new MockWorker({ name: 'good', priority: 2 })],
      healthIntervalMs: 0,
      failureThreshold: 1,
    });
    await w.dispatcher.complete([{ role: 'user', content: 'my private question' }]);
    await w.stop();
    sub.dispose();
    const lines = chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const of = (event: string): Record<string, unknown> => lines.find((l) => l.event === event)!;
    expect(of('pool.failover')).toMatchObject({ level: 40, from: 'bad', msg: `request ${String(of('pool.failover').requestId)}: failing over from bad` });
    expect(of('pool.attempt_failed')).toMatchObject({ level: 40, worker: 'bad', phase: 'start', error: { code: 'worker_error' } });
    expect(of('pool.circuit_changed')).toMatchObject({ level: 40, worker: 'bad', state: 'open' });
    expect(of('pool.stream_finished')).toMatchObject({ level: 30, outcome: 'complete', worker: 'good' });
    expect(of('pool.dispatch')).toMatchObject({ level: 20 });
    expect(of('supervisor.child_started')).toMatchObject({ level: 30, supervisor: 'cortex' });
    expect(chunks.join('')).not.toContain('my private question');
  });

  it('logs a restart as an error', async () => {
    const { eventLevel } = await import('../src/index.js');
    const sys = createSystem();
    const sup = await startSupervisor(sys, { children: [] });
    expect(eventLevel({ type: 'supervisor.child_restarting', supervisor: sup, id: 'x', delayMs: 0 } as InspectionEvent)).toBe('error');
    expect(eventLevel({ type: 'pool.health_changed', worker: 'w', from: 'available', to: 'unavailable', reason: 'down' })).toBe('warn');
    expect(eventLevel({ type: 'pool.health_changed', worker: 'w', from: 'unavailable', to: 'available', reason: undefined })).toBe('info');
    await stop(sup);
  });
});
