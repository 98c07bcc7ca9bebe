/**
 * The Redis store's usage counts, read often (the dashboard asks every second for a month's):
 * an hour that ended ten minutes ago is closed, read once and kept; the hours still open are
 * read every time. On a real redis-server, on the store's own clock.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisStore, type UsageCount } from '../../src/index.js';
import { useRedisServer } from '../support/redis.js';

const redis = useRedisServer();
const stores: RedisStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

describe('usage counts on Redis', () => {
  it('reads a closed hour once and keeps it; reads the open hours every time', async () => {
    let t = Date.UTC(2026, 11, 6, 12, 5); // 12:05: the 11:00 hour ended five minutes ago
    const prefix = `usage-${Math.random().toString(36).slice(2)}`;
    const store = new RedisStore({ url: redis().url, prefix, now: () => t });
    stores.push(store);
    expect(await store.ready()).toBe(true);
    const count = (hour: number, requests: number): UsageCount => ({ hour, key: 'team', worker: 'w', model: 'm', requests, inputTokens: 0, outputTokens: 0, costUsd: null, cacheHits: 0, savedUsd: null });
    const at = (h: number): number => Date.UTC(2026, 11, 6, h);
    await store.usageAdd(count(at(9), 1)); // closed
    await store.usageAdd(count(at(11), 2)); // ended 5 minutes ago: still open
    await store.usageAdd(count(at(12), 3)); // this hour
    const requestsByHour = async (): Promise<Record<number, number>> => Object.fromEntries((await store.usageRead(at(9))).map((c) => [new Date(c.hour).getUTCHours(), c.requests]));
    expect(await requestsByHour()).toEqual({ 9: 1, 11: 2, 12: 3 });

    // Behind the store's back: the closed hour's hash goes, the open ones grow.
    const raw = new Redis(redis().url);
    try {
      await raw.del(`{${prefix}}:usage:${at(9)}`);
    } finally {
      raw.disconnect();
    }
    await store.usageAdd(count(at(11), 10));
    await store.usageAdd(count(at(12), 10));
    expect(await requestsByHour()).toEqual({ 9: 1, 11: 12, 12: 13 }); // 9:00 kept as read; 11:00 and 12:00 read again

    t = Date.UTC(2026, 11, 6, 12, 15); // now 11:00 is closed too: read once more, then kept
    await store.usageAdd(count(at(11), 100));
    expect((await requestsByHour())[11]).toBe(112);
  });
});
