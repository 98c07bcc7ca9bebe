import { InvalidArgumentError } from '../errors/runtime.js';
import { checkObject } from '../runtime/checks.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { nodeHttp } from '../lazy-require.js';
import type { AddressInfo, Socket } from 'node:net';

/** What a fake server's request handler gets besides the request. @internal */
export interface FakeTools {
  /** Real-time wait, cleared on close. */
  wait(ms: number): Promise<void>;
  /** Writes bytes, in 3-byte pieces with a pause between when `split` (to split lines and UTF-8 characters across reads). */
  write(res: ServerResponse, text: string, split?: boolean): Promise<void>;
  /** Marks the response as finished on purpose; a response closed before that counts as a client abort. */
  track(res: ServerResponse): { finish(): void };
}

/** A running fake server. @internal */
export interface FakeHttp {
  readonly url: string;
  readonly port: number;
  readonly clientAborts: number;
  /** Chat requests being answered now, and the most at once so far. */
  readonly active: number;
  readonly peakActive: number;
  openConnections(): number;
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** A `node:http` server on 127.0.0.1 (random port) with the bookkeeping every fake needs. @internal */
export async function fakeHttp(handler: (req: IncomingMessage, res: ServerResponse, tools: FakeTools) => Promise<void>): Promise<FakeHttp> {
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let clientAborts = 0;
  let active = 0;
  let peakActive = 0;
  const tools: FakeTools = {
    wait: (ms) =>
      new Promise((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      }),
    async write(res, text, split = false) {
      if (res.destroyed) return;
      const bytes = enc.encode(text);
      if (!split) return void res.write(bytes);
      for (let i = 0; i < bytes.length; i += 3) {
        res.write(bytes.subarray(i, Math.min(bytes.length, i + 3)));
        await tools.wait(0);
      }
    },
    track(res) {
      let finished = false;
      peakActive = Math.max(peakActive, ++active);
      res.on('close', () => {
        active--;
        if (!finished) clientAborts++;
      });
      return {
        finish: () => {
          finished = true;
        },
      };
    },
  };
  const server: Server = nodeHttp().createServer((req, res) => {
    void handler(req, res, tools).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get clientAborts() {
      return clientAborts;
    },
    get active() {
      return active;
    },
    get peakActive() {
      return peakActive;
    },
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Reads a request body as JSON (undefined if it is not JSON). @internal */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let raw = '';
  for await (const c of req) raw += c;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Options of a fake server: an object whose `script` is an object or a function. @internal */
export function checkFakeOptions(o: unknown): void {
  checkObject(o, 'options');
  const script = (o as { script?: unknown }).script;
  if (script !== undefined && typeof script !== 'function' && (typeof script !== 'object' || script === null)) {
    throw new InvalidArgumentError('options.script', 'a script object or a function returning one', script);
  }
}

/** `obj` with the server's live counters as read-only properties (`clientAborts`, `active`, `peakActive`). @internal */
export function withCounters<T extends object>(obj: T, http: FakeHttp): T & Pick<FakeHttp, 'clientAborts' | 'active' | 'peakActive'> {
  return Object.defineProperties(obj, {
    clientAborts: { get: () => http.clientAborts, enumerable: true },
    active: { get: () => http.active, enumerable: true },
    peakActive: { get: () => http.peakActive, enumerable: true },
  }) as T & Pick<FakeHttp, 'clientAborts' | 'active' | 'peakActive'>;
}

/**
 * The scripted faults before chunk `i`: `resetAfter` destroys the connection (after a short pause,
 * so the client takes the chunks so far), `stallAfter` leaves it open and silent. True when the
 * stream stops here. @internal
 */
export async function faultAt(
  i: number,
  script: { readonly resetAfter?: number | undefined; readonly stallAfter?: number | undefined },
  res: ServerResponse,
  tracker: { finish(): void },
  wait: (ms: number) => Promise<void>,
): Promise<boolean> {
  if (script.resetAfter === i) {
    tracker.finish();
    if (i > 0) await wait(10);
    res.socket?.resetAndDestroy();
    return true;
  }
  return script.stallAfter === i;
}
