import { lib } from './lib.js';
import { createActor, createMachine } from 'xstate';
import type { Behaviour } from '../src/index.js';
import { bytesPer, interleaved, median, ratio, record } from './harness.js';
const { call, cast, createSystem, reply, startSupervisor } = lib;

type Echo = { call: { type: 'echo'; n: number }; replies: { echo: number }; cast: { type: 'inc' } };
const echo: Behaviour<number, Echo> = {
  init: () => 0,
  handleCall: (m, s) => reply(m.n, s),
  handleCast: (_m, s) => s + 1,
};

export async function runtimeBench(): Promise<void> {
  const system = createSystem();
  const ref = await system.spawn(echo, undefined);
  const asyncEcho: Behaviour<number, Echo> = { init: () => 0, handleCall: async (m, s) => reply(m.n, s) };
  const busy = await system.spawn(asyncEcho, undefined);
  const BATCH = 1_000;

  // call round trip vs a bare promise round trip (an async function answering through the microtask queue)
  const bare = async (n: number): Promise<number> => n;
  const machine = createMachine({ context: { n: 0 }, on: { inc: { actions: ({ context }) => void context.n++ } } });
  const xactor = createActor(machine).start();
  let sink = 0;
  const r = await interleaved(
    {
      'bare promise': async () => {
        for (let i = 0; i < BATCH; i++) sink += await bare(i);
      },
      'actor call': async () => {
        for (let i = 0; i < BATCH; i++) sink += await call(ref, { type: 'echo', n: i });
      },
      'actor call, queued': async () => {
        // 100 calls in flight at once: all but the first wait in the mailbox (deadline, deferred promise).
        for (let i = 0; i < BATCH; i += 100) {
          const ps = [];
          for (let j = 0; j < 100; j++) ps.push(call(busy, { type: 'echo', n: j }));
          for (const p of await Promise.all(ps)) sink += p;
        }
      },
      'actor cast': async () => {
        for (let i = 0; i < BATCH; i++) cast(ref, { type: 'inc' });
        await call(ref, { type: 'echo', n: 0 }); // drained: casts are processed in order before this
      },
      'xstate send': () => {
        for (let i = 0; i < BATCH; i++) xactor.send({ type: 'inc' });
      },
    },
    { batch: BATCH },
  );
  const rr = ratio(r['actor call']!, r['bare promise']!);
  record({ group: 'runtime', name: 'bare promise round trip', value: median(r['bare promise']!), unit: 'ns' });
  record({ group: 'runtime', name: 'call round trip (idle actor, sync handler)', value: median(r['actor call']!), unit: 'ns' });
  record({ group: 'runtime', name: 'call / bare promise', value: rr.value, unit: 'x', spread: rr.spread, goal: '<= 3x', met: rr.value <= 3 });
  record({ group: 'runtime', name: 'call to an async handler, 100 queued (per call)', value: median(r['actor call, queued']!), unit: 'ns' });
  const castNs = median(r['actor cast']!);
  record({ group: 'runtime', name: 'cast throughput', value: 1e9 / castNs / 1e6, unit: 'M msgs/s' });
  record({ group: 'runtime', name: 'xstate actor send (same machine)', value: median(r['xstate send']!), unit: 'ns', note: `our cast: ${castNs.toFixed(0)} ns incl. processing` });
  xactor.stop();

  // memory per idle actor
  const N = 50_000;
  const idle: Behaviour<null> = { init: () => null };
  const perActor = await bytesPer(
    N,
    async (n) => {
      const refs = [];
      for (let i = 0; i < n; i++) refs.push(await system.spawn(idle, undefined));
      return refs;
    },
    async () => system.shutdown(),
  );
  record({ group: 'runtime', name: 'memory per idle actor', value: perActor, unit: 'B', goal: '< 512 B', met: perActor < 512 });
  const perX = await bytesPer(10_000, (n) => Array.from({ length: n }, () => createActor(machine).start()), (xs) => xs.forEach((x) => x.stop()));
  record({ group: 'runtime', name: 'memory per idle xstate actor (reference)', value: perX, unit: 'B' });

  // restart: crash to restarted child answering a call
  const sys2 = createSystem();
  type Crashy = { call: { type: 'ping' }; replies: { ping: 'pong' }; cast: { type: 'crash' } };
  const crashy: Behaviour<null, Crashy> = {
    init: () => null,
    handleCall: (_m, s) => reply('pong' as const, s),
    handleCast: () => {
      throw new Error('crash');
    },
  };
  const sup = await startSupervisor(sys2, {
    maxRestarts: 1_000_000,
    maxSeconds: 1,
    children: [{ id: 'c', start: () => sys2.spawn(crashy, undefined, { name: 'c' }) }],
  });
  const samples: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const before = sys2.whereis<Crashy>('c')!;
    const t0 = performance.now();
    cast(before, { type: 'crash' });
    for (;;) {
      const now = sys2.whereis<Crashy>('c');
      if (now !== undefined && now !== before) {
        await call(now, { type: 'ping' });
        break;
      }
      await new Promise<void>((res) => queueMicrotask(res));
    }
    samples.push((performance.now() - t0) * 1000);
  }
  record({ group: 'runtime', name: 'restart: crash to answering again (median)', value: median(samples.slice(200)), unit: 'us' });

  // restart storm: 50 children crash at once, 20 times
  const sys3 = createSystem();
  const storm = await startSupervisor(sys3, {
    maxRestarts: 1_000_000,
    maxSeconds: 1,
    children: Array.from({ length: 50 }, (_, i) => ({ id: `s${i}`, start: () => sys3.spawn(crashy, undefined, { name: `s${i}` }) })),
  });
  const t0 = performance.now();
  for (let round = 0; round < 20; round++) {
    const olds = Array.from({ length: 50 }, (_, i) => sys3.whereis<Crashy>(`s${i}`)!);
    for (const o of olds) cast(o, { type: 'crash' });
    for (let i = 0; i < 50; i++) {
      for (;;) {
        const now = sys3.whereis<Crashy>(`s${i}`);
        if (now !== undefined && now !== olds[i]) break;
        await new Promise<void>((res) => setImmediate(res));
      }
    }
  }
  const stormMs = performance.now() - t0;
  record({
    group: 'runtime',
    name: 'restart storm: 1000 crashes (50 at once x 20)',
    value: stormMs,
    unit: 'ms',
    note: `supervisor ${storm.exited ? 'EXITED' : 'alive'}, ${((stormMs * 1000) / 1000).toFixed(1)} us per restart`,
  });
  await sys2.shutdown();
  await sys3.shutdown();
  void sup;
  if (sink === -1) console.log(sink);
}
