/**
 * The Redis store sends the admissions and releases asked at the same time in one script call,
 * each run as it would run alone: the same answers, in order, with fewer calls (counted by Redis
 * itself, `INFO commandstats`). A real redis-server.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { useRedisServer } from '../support/redis.js';
import { RedisStore, isStoreUnavailableError, type ResolvedLimits } from '../../src/index.js';

const redis = useRedisServer();
const RULES = { failureThreshold: 5, resetMs: 1000 };
const two: ResolvedLimits = { maxConcurrent: 2, rpm: Infinity, tpm: Infinity };

let opened: RedisStore[] = [];
let prefixes = 0;
async function store(): Promise<RedisStore> {
  // Long leases: the heartbeat (a script call of its own, every leaseMs / 3) never runs while calls are counted.
  const s = new RedisStore({ url: redis().url, prefix: `batch${++prefixes}`, timeoutMs: 500, leaseMs: 60_000 });
  opened.push(s);
  expect(await s.ready()).toBe(true);
  return s;
}
afterEach(async () => {
  for (const s of opened) await s.close();
  opened = [];
});

/** Script calls Redis has run so far (EVALSHA and EVAL). */
async function scriptCalls(): Promise<number> {
  const c = new Redis(redis().url);
  try {
    const info = await c.info('commandstats');
    return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  } finally {
    c.disconnect();
  }
}

describe('admissions and releases asked together', () => {
  it('go in one script call, each answered as it would be alone, in the order asked', async () => {
    const s = await store();
    const w = [{ name: 'w', limits: two }];
    const before = await scriptCalls();
    const answers = await Promise.all([1, 2, 3].map(() => s.admit({ candidates: w, tokens: 1 })));
    expect(answers.map((a) => a.kind)).toEqual(['admitted', 'admitted', 'full']);
    expect((await scriptCalls()) - before).toBe(1);
    // A release and the admissions after it, asked together: the release is run first.
    const [first] = answers;
    if (first?.kind !== 'admitted') throw new Error('expected an admission');
    const mark = await scriptCalls();
    const [verdict, again, full] = await Promise.all([s.release(first.lease, { kind: 'success' }, RULES), s.admit({ candidates: w, tokens: 1 }), s.admit({ candidates: w, tokens: 1 })]);
    expect(verdict).toEqual({ circuit: 'closed', failures: 0 });
    expect([again.kind, full.kind]).toEqual(['admitted', 'full']);
    expect((await scriptCalls()) - mark).toBe(1);
    expect((await s.counters(['w'])).get('w')).toMatchObject({ requests: 3, successes: 1 });
  });

  it('more than 64 go in calls of 64; a read asked after a release sees it counted', async () => {
    const s = await store();
    const many = [{ name: 'many', limits: { ...two, maxConcurrent: 1000 } }];
    const before = await scriptCalls();
    const leases = await Promise.all(Array.from({ length: 130 }, () => s.admit({ candidates: many, tokens: 1 })));
    expect(leases.every((l) => l.kind === 'admitted')).toBe(true);
    expect((await scriptCalls()) - before).toBe(3); // 64 + 64 + 2
    const l = leases[0]!;
    if (l.kind !== 'admitted') throw new Error('expected an admission');
    void s.release(l.lease, { kind: 'success', tokens: 7 }, RULES);
    expect((await s.counters(['many'])).get('many')).toMatchObject({ requests: 130, successes: 1, tokens: 7 });
  });

  it('all fail together, with the typed error, when Redis does not answer; the store is degraded', async () => {
    const s = await store();
    const w = [{ name: 'w', limits: two }];
    process.kill(redis().pid, 'SIGSTOP'); // Redis holds the connection and answers nothing
    try {
      const answers = await Promise.allSettled([1, 2, 3].map(() => s.admit({ candidates: w, tokens: 1 })));
      expect(answers.map((a) => a.status === 'rejected' && isStoreUnavailableError(a.reason) && a.reason.trouble)).toEqual(['timeout', 'timeout', 'timeout']);
      expect(s.degraded).toBe(true);
    } finally {
      process.kill(redis().pid, 'SIGCONT');
    }
  });
});
