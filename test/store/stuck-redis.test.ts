/**
 * A stuck Redis never holds the process. `stop()` resolves within the store's `timeoutMs` plus
 * the drain time whatever Redis does (stopped with SIGSTOP, an endpoint that accepts TCP and
 * never answers, nothing there), and nothing of the store is left running once it has. A
 * degraded store says why (`auth_failed`, `protocol`, `timeout`, `unreachable`), and
 * `store.required` refuses to start without it. The test's own redis-server goes with the
 * process that started it, however that process ends.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isStoreUnavailableError, startWorkers, type InspectionEvent, type Workers } from '../../src/index.js';
import { MockWorker, startRedisServer, type RedisServer } from '../../src/testing.js';
import { runScript } from '../support/run-script.js';
import { listenTcp } from '../support/tcp.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function listen(onSocket: (s: import('node:net').Socket) => void): Promise<string> {
  const tcp = await listenTcp(onSocket);
  cleanup.push(() => tcp.close());
  return `redis://127.0.0.1:${tcp.port}`;
}

async function redisServer(args: string[] = []): Promise<RedisServer> {
  const r = await startRedisServer({ args });
  cleanup.push(() => r.close());
  return r;
}

async function within<T>(p: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([p, new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)))]);
  clearTimeout(timer);
  return r;
}

async function treeOn(url: string, timeoutMs = 200): Promise<{ cortex: Workers; events: InspectionEvent[] }> {
  const events: InspectionEvent[] = [];
  const cortex = await startWorkers({ workers: [new MockWorker({ name: 'w' })], healthIntervalMs: 0, store: { kind: 'redis', url, timeoutMs } });
  cortex.system.inspect((e) => events.push(e));
  return { cortex, events };
}

describe('stop() with a stuck Redis', () => {
  it('resolves while Redis is stopped (SIGSTOP) mid-run, and requests are answered meanwhile', async () => {
    const redis = await redisServer();
    const { cortex } = await treeOn(redis.url);
    expect((await cortex.dispatcher.complete([{ role: 'user', content: 'x' }])).text).toBe('Hello from w');
    process.kill(redis.pid, 'SIGSTOP');
    cleanup.push(() => void process.kill(redis.pid, 'SIGCONT'));
    expect((await cortex.dispatcher.complete([{ role: 'user', content: 'x' }])).text).toBe('Hello from w'); // decided alone after the timeout
    expect(await within(cortex.stop({ drainMs: 0 }).then(() => 'stopped'), 5_000)).toBe('stopped');
  });

  it('resolves against an endpoint that accepts TCP and never answers, which it reports as a timeout', async () => {
    const url = await listen(() => undefined);
    const { cortex } = await treeOn(url);
    expect((await cortex.dispatcher.status()).store).toMatchObject({ degraded: true, trouble: 'timeout' });
    expect(await within(cortex.stop({ drainMs: 0 }).then(() => 'stopped'), 5_000)).toBe('stopped');
  });

  it('leaves nothing running once stop() resolved, with a Redis that was never reachable (a process of its own)', async () => {
    const { code, stdout } = await runScript(`
      import { startWorkers } from './src/index.js';
      import { MockWorker } from './src/testing.js';
      const before = new Set(process.getActiveResourcesInfo());
      const cortex = await startWorkers({ workers: [new MockWorker()], healthIntervalMs: 0, store: { kind: 'redis', url: 'redis://127.0.0.1:1', timeoutMs: 100 } });
      await cortex.stop({ drainMs: 0 });
      console.log(JSON.stringify(process.getActiveResourcesInfo().filter((r) => !before.has(r) && r !== 'PipeWrap')));
    `);
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual([]);
  });
});

describe('a degraded store says why', () => {
  it.each([
    ['a wrong password', 'auth_failed', /authentication failed at 127\.0\.0\.1:\d+: WRONGPASS/],
    ['a server that is not Redis', 'protocol', /does not speak the Redis protocol/],
    ['nothing listening', 'unreachable', /no connection to 127\.0\.0\.1:1 \(connect ECONNREFUSED/],
  ] as const)('%s: %s, in status() and the store.degraded event', async (what, code, reason) => {
    let url = 'redis://127.0.0.1:1';
    if (what === 'a wrong password') url = (await redisServer(['--requirepass', 'the-right-one'])).url.replace('redis://', 'redis://:wrong-password@');
    if (what === 'a server that is not Redis') url = await listen((s) => s.on('data', () => s.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const system = (await import('../../src/index.js')).createSystem();
    const events: InspectionEvent[] = [];
    system.inspect((e) => events.push(e));
    const cortex = await startWorkers({ system, workers: [new MockWorker()], healthIntervalMs: 0, store: { kind: 'redis', url, timeoutMs: 200 } });
    try {
      expect((await cortex.dispatcher.status()).store).toMatchObject({ degraded: true, trouble: code, troubleReason: expect.stringMatching(reason) });
      expect(events).toContainEqual(expect.objectContaining({ type: 'store.degraded', code, reason: expect.stringMatching(reason) }));
      expect(JSON.stringify(events.filter((e) => e.type.startsWith('store.')))).not.toContain('wrong-password');
      expect((await cortex.dispatcher.complete([{ role: 'user', content: 'x' }])).text).toBe('Hello from mock'); // served all the same
    } finally {
      await cortex.stop({ drainMs: 0 });
      await system.shutdown();
    }
  });

  it('store.required: startWorkers rejects with a typed error saying why, and leaves nothing open', async () => {
    const { url } = await redisServer(['--requirepass', 'the-right-one']);
    const e = await startWorkers({ workers: [new MockWorker()], healthIntervalMs: 0, store: { kind: 'redis', url: url.replace('redis://', 'redis://:wrong-password@'), timeoutMs: 200, required: true } }).then(
      (c) => c,
      (err: unknown) => err,
    );
    expect(isStoreUnavailableError(e)).toBe(true);
    expect(e).toMatchObject({ trouble: 'auth_failed', message: expect.stringMatching(/authentication failed.*the store is required/) });
    expect((e as Error).message).not.toContain('wrong-password');
  });
});

describe("the test's redis-server goes with its process", () => {
  it.each(['a thrown error', 'SIGKILL'] as const)('when the process that started it ends by %s: the server stops and its dir is gone', async (how) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { startRedisServer } = await import(${JSON.stringify(`${process.cwd()}/src/testing.ts`)});
      const r = await startRedisServer();
      const dir = (await import('node:child_process')).execSync('ls -d /proc/' + r.pid + '/cwd >/dev/null && readlink /proc/' + r.pid + '/cwd').toString().trim();
      console.log(JSON.stringify({ port: r.port, pid: r.pid, dir }));
      ${how === 'a thrown error' ? "setTimeout(() => { throw new Error('the test crashed'); }, 50);" : 'setInterval(() => {}, 1000);'}
    `], { stdio: ['ignore', 'pipe', 'ignore'] });
    const info = await new Promise<{ port: number; pid: number; dir: string }>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as never)));
    if (how === 'SIGKILL') child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await expect.poll(() => alive(info.pid), { timeout: 5_000 }).toBe(false);
    expect(await refused(info.port)).toBe(true);
    expect(existsSync(info.dir)).toBe(false);
  }, 20_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}
