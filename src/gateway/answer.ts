import type { ChatMessage } from '../behaviour/types.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { StreamChunk } from '../dispatcher/request.js';
import { describe } from '../errors/runtime.js';
import { toGatewayError, type Call, type GatewayError } from './gateway.js';

/** How a protocol writes an answer: its headers, each chunk, the end, and a break after text was sent. @internal */
export interface Writer {
  /** Called once, when the first chunk is there (before it, an error still gets its own status). */
  start(): void;
  chunk(c: StreamChunk, model: string): void;
  /** The answer is complete: `last` is its final chunk. */
  end(last: StreamChunk, model: string): void;
  /** The stream broke after text was sent: say so without presenting the answer as complete. */
  broke(message: string): void;
}

/**
 * Streams the pool's answer through `writer`: headers only once the first chunk came (so a
 * request no worker could take still gets a 503 or a 429), every chunk as it comes, and a break
 * mid-answer as the protocol's error, never as a complete answer. Errors before the first chunk
 * are thrown for the caller to answer. @internal
 */
export async function stream(call: Call, messages: ChatMessage[], writer: Writer): Promise<void> {
  const it = call.dispatcher.dispatchStream(messages, { signal: call.signal });
  let started = false;
  try {
    for await (const c of it) {
      const model = await modelOf(call.dispatcher, c.worker);
      if (!started) {
        started = true;
        writer.start();
      }
      if (c.done) writer.end(c, model);
      else writer.chunk(c, model);
    }
  } catch (e) {
    if (!started) throw e;
    if (!call.signal.aborted) writer.broke(messageOf(toGatewayError(e), e));
  }
}

/** The whole answer at once (a non-streaming request). @internal */
export async function collect(call: Call, messages: ChatMessage[]): Promise<{ text: string; last: StreamChunk; model: string }> {
  let text = '';
  let last: StreamChunk | undefined;
  for await (const c of call.dispatcher.dispatchStream(messages, { signal: call.signal })) {
    text += c.text;
    last = c;
  }
  return { text, last: last!, model: await modelOf(call.dispatcher, last!.worker) };
}

function messageOf(g: GatewayError, e: unknown): string {
  return g.status === 500 ? `the answer broke off: ${describe(e)}` : g.message;
}

/**
 * Writes to `res` coalesced per event-loop turn: chunks that arrive from one upstream read (they
 * come a promise turn apart) leave in one socket write instead of one each. @internal
 */
export function batched(res: import('node:http').ServerResponse): (data: string) => void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    res.uncork();
  };
  return (data) => {
    if (!corked) {
      corked = true;
      res.cork();
      setImmediate(flush);
    }
    res.write(data);
  };
}

const models = new WeakMap<Dispatcher, { at: number; byWorker: Map<string, string> }>();

/** The model a worker answers with (its default), from `status()`, cached for a second. @internal */
export async function modelOf(dispatcher: Dispatcher, worker: string): Promise<string> {
  let m = models.get(dispatcher);
  if (m === undefined || Date.now() - m.at > 1000 || !m.byWorker.has(worker)) {
    const status = await dispatcher.status();
    m = { at: Date.now(), byWorker: new Map(status.workers.map((w) => [w.name, w.model ?? w.name])) };
    models.set(dispatcher, m);
  }
  return m.byWorker.get(worker) ?? worker;
}
