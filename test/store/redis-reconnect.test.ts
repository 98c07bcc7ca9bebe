/**
 * A connection to Redis that drops again right after it came back leaves no unhandled
 * rejection (one would end an app that runs with Node's default `--unhandled-rejections=throw`).
 * ioredis re-subscribes a subscriber after a reconnect with a promise nobody handles: when the
 * connection closes before Redis answers that SUBSCRIBE, the promise rejects with "Connection is
 * closed" (redis/ioredis#1120, #971). A fresh-clone run saw one such rejection once, with a
 * redis-server stopped under live stores. Here a proxy in front of a real redis-server drops the
 * subscriber's connection, then drops its reconnection the moment it sends SUBSCRIBE. Before the
 * fix: one unhandled MaxRetriesPerRequestError, and the store never subscribed again (other
 * instances' "freed" news lost until it was restarted).
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorkers } from '../../src/index.js';
import { MockWorker, startRedisServer } from '../../src/testing.js';
import { listenTcp } from '../support/tcp.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A TCP proxy to `port` that can drop the connections that subscribed, and drop the next SUBSCRIBE it sees. */
async function proxyTo(port: number): Promise<{ url: string; dropSubscribers(): void; dropNextSubscribe(): void; dropped: number }> {
  const subscribers = new Set<Socket>();
  let armed = false;
  const state = { dropped: 0 };
  const tcp = await listenTcp((client) => {
    const up = connect(port, '127.0.0.1');
    const drop = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('data', (d: Buffer) => {
      if (/subscribe/i.test(d.toString('latin1'))) {
        if (armed) {
          armed = false;
          state.dropped++;
          return drop(); // SUBSCRIBE sent, never answered: the connection is closed under it
        }
        subscribers.add(client);
      }
      up.write(d);
    });
    up.on('data', (d: Buffer) => client.write(d));
    client.on('error', drop).on('close', drop); // closing a client (as close() does) closes its upstream too
    up.on('error', drop).on('close', drop);
  });
  cleanup.push(() => tcp.close());
  return {
    url: `redis://127.0.0.1:${tcp.port}`,
    dropSubscribers() {
      for (const s of subscribers) s.destroy();
      subscribers.clear();
    },
    dropNextSubscribe() {
      armed = true;
    },
    get dropped() {
      return state.dropped;
    },
  };
}

describe('a Redis connection that drops again as it comes back', () => {
  it('leaves no unhandled rejection, and the store subscribes again once the connection holds', async () => {
    const redis = await startRedisServer();
    cleanup.push(() => redis.close());
    const proxy = await proxyTo(Number(new URL(redis.url).port));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    cleanup.push(() => void process.off('unhandledRejection', onUnhandled));
    const cortex = await startWorkers({ workers: [new MockWorker({ name: 'w' })], healthIntervalMs: 0, store: { kind: 'redis', url: proxy.url, timeoutMs: 500 } });
    cleanup.push(() => cortex.stop({ drainMs: 0 }));

    proxy.dropNextSubscribe();
    proxy.dropSubscribers();
    for (let i = 0; i < 100 && proxy.dropped === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.dropped).toBe(1); // the reconnection's SUBSCRIBE was cut
    // The subscriber connects once more, and this time its SUBSCRIBE is answered.
    for (let i = 0; i < 100 && !(await subscribed(redis.url)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await subscribed(redis.url)).toBe(true);
    await new Promise((r) => setTimeout(r, 50)); // a rejection is reported after its turn
    expect(unhandled).toEqual([]);
  });
});

/** Whether some connection is subscribed to a channel on the redis-server at `url` (PUBSUB NUMSUB of the cortex channels). */
async function subscribed(url: string): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await c.connect();
    const channels = (await c.pubsub('CHANNELS')) as string[];
    return channels.some((ch) => ch.endsWith(':freed'));
  } finally {
    c.disconnect();
  }
}
