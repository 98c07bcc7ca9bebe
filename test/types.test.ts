import { describe, expectTypeOf, it } from 'vitest';
import { call, cast, createSystem, reply, send, type ActorRef, type Behaviour } from '../src/index.js';

type Counter = {
  call: { type: 'get' } | { type: 'add'; n: number } | { type: 'name' };
  replies: { get: number; add: number; name: string };
  cast: { type: 'reset' };
  info: { type: 'tick' };
};

const counter: Behaviour<number, Counter, number> = {
  init: (n) => n,
  handleCall(msg, n) {
    switch (msg.type) {
      case 'get':
        return reply(n, n);
      case 'add':
        return reply(n + msg.n, n + msg.n);
      case 'name':
        return reply('counter', n);
    }
  },
  handleCast: () => 0,
};

describe('types at call sites (checked by `npm run typecheck`)', () => {
  it('the reply type follows the message, with no casts', async () => {
    const system = createSystem();
    const ref = await system.spawn(counter, 1);
    expectTypeOf(ref).toEqualTypeOf<ActorRef<Counter>>();
    expectTypeOf(call(ref, { type: 'get' })).resolves.toEqualTypeOf<number>();
    expectTypeOf(call(ref, { type: 'name' })).resolves.toEqualTypeOf<string>();
    expectTypeOf(await call(ref, { type: 'add', n: 2 })).toEqualTypeOf<number>();
    cast(ref, { type: 'reset' });
    send(ref, { type: 'tick' });

    // @ts-expect-error: unknown message type
    void call(ref, { type: 'nope' }).catch(() => {});
    // @ts-expect-error: missing field
    void call(ref, { type: 'add' }).catch(() => {});
    // @ts-expect-error: wrong field type
    void call(ref, { type: 'add', n: 'two' }).catch(() => {});
    // @ts-expect-error: a call message is not a cast
    cast(ref, { type: 'get' });
    // @ts-expect-error: a cast message is not an info message
    send(ref, { type: 'reset' });
    await system.shutdown();
  });
});
