import { afterAll, beforeAll } from 'vitest';
import { startRedisServer, type RedisServer } from '../../src/testing.js';

/**
 * A redis-server of the test file's own (Debian's package, on a free port, no persistence),
 * started before its tests and stopped after them. Call once at the top of a test file.
 */
export function useRedisServer(): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (server === undefined) throw new Error('the redis-server is not started yet (use it inside a test)');
    return server;
  };
}
