import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CortexError } from '../errors/cortex-error.js';

/** `redis-server` could not be started (missing, or not ready in time). `code` is `'redis_server'`. */
export class RedisServerError extends CortexError {
  constructor(message: string) {
    super('redis_server', message);
  }
}

/** A `redis-server` of a test's own, from {@link startRedisServer}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /**
   * The redis-server process id (changes on `restart`), for fault tests: `process.kill(pid,
   * 'SIGSTOP')` leaves it holding its connections and answering nothing; `'SIGCONT'` resumes it.
   */
  readonly pid: number;
  /** Stops the server (SIGTERM; nothing is saved) and removes its temp dir. The port stays reserved for {@link RedisServer.restart}. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty, in a new temp dir. */
  restart(): Promise<void>;
  /** Stops it for good (as `stop`). */
  close(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** The executable. Default `redis-server` on the PATH (Debian: `apt-get install redis-server`). */
  bin?: string;
  /** How long to wait for it to accept connections, ms. Default 10000. */
  startTimeoutMs?: number;
  /** More `redis-server` arguments, e.g. `['--requirepass', 'secret']`. */
  args?: readonly string[];
}

/**
 * Starts a real `redis-server` on a free 127.0.0.1 port, in a temp dir, with no persistence:
 * for tests of the Redis store. Never uses a system service. It stops, and its temp dir goes,
 * when this process exits in any way (a thrown error, a crash, SIGKILL), not only on `close()`.
 * @throws RedisServerError when the executable is missing or does not start in time.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? 'redis-server';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const extra = options.args ?? [];
  const port = await freePort();
  let child: ChildProcess | undefined;
  let pid = 0;
  const start = async (): Promise<void> => {
    ({ child, pid } = await launch(bin, await mkdtemp(join(tmpdir(), 'cortex-redis-')), port, timeoutMs, extra));
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.stdin!.end(); // the keeper stops redis-server and removes its dir
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return pid;
    },
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: stop,
  };
}

/**
 * Runs redis-server under a small shell keeper that holds this process's end of a pipe: when
 * the pipe closes (a stop, or this process exiting in any way, a crash or SIGKILL included), it
 * stops redis-server and removes its temp dir. Nothing outlives the test run.
 */
const KEEPER = [
  'exec 3<&0', // background jobs read /dev/null: keep the pipe on fd 3 for the watcher
  '"$0" "$@" &',
  'pid=$!',
  'echo "cortex-redis-pid=$pid"',
  // A server stopped with SIGSTOP (a fault test) is continued, so that it can end.
  '( read _ <&3; kill $pid 2>/dev/null; kill -CONT $pid 2>/dev/null ) &',
  'watcher=$!',
  'wait $pid; code=$?',
  'kill $watcher 2>/dev/null',
  'rm -rf "$CORTEX_REDIS_DIR"',
  'exit $code',
].join('\n');

function launch(bin: string, dir: string, port: number, timeoutMs: number, extra: readonly string[]): Promise<{ child: ChildProcess; pid: number }> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice', ...extra];
  const child = spawn('sh', ['-c', KEEPER, bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CORTEX_REDIS_DIR: dir } });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new RedisServerError(`redis-server did not start within ${timeoutMs} ms:\n${out.slice(-2000)}`)), timeoutMs);
    const fail = (e: RedisServerError): void => {
      clearTimeout(timer);
      child.stdin!.end();
      void rm(dir, { recursive: true, force: true });
      reject(e);
    };
    child.once('error', (e) => fail(new RedisServerError(`cannot run sh to start ${bin}: ${e.message}`)));
    child.once('exit', (code) =>
      fail(new RedisServerError(code === 127 ? `cannot run ${bin} (install it: apt-get install redis-server)` : `redis-server exited (${code}) before it was ready:\n${out.slice(-2000)}`)),
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, pid: Number(/cortex-redis-pid=(\d+)/.exec(out)?.[1] ?? 0) });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
