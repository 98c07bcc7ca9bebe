import { describe, expect, it } from 'vitest';
import { runWithout } from '../support/run-script.js';

describe('the Redis client is an optional peer', () => {
  it('without ioredis: importing cortex works, a Redis store says what to install (MissingPeerError)', async () => {
    // The script hides ioredis from module resolution, as in an app that never installed it.
    const out = await runWithout('ioredis', `
      const cortex = await import('./src/index.ts');
      const started = await cortex.startWorkers({ workers: [new cortex.DemoWorker()], healthIntervalMs: 0 });
      await started.stop();
      try {
        new cortex.RedisStore();
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, peer: e.peer, message: e.message, cause: e.cause?.code }));
      }
    `);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout.trim())).toEqual({ code: 'missing_peer', peer: 'ioredis', message: 'the Redis store needs the package "ioredis": npm install ioredis', cause: 'MODULE_NOT_FOUND' });
  });
});
