/**
 * The README's actor and supervisor examples, runnable: `npx tsx examples/supervised-counter.ts`.
 * A counter actor crashes on a bad message; its supervisor restarts it with a fresh state.
 */
import { call, cast, createSystem, reply, startSupervisor, stop, whichChildren, type Behaviour } from '../src/index.js';

type Counter = {
  call: { type: 'get' } | { type: 'add'; n: number };
  replies: { get: number; add: number };
  cast: { type: 'reset' } | { type: 'explode' };
};

const counter: Behaviour<number, Counter, number> = {
  init: (start) => start,
  handleCall(msg, n) {
    switch (msg.type) {
      case 'get':
        return reply(n, n);
      case 'add':
        return reply(n + msg.n, n + msg.n);
    }
  },
  handleCast(msg) {
    if (msg.type === 'explode') throw new Error('boom');
    return 0;
  },
};

export async function main(log: (line: string) => void = console.log): Promise<void> {
  const system = createSystem();
  const sup = await startSupervisor(system, {
    strategy: 'one_for_one',
    maxRestarts: 3,
    maxSeconds: 5,
    children: [{ id: 'counter', start: () => system.spawn(counter, 10, { name: 'counter' }) }],
  });

  const ref = system.whereis<Counter>('counter')!;
  const total: number = await call(ref, { type: 'add', n: 5 });
  log(`counter is ${total}`);

  cast(ref, { type: 'explode' }); // crashes the actor
  await new Promise((r) => setImmediate(r));
  const again = system.whereis<Counter>('counter')!;
  log(`restarted: ${again !== ref}, counter is ${await call(again, { type: 'get' })}`);
  log(`children: ${(await whichChildren(sup)).map((c) => `${c.id} ${c.status}`).join(', ')}`);
  await stop(sup, 'shutdown');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) console.log('usage: npx tsx examples/supervised-counter.ts   (a counter actor under a supervisor: it crashes and is restarted)');
  else if (args.length > 0) {
    console.error(`unknown argument ${args[0]}\nusage: npx tsx examples/supervised-counter.ts`);
    process.exitCode = 2;
  } else await main();
}
