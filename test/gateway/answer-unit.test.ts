/**
 * How the gateway answers, on its own: `stream` over a scripted dispatcher and a writer that
 * records (headers only once the first chunk came, a break after text never presented as
 * complete, the key's slot given back with what the answer used, a slow client waited for),
 * `collect`, the model and route directory, and the SSE helpers. Through real clients:
 * clients.test.ts, anthropic.test.ts, responses.test.ts, lifetime.test.ts. Mutation testing
 * (answer.ts 88.6 %): survivors left are equivalent or unobservable here: the model's initial
 * value (always replaced at the first chunk), the one-second cache bound at exactly 1 000 ms,
 * the event names of `drained`'s cleanup (a listener left on a response that is over).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { StreamChunk } from '../../src/index.js';
import { batched, collect, modelOf, routeOf, sendJson, sseEvent, stream, type Writer } from '../../src/gateway/answer.js';
import { CLOSING, type Call } from '../../src/gateway/call.js';
import type { KeyEntry, Spent } from '../../src/gateway/keys.js';
import type { PoolStatus } from '../../src/pool/types.js';

const chunk = (c: Partial<StreamChunk>): StreamChunk => ({ worker: 'w1', text: '', done: false, segment: 0, ...c });

/** A dispatcher whose stream is `script` (an Error thrown where it stands), with two workers in its status. */
function dispatcher(script: Array<StreamChunk | Error>, seen: { options?: unknown; statusCalls: number } = { statusCalls: 0 }) {
  return {
    seen,
    async *dispatchStream(_messages: unknown, options: unknown): AsyncGenerator<StreamChunk> {
      seen.options = options;
      for (const c of script) {
        if (c instanceof Error) throw c;
        yield c;
      }
    },
    async status(): Promise<PoolStatus> {
      seen.statusCalls++;
      return { workers: [{ name: 'w1', model: 'llama', tags: ['fast'] }, { name: 'w2' }] } as unknown as PoolStatus;
    },
  };
}

/** A response that records what is written, and can say it needs draining. */
function response(needDrain = false) {
  const res = Object.assign(new EventEmitter(), {
    writableNeedDrain: needDrain,
    written: [] as string[],
    head: undefined as undefined | { status: number; headers: Record<string, string> },
    corks: 0,
    writeHead(status: number, headers: Record<string, string>) {
      res.head = { status, headers };
      return res;
    },
    end(body?: string) {
      if (body !== undefined) res.written.push(body);
    },
    write(data: string) {
      res.written.push(data);
      return true;
    },
    cork() {
      res.corks++;
    },
    uncork() {
      res.written.push('<flush>');
    },
  });
  return res;
}

function recorder(): Writer & { log: string[] } {
  const log: string[] = [];
  return { log, start: () => log.push('start'), chunk: (c, m) => log.push(`chunk ${c.text} ${m}`), end: (c, m) => log.push(`end ${c.text} ${m}`), broke: (msg) => log.push(`broke ${msg}`) };
}

function call(d: ReturnType<typeof dispatcher>, res = response(), opts: { key?: KeyEntry; released?: Array<Spent | undefined>; ctl?: AbortController } = {}): Call {
  const ctl = opts.ctl ?? new AbortController();
  return {
    req: {} as never,
    res: res as never,
    dispatcher: d as never,
    body: {},
    signal: ctl.signal,
    key: opts.key,
    limits: { admit: async () => (spent: Spent | undefined) => void opts.released?.push(spent) } as never,
  };
}

const ask = { messages: [{ role: 'user' as const, content: 'hi' }], options: {} };
const key = { id: 'team', scope: 'scope-hash', routes: undefined, budget: undefined } as unknown as KeyEntry;

describe('stream', () => {
  it("starts the answer at the first chunk, writes each with its worker's model, ends with the last, and gives the key's slot back with what it used", async () => {
    const released: Array<Spent | undefined> = [];
    const d = dispatcher([chunk({ text: 'He' }), chunk({ text: 'llo', worker: 'w2' }), chunk({ text: '', done: true, usage: { promptTokens: 3, completionTokens: 2 }, costUsd: 0.5 })]);
    const w = recorder();
    await stream(call(d, response(), { key, released }), ask, w, 'fast');
    expect(w.log).toEqual(['start', 'chunk He llama', 'chunk llo w2', 'end  llama']);
    expect(released).toEqual([{ tokens: 5, costUsd: 0.5 }]);
    expect(d.seen.options).toMatchObject({ route: 'fast', cacheScope: 'scope-hash', tenant: 'team' });
  });

  it('a failure before the first chunk is thrown for the caller to answer with its status; nothing was started', async () => {
    const released: Array<Spent | undefined> = [];
    const w = recorder();
    await expect(stream(call(dispatcher([new Error('no worker')]), response(), { key, released }), ask, w)).rejects.toThrow('no worker');
    expect(w.log).toEqual([]);
    expect(released).toEqual([undefined]); // the slot is given back all the same, with nothing used
  });

  it('a break after text is told as a break, never as an end', async () => {
    const w = recorder();
    await stream(call(dispatcher([chunk({ text: 'a' }), new Error('reset')])), ask, w);
    expect(w.log).toEqual(['start', 'chunk a llama', 'broke the answer broke off: reset']);
  });

  it("cut by the gateway's close: the break says it is shutting down; a client that went away is told nothing", async () => {
    const closing = new AbortController();
    const w = recorder();
    const c = call(dispatcher([chunk({ text: 'a' }), new Error('aborted')]), response(), { ctl: closing });
    closing.abort(CLOSING);
    await stream(c, ask, w);
    expect(w.log.at(-1)).toBe('broke the gateway is shutting down: the answer was cut after its drain time');
    const gone = new AbortController();
    const w2 = recorder();
    const c2 = call(dispatcher([chunk({ text: 'a' }), new Error('aborted')]), response(), { ctl: gone });
    gone.abort();
    await stream(c2, ask, w2);
    expect(w2.log).toEqual(['start', 'chunk a llama']);
  });

  it('waits for a slow client to drain before asking the pool for the next chunk', async () => {
    const res = response(true);
    let asked = 0;
    const d = dispatcher([]);
    d.dispatchStream = async function* () {
      asked++;
      yield chunk({ text: 'a' });
      asked++;
      yield chunk({ text: 'b', done: true });
    };
    const w = recorder();
    const done = stream(call(d, res), ask, w);
    await new Promise((r) => setTimeout(r, 20));
    expect(asked).toBe(1); // held at the first chunk: the client has not drained
    res.writableNeedDrain = false;
    res.emit('drain');
    await done;
    expect(asked).toBe(2);
    expect(w.log).toEqual(['start', 'chunk a llama', 'end b llama']);
  });
});

describe('collect', () => {
  it('the whole answer: text, reasoning, tool calls assembled, the last chunk and its model; the slot back with what it used', async () => {
    const released: Array<Spent | undefined> = [];
    const d = dispatcher([
      chunk({ text: 'a', reasoning: 'r1' }),
      chunk({ text: 'b', reasoning: 'r2', toolCalls: [{ index: 0, id: 'c1', name: 'f', arguments: '{"x"' }] }),
      chunk({ toolCalls: [{ index: 0, arguments: ':1}' }] }),
      chunk({ done: true, usage: { promptTokens: 1, completionTokens: 1 } }),
    ]);
    const got = await collect(call(d, response(), { key, released }), ask);
    expect(got).toMatchObject({ text: 'ab', reasoning: 'r1r2', toolCalls: [{ id: 'c1', name: 'f', arguments: '{"x":1}' }], model: 'llama' });
    expect(got.last.done).toBe(true);
    expect(released).toEqual([{ tokens: 2, costUsd: undefined }]);
  });
});

describe('the model and route directory', () => {
  it("a worker's model (its name when it has none); a model field that is a tag, name or model routes, anything else lets the pool choose", async () => {
    const d = dispatcher([]);
    expect(await modelOf(d as never, 'w1')).toBe('llama');
    expect(await modelOf(d as never, 'w2')).toBe('w2');
    for (const m of ['fast', 'w1', 'llama', 'w2']) expect(await routeOf(d as never, m)).toBe(m);
    for (const m of ['gpt-4o', '', 42, undefined]) expect(await routeOf(d as never, m)).toBeUndefined();
  });

  it('asks the pool once a second, and again at once for a worker it does not know yet', async () => {
    const d = dispatcher([]);
    await modelOf(d as never, 'w1');
    await modelOf(d as never, 'w2');
    await routeOf(d as never, 'fast');
    expect(d.seen.statusCalls).toBe(1);
    await modelOf(d as never, 'w3'); // a worker added since
    expect(d.seen.statusCalls).toBe(2);
    expect(await modelOf(d as never, 'w3')).toBe('w3');
  });
});

describe('the writing helpers', () => {
  it('sseEvent: a named event with its JSON data, ended by a blank line', () => {
    expect(sseEvent('message_start', { a: 1 })).toBe('event: message_start\ndata: {"a":1}\n\n');
  });

  it('sendJson: 200 with the JSON body', () => {
    const res = response();
    sendJson({ res } as never, { ok: true });
    expect(res.head).toEqual({ status: 200, headers: { 'content-type': 'application/json' } });
    expect(res.written).toEqual(['{"ok":true}']);
  });

  it('batched: the writes of one turn go out joined in one write on the next turn; end sends what is queued with it', async () => {
    const res = Object.assign(response(), { destroyed: false, writableEnded: false, ended: false });
    res.end = (body?: string) => {
      if (body !== undefined) res.written.push(`${body}<end>`);
      res.ended = true;
    };
    const out = batched(res as never);
    out.write('a');
    out.write('b');
    expect(res.written).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(res.written).toEqual(['ab']);
    out.write('c');
    out.end();
    expect(res.written).toEqual(['ab', 'c<end>']); // what is queued goes with the end, in one write
    expect(res.ended).toBe(true);
    await new Promise((r) => setImmediate(r)); // the turn's flush finds nothing left
    expect(res.written).toEqual(['ab', 'c<end>']);
  });

  it("batched: past 16 KB queued, it writes at once (a slow client's backpressure shows); nothing is written to a closed response", async () => {
    const res = Object.assign(response(), { destroyed: false, writableEnded: false });
    const out = batched(res as never);
    out.write('x'.repeat(16_383));
    expect(res.written).toEqual([]);
    out.write('y');
    expect(res.written.map((w) => w.length)).toEqual([16_384]);
    out.write('z');
    res.destroyed = true;
    await new Promise((r) => setImmediate(r));
    expect(res.written).toHaveLength(1);
  });
});
